"""APR: the internal rate of return of the borrower's real cash flows.

PBOC Announcement [2021] No. 3 asks lenders to state the annualised rate as the
IRR of the actual cash flows: the amount the borrower really receives, and every
payment they make (principal, interest, fees, whoever collects them), with the
periodic IRR multiplied by the number of periods in a year. The effective
annual rate (compounded) is reported alongside.

Time is counted in repayment periods of ``365 / periods per year`` days. A
regular schedule (the first due date one frequency step after disbursement) has
installment k at period k. An irregular first period counts its actual days
(2 days of a monthly loan is 2 × 12 / 365 of a period, not a whole one), so a
short stub cannot make a loan look cheaper than it is. A schedule with one
repayment has the whole term as its period: a regular one keeps the nominal
term (periods per year = frequency periods per year / number of periods), an
irregular one its actual days (periods per year = 365 / days), which makes its
APR the simple rate.

``actual_day_apr`` counts every period by its actual days the same way (a
31-day month is 31 × 12 / 365 periods), and the cost cap is checked on the
higher of the two figures (``apr_for_cap``): neither the disclosed rate nor the
calendar view may exceed it. ``xirr`` gives the effective annual IRR by actual
days / 365 for anyone who wants a compounded calendar figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, localcontext

from mobilend.domain.errors import DomainError
from mobilend.domain.schedules import Schedule

PRECISION = 40
RATE_TOLERANCE = Decimal("1e-24")
MAX_ITERATIONS = 400
#: Lowest rate tried: just above -100 % per period, where discounting blows up.
LOWEST_RATE = Decimal("-0.999999")
#: Days in the year the APR is annualised over (actual days count against it).
DAYS_A_YEAR = Decimal(365)


class AprUndefined(DomainError):
    """The cash flows have no IRR (e.g. an upfront fee as large as the loan)."""

    code = "apr_undefined"


@dataclass(frozen=True, slots=True)
class AprResult:
    apr: Decimal  # periodic IRR x periods per year (PBOC [2021] No. 3), stubs by actual days
    effective_annual_rate: Decimal  # (1 + periodic) ** periods_per_year - 1
    periodic_rate: Decimal
    periods_per_year: Decimal
    xirr: Decimal | None = None  # effective annual IRR by actual days / 365, a second figure
    #: The same annualisation with every period counted by its actual days.
    actual_day_apr: Decimal | None = None

    @property
    def apr_for_cap(self) -> Decimal:
        """The figure a cost cap is checked on: the higher of the two APRs."""
        if self.actual_day_apr is None:
            return self.apr
        return max(self.apr, self.actual_day_apr)


def _present_value(
    flows: Sequence[tuple[Decimal, Decimal]], rate: Decimal
) -> tuple[Decimal, Decimal]:
    """NPV at ``rate`` and its derivative with respect to the rate."""
    base = 1 + rate
    step = 1 / base
    log_base: Decimal | None = None
    value = Decimal(0)
    slope = Decimal(0)
    # Times usually come in order, a whole number of periods apart: carry the last
    # discount factor along (one exp at most per rate for a fractional first period).
    last_time, last_factor = Decimal(0), Decimal(1)
    for time, amount in flows:
        if not time:
            discounted = amount
        else:
            gap = time - last_time
            if gap >= 0 and gap == gap.to_integral_value():
                last_factor *= step ** int(gap)
            elif time == time.to_integral_value():
                last_factor = step ** int(time)
            else:
                # exp/ln once per rate is ~10x faster than a fractional Decimal power
                if log_base is None:
                    log_base = base.ln()
                last_factor = (-time * log_base).exp()
            last_time = time
            discounted = amount * last_factor
        value += discounted
        slope -= time * discounted / base
    return value, slope


def _near_root(
    flows: Sequence[tuple[Decimal, Decimal]],
) -> tuple[Decimal, Decimal, Decimal] | None:
    """A narrow bracket around the root and a guess inside it, from Newton's method in
    binary floating point (microseconds): the exact solve then needs two Decimal steps
    instead of six or more from a distance. ``None`` when the float solve fails; the
    bracket is checked for a sign change before it is used."""
    times = [float(t) for t, _ in flows]
    amounts = [float(a) for _, a in flows]
    rate = 0.01
    try:
        for _ in range(60):
            base = 1.0 + rate
            if base <= 1e-6:
                return None
            value = slope = 0.0
            for time, amount in zip(times, amounts, strict=True):
                discounted = amount * base**-time
                value += discounted
                slope -= time * discounted / base
            if slope == 0.0:
                return None
            step = value / slope
            rate -= step
            if abs(step) <= 1e-14 * max(1.0, abs(rate)):
                break
        else:
            return None
    except (OverflowError, ZeroDivisionError):
        return None
    if rate != rate or rate <= float(LOWEST_RATE):  # NaN, or below -100 %
        return None
    near = Decimal(repr(rate))
    width = Decimal("1e-9") * max(Decimal(1), abs(near))
    return near - width, near + width, near


def irr_at_times(
    flows: Sequence[tuple[Decimal, Decimal]], guess: Decimal = Decimal("0.01")
) -> Decimal:
    """The rate r with ``sum(amount / (1+r)**time) == 0`` (time in periods), Newton
    starting from a floating-point solve's answer (``_near_root``), or from ``guess``
    within the wide bracket when that fails.

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
        near = _near_root(flows)
        if near is not None:
            low, high, guess = near
            value_low = _present_value(flows, low)[0]
            value_high = _present_value(flows, high)[0]
        if near is None or (value_low > 0) == (value_high > 0):
            low, high = LOWEST_RATE, Decimal(1)
            value_low = _present_value(flows, low)[0]
            value_high = _present_value(flows, high)[0]
        while (value_low > 0) == (value_high > 0):
            if high > 10**6:
                raise AprUndefined("找不到内部收益率 / no internal rate of return found")
            high *= 4
            value_high = _present_value(flows, high)[0]
        rising = value_high > value_low
        rate = guess if low < guess < high else (low + high) / 2
        last_step: Decimal | None = None
        slow_steps = 0
        for _ in range(MAX_ITERATIONS):
            value, slope = _present_value(flows, rate)
            if value == 0:
                break
            if (value > 0) == rising:
                high = rate
            else:
                low = rate
            candidate = rate - value / slope if slope != 0 else high
            step = abs(candidate - rate)
            # Far from the root an exponential NPV makes Newton crawl with steps of much
            # the same size; near it they shrink fast. Two slow steps in a row: bisect.
            slow_steps = slow_steps + 1 if last_step is not None and step > last_step / 2 else 0
            last_step = step
            if slow_steps >= 2 or not low < candidate < high:
                candidate = (low + high) / 2
                slow_steps, last_step = 0, None
            if abs(candidate - rate) < RATE_TOLERANCE:
                rate = candidate
                break
            rate = candidate
        else:  # pragma: no cover - the bracket halves at least every third step
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
    daily = irr_at_times([(Decimal((d - origin).days), a) for d, a in flows])
    with localcontext() as ctx:  # solved per whole day (fast), compounded to 365 days
        ctx.prec = PRECISION
        return +((1 + daily) ** DAYS_A_YEAR - 1)


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


