"""APR: the internal rate of return of the borrower's real cash flows.

PBOC Announcement [2021] No. 3 asks lenders to state the annualised rate as the
IRR of the actual cash flows: the amount the borrower really receives, and every
payment they make (principal, interest, fees, whoever collects them), with the
periodic IRR multiplied by the number of periods in a year. The effective
annual rate (compounded) is reported alongside.

Time is counted in repayment periods: installment k falls at period k after
disbursement. A bullet loan has one repayment, so its period is the whole term
(periods per year = frequency periods per year / number of periods), which makes
its APR the simple rate. An irregular first period still counts as one period
in that figure, as the rule's period-based formula does; ``xirr`` gives a second
figure that counts actual days (ACT/365) for anyone who wants the calendar view.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, localcontext

from mobilend.domain.errors import DomainError
from mobilend.domain.schedules import Schedule
from mobilend.domain.terms import RepaymentMethod

PRECISION = 40
RATE_TOLERANCE = Decimal("1e-24")
MAX_ITERATIONS = 400
#: Lowest rate tried: just above -100 % per period, where discounting blows up.
LOWEST_RATE = Decimal("-0.999999")


class AprUndefined(DomainError):
    """The cash flows have no IRR (e.g. an upfront fee as large as the loan)."""

    code = "apr_undefined"


@dataclass(frozen=True, slots=True)
class AprResult:
    apr: Decimal  # periodic IRR x periods per year (PBOC [2021] No. 3)
    effective_annual_rate: Decimal  # (1 + periodic) ** periods_per_year - 1
    periodic_rate: Decimal
    periods_per_year: Decimal
    xirr: Decimal | None = None  # effective annual IRR by actual days / 365, a second figure


def _present_value(
    flows: Sequence[tuple[Decimal, Decimal]], rate: Decimal
) -> tuple[Decimal, Decimal]:
    """NPV at ``rate`` and its derivative with respect to the rate."""
    base = 1 + rate
    step = 1 / base
    log_base: Decimal | None = None
    value = Decimal(0)
    slope = Decimal(0)
    # whole-period times usually come in order: carry the last discount factor along
    last_time, last_factor = 0, Decimal(1)
    for time, amount in flows:
        if not time:
            discounted = amount
        elif time == time.to_integral_value():
            whole = int(time)
            if whole >= last_time:
                last_factor *= step ** (whole - last_time)
            else:
                last_factor = step**whole
            last_time = whole
            discounted = amount * last_factor
        else:
            # exp/ln once per rate is ~10x faster than a fractional Decimal power
            if log_base is None:
                log_base = base.ln()
            discounted = amount * (-time * log_base).exp()
        value += discounted
        slope -= time * discounted / base
    return value, slope


def irr_at_times(flows: Sequence[tuple[Decimal, Decimal]]) -> Decimal:
    """The rate r with ``sum(amount / (1+r)**time) == 0`` (time in periods).

    Safeguarded Newton: Newton steps inside a bracket that always holds a sign
    change, falling back to bisection when a step would leave it; converges for
    any cash flows whose NPV changes sign once between -100 % and the bracket top.
    """
    if not flows:
        raise AprUndefined("no cash flows")
    if all(a >= 0 for _, a in flows) or all(a <= 0 for _, a in flows):
        raise AprUndefined("现金流须有正有负 / cash flows must include both money in and money out")
    with localcontext() as ctx:
        ctx.prec = PRECISION
        low, high = LOWEST_RATE, Decimal(1)
        value_low = _present_value(flows, low)[0]
        value_high = _present_value(flows, high)[0]
        while (value_low > 0) == (value_high > 0):
            if high > 10**6:
                raise AprUndefined("找不到内部收益率 / no internal rate of return found")
            high *= 4
            value_high = _present_value(flows, high)[0]
        rising = value_high > value_low
        rate = Decimal("0.01") if low < Decimal("0.01") < high else (low + high) / 2
        for _ in range(MAX_ITERATIONS):
            value, slope = _present_value(flows, rate)
            if value == 0:
                break
            if (value > 0) == rising:
                high = rate
            else:
                low = rate
            step_ok = slope != 0
            candidate = rate - value / slope if step_ok else rate
            if not step_ok or not low < candidate < high:
                candidate = (low + high) / 2
            if abs(candidate - rate) < RATE_TOLERANCE:
                rate = candidate
                break
            rate = candidate
        else:  # pragma: no cover - the bracket halves at worst, so this is unreachable
            raise AprUndefined("IRR did not converge")
        return +rate


def irr(amounts: Sequence[Decimal]) -> Decimal:
    """Periodic IRR of equally spaced cash flows (``amounts[0]`` at time 0)."""
    return irr_at_times([(Decimal(k), a) for k, a in enumerate(amounts)])


def xirr(flows: Sequence[tuple[date, Decimal]]) -> Decimal:
    """Effective annual IRR of dated cash flows, time in actual days / 365."""
    if not flows:
        raise AprUndefined("no cash flows")
    origin = min(d for d, _ in flows)
    return irr_at_times([(Decimal((d - origin).days) / 365, a) for d, a in flows])


def borrower_cash_flows(
    schedule: Schedule, disbursed_on: date | None = None
) -> list[tuple[date, Decimal]]:
    """The borrower's real cash flows: + received at disbursement, - every payment.

    At disbursement the borrower receives the principal and pays the upfront
    fees (to whichever payee); afterwards each installment, fees included.
    """
    start = schedule.start_date if disbursed_on is None else disbursed_on
    net_received = schedule.disbursed.amount - schedule.upfront_fee_total.amount
    flows = [(start, net_received)]
    flows += [(i.due_date, -i.total.amount) for i in schedule.installments]
    return flows


def annual_percentage_rate(
    schedule: Schedule, disbursed_on: date | None = None, *, with_xirr: bool = True
) -> AprResult:
    """APR of a schedule as PBOC [2021] No. 3 requires, plus the effective rate.

    ``with_xirr=False`` skips the day-based second figure (the slow part) when
    only the APR is needed, e.g. when scanning many terms for a cap check.
    """
    dated = borrower_cash_flows(schedule, disbursed_on)
    periods_per_year = schedule.frequency.periods_per_year
    if schedule.method is RepaymentMethod.BULLET:
        periods_per_year = periods_per_year / schedule.terms.periods
    timed = [(Decimal(k), amount) for k, (_, amount) in enumerate(dated)]
    periodic = irr_at_times(timed)
    with localcontext() as ctx:
        ctx.prec = PRECISION
        effective = (1 + periodic) ** periods_per_year - 1
        apr = periodic * periods_per_year
    return AprResult(
        apr=+apr,
        effective_annual_rate=+effective,
        periodic_rate=periodic,
        periods_per_year=periods_per_year,
        xirr=xirr(dated) if with_xirr else None,
    )