def _days_from(start: date, day: date) -> Decimal:
    days = (day - start).days
    if days <= 0:
        raise AprUndefined(
            "还款日须晚于放款日 / every due date must fall after the disbursement date"
        )
    return Decimal(days)


def _in_periods(
    dated: Sequence[tuple[date, Decimal]], periods_per_year: Decimal, first_regular: bool
) -> list[tuple[Decimal, Decimal]]:
    """Each flow at its time in periods: installment k at period k after a regular
    first period; after an irregular one, at its actual days (in periods of
    ``365 / periods_per_year`` days) plus a whole period for each installment since."""
    start, first_due = dated[0][0], dated[1][0]
    first = (
        Decimal(1)
        if first_regular
        else _days_from(start, first_due) * periods_per_year / DAYS_A_YEAR
    )
    return [(Decimal(0), dated[0][1])] + [
        (first + k, amount) for k, (_, amount) in enumerate(dated[1:])
    ]


def annual_percentage_rate(
    schedule: Schedule, disbursed_on: date | None = None, *, with_xirr: bool = True
) -> AprResult:
    """APR of a schedule as PBOC [2021] No. 3 requires, plus the effective rate.

    ``with_xirr=False`` skips the compounded calendar figure when only the APRs
    are needed, e.g. when scanning many terms for a cap check.
    """
    dated = borrower_cash_flows(schedule, disbursed_on)
    start = dated[0][0]
    per_year = schedule.frequency.periods_per_year
    terms = schedule.terms
    first_regular = start == terms.start_date and terms.first_period_is_regular
    with localcontext() as ctx:
        ctx.prec = PRECISION
        if len(dated) == 2:  # one repayment: its period is the whole term
            actual_per_year = DAYS_A_YEAR / _days_from(start, dated[1][0])
            single = [(Decimal(0), dated[0][1]), (Decimal(1), dated[1][1])]
            periodic = irr_at_times(single)
            actual_periodic = periodic
            per_year = per_year / terms.periods if first_regular else actual_per_year
        else:
            actual_per_year = per_year
            periodic = irr_at_times(_in_periods(dated, per_year, first_regular))
            # Solved per day (whole-day times are fast to discount), then compounded
            # to a period of 365 / periods-per-year days: the same root.
            by_day = [(Decimal(0), dated[0][1])]
            by_day += [(_days_from(start, day), amount) for day, amount in dated[1:]]
            # the period figure, per day, is a close first guess
            daily = irr_at_times(by_day, (1 + periodic) ** (per_year / DAYS_A_YEAR) - 1)
            actual_periodic = (1 + daily) ** (DAYS_A_YEAR / per_year) - 1
        effective = (1 + periodic) ** per_year - 1
        apr = periodic * per_year
        actual = actual_periodic * actual_per_year
    return AprResult(
        apr=+apr,
        effective_annual_rate=+effective,
        periodic_rate=periodic,
        periods_per_year=per_year,
        xirr=xirr(dated) if with_xirr else None,
        actual_day_apr=+actual,
    )
