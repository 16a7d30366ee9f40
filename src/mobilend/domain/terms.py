"""The terms of one loan: what the schedule generator turns into installments.

``LoanTerms`` is one concrete loan (amount, term, rate, dates, fees). Products
(``mobilend.domain.products``) build terms within their ranges; the loan domain
builds them directly for a re-amortisation after a prepayment. The repayment
methods, fee rules and the field checks both share live here too.
"""

from __future__ import annotations

import contextlib
import enum
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from mobilend.domain.daycount import DayCount, Frequency, due_dates
from mobilend.domain.errors import Problem, ValidationFailed
from mobilend.domain.money import Money, RoundingMode


class RepaymentMethod(enum.StrEnum):
    EQUAL_INSTALLMENT = "equal-installment"  # 等额本息
    EQUAL_PRINCIPAL = "equal-principal"  # 等额本金
    FLAT = "flat"  # 等本等息
    INTEREST_FIRST = "interest-first"  # 先息后本
    BULLET = "bullet"  # 到期一次还本付息


class FeeKind(enum.StrEnum):
    UPFRONT = "upfront"  # paid by the borrower at disbursement, never deducted from it
    PER_INSTALLMENT = "per-installment"


#: A rate above this is almost certainly a percent typed where a fraction belongs.
MAX_ANNUAL_RATE = Decimal(1)
#: Far above any loan this platform makes; keeps every figure well inside the
#: schedule's working precision, so a typo gets a message instead of a traceback.
MAX_PRINCIPAL = Decimal(1_000_000_000)
#: At most this many installments (50 years of monthly ones).
MAX_PERIODS = 600
#: The last due date may fall at most this many years after disbursement.
MAX_TERM_YEARS = 50


def problem(field_name: str, zh: str, en: str) -> Problem:
    return Problem(field_name, f"{zh} / {en}")


@dataclass(frozen=True, slots=True)
class FeeRule:
    """A fee: a fixed ``amount`` or a ``rate`` (fraction of the loan principal).

    Exactly one of the two is set. ``payee`` says who collects it (the lender, a
    guarantor, an insurer...); the APR counts it whoever collects it.
    """

    kind: FeeKind
    amount: Money | None = None
    rate: Decimal | None = None
    payee: str = "lender"

    def charge(self, principal: Money, rounding: RoundingMode = RoundingMode.HALF_UP) -> Money:
        """The fee on a loan of ``principal``, exact to the fen."""
        if self.amount is not None:
            return self.amount.round(rounding)
        rate = self.rate if self.rate is not None else Decimal(0)
        return (principal * rate).round(rounding)


def fee_problems(fee: object, where: str, currency: str) -> list[Problem]:
    """Every problem with one fee rule; ``where`` names it, e.g. ``fees[0]``."""
    if not isinstance(fee, FeeRule):
        return [problem(where, "必须是费用规则", "must be a FeeRule")]
    problems: list[Problem] = []
    try:
        FeeKind(fee.kind)
    except ValueError:
        kinds = ", ".join(k.value for k in FeeKind)
        problems.append(
            problem(f"{where}.kind", f"费用类型须为 {kinds}", f"must be one of {kinds}")
        )
    if (fee.amount is None) == (fee.rate is None):
        problems.append(
            problem(where, "金额与费率须且只须填一个", "give exactly one of amount or rate")
        )
    if fee.amount is not None:
        if not isinstance(fee.amount, Money):
            problems.append(problem(f"{where}.amount", "必须是金额", "must be Money"))
        elif fee.amount.currency != currency:
            problems.append(
                problem(
                    f"{where}.amount",
                    f"币种须为 {currency}",
                    f"currency must be {currency}, not {fee.amount.currency}",
                )
            )
        elif fee.amount.is_negative():
            problems.append(problem(f"{where}.amount", "不能为负数", "must not be negative"))
        elif not fee.amount.is_whole():
            problems.append(problem(f"{where}.amount", "须精确到分", "must be exact to the fen"))
        elif fee.amount.amount > MAX_PRINCIPAL:
            problems.append(
                problem(
                    f"{where}.amount",
                    f"不能超过 {MAX_PRINCIPAL:,}",
                    f"must not exceed {MAX_PRINCIPAL:,}",
                )
            )
    if fee.rate is not None:
        if not isinstance(fee.rate, Decimal) or not fee.rate.is_finite():
            problems.append(
                problem(f"{where}.rate", "必须是小数费率", "must be a Decimal fraction")
            )
        elif not 0 <= fee.rate <= 1:
            problems.append(
                problem(
                    f"{where}.rate",
                    "须为 0 到 1 之间的比例（如 0.01 即 1%）",
                    "must be a fraction between 0 and 1 (0.01 means 1 %)",
                )
            )
    if not isinstance(fee.payee, str) or not fee.payee.strip():
        problems.append(problem(f"{where}.payee", "收款方不能为空", "payee must not be empty"))
    return problems


def upfront_problems(fees: tuple[FeeRule, ...], principal: Money) -> list[Problem]:
    """Upfront fees must leave the borrower something: they are paid, not deducted."""
    upfront = sum(
        (f.charge(principal).amount for f in fees if f.kind is FeeKind.UPFRONT), Decimal(0)
    )
    if upfront >= principal.amount:
        return [
            problem(
                "fees",
                f"放款时费用合计须低于本金 {principal.format()}",
                f"upfront fees must total less than the principal {principal.format()}",
            )
        ]
    return []


def rate_problems(field_name: str, value: object) -> list[Problem]:
    if not isinstance(value, Decimal) or not value.is_finite():
        return [problem(field_name, "必须是小数比例", "must be a Decimal fraction")]
    if value < 0:
        return [problem(field_name, "不能为负数", "must not be negative")]
    if value > MAX_ANNUAL_RATE:
        return [
            problem(
                field_name,
                "须为 0 到 1 之间的年化比例（0.18 即 18%）",
                "must be an annual fraction between 0 and 1 (0.18 means 18 %)",
            )
        ]
    return []


def principal_problems(field_name: str, amount: Money) -> list[Problem]:
    """A loan amount: positive, exact to the fen, at most ``MAX_PRINCIPAL``."""
    if not amount.is_positive():
        return [problem(field_name, "须大于零", "must be greater than zero")]
    if not amount.is_whole():
        return [problem(field_name, "须精确到分", "must be exact to the fen")]
    if amount.amount > MAX_PRINCIPAL:
        return [
            problem(field_name, f"不能超过 {MAX_PRINCIPAL:,}", f"must not exceed {MAX_PRINCIPAL:,}")
        ]
    return []


def periods_problems(field_name: str, periods: object) -> list[Problem]:
    """A number of installments: a whole number from 1 to ``MAX_PERIODS``."""
    if not isinstance(periods, int) or isinstance(periods, bool) or not 1 <= periods <= MAX_PERIODS:
        return [
            problem(
                field_name,
                f"须为 1 到 {MAX_PERIODS} 之间的整数",
                f"must be a whole number from 1 to {MAX_PERIODS}",
            )
        ]
    return []


def is_whole_number(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


ENUM_FIELDS: dict[str, type[enum.StrEnum]] = {
    "method": RepaymentMethod,
    "day_count": DayCount,
    "rounding": RoundingMode,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class LoanTerms:
    """Everything the schedule generator needs for one loan.

    ``start_date`` is the disbursement date (interest runs from it). Due dates
    start at ``first_due_date`` (default: one frequency step after the start)
    and keep ``anchor_day`` (default: the first due date's day when it is
    given, else the start date's day). For a re-amortisation after a
    prepayment, pass the outstanding principal, the remaining periods, the last
    settled date as ``start_date``, the next due date, the loan's original
    anchor day, ``first_number`` for the installment numbering and
    ``fee_base`` (the contract principal that fee rates apply to).
    """

    principal: Money
    periods: int
    annual_rate: Decimal
    method: RepaymentMethod
    start_date: date
    frequency: Frequency = field(default_factory=Frequency.monthly)
    day_count: DayCount = DayCount.ACT_360
    rounding: RoundingMode = RoundingMode.HALF_UP
    installment_multiple: Money | None = None
    principal_grace_periods: int = 0
    fees: tuple[FeeRule, ...] = ()
    first_due_date: date | None = None
    anchor_day: int | None = None
    first_number: int = 1
    fee_base: Money | None = None

    def __post_init__(self) -> None:
        for name, enum_type in ENUM_FIELDS.items():
            with contextlib.suppress(ValueError):  # reported by problems()
                object.__setattr__(self, name, enum_type(getattr(self, name)))
        object.__setattr__(self, "fees", tuple(self.fees))
        problems = self.problems()
        if problems:
            raise ValidationFailed(problems)

    def problems(self) -> list[Problem]:
        problems: list[Problem] = []
        if not isinstance(self.principal, Money):
            return [problem("principal", "必须是金额", "must be Money")]
        currency = self.principal.currency
        problems += principal_problems("principal", self.principal)
        problems += periods_problems("periods", self.periods)
        problems += rate_problems("annual_rate", self.annual_rate)
        for name, enum_type in ENUM_FIELDS.items():
            if not isinstance(getattr(self, name), enum_type):
                choices = ", ".join(member.value for member in enum_type)
                problems.append(problem(name, f"须为 {choices} 之一", f"must be one of {choices}"))
        if not isinstance(self.frequency, Frequency):
            problems.append(problem("frequency", "必须是还款频率", "must be a Frequency"))
        multiple = self.installment_multiple
        if multiple is not None and (
            not isinstance(multiple, Money)
            or multiple.currency != currency
            or not multiple.is_positive()
            or not multiple.is_whole()
            or multiple.amount > MAX_PRINCIPAL
        ):
            problems.append(
                problem(
                    "installment_multiple",
                    f"须为大于零的 {currency} 金额",
                    f"must be a positive {currency} amount exact to the fen",
                )
            )
        grace = self.principal_grace_periods
        if not is_whole_number(grace) or grace < 0:
            problems.append(
                problem(
                    "principal_grace_periods", "须为非负整数", "must be a whole number, 0 or more"
                )
            )
        elif is_whole_number(self.periods) and self.periods >= 1 and grace >= self.periods:
            problems.append(
                problem(
                    "principal_grace_periods",
                    "宽限期数须少于总期数",
                    "must be fewer than the number of periods",
                )
            )
        elif grace and self.method is RepaymentMethod.BULLET:
            problems.append(
                problem(
                    "principal_grace_periods",
                    "到期一次还本付息不适用本金宽限期",
                    "does not apply to bullet loans",
                )
            )
        fee_rule_problems = [
            p for i, fee in enumerate(self.fees) for p in fee_problems(fee, f"fees[{i}]", currency)
        ]
        problems += fee_rule_problems
        if not fee_rule_problems and self.principal.is_positive():
            problems += upfront_problems(self.fees, self.fee_base or self.principal)
        if self.first_due_date is not None and self.first_due_date <= self.start_date:
            problems.append(
                problem("first_due_date", "须晚于放款日", "must be after the disbursement date")
            )
        if not problems:
            problems += self._calendar_problems()
        if self.anchor_day is not None and (
            not is_whole_number(self.anchor_day) or not 1 <= self.anchor_day <= 31
        ):
            problems.append(problem("anchor_day", "须在 1 到 31 之间", "must be between 1 and 31"))
        if not is_whole_number(self.first_number) or self.first_number < 1:
            problems.append(
                problem("first_number", "须为正整数", "must be a whole number of at least 1")
            )
        if self.fee_base is not None and (
            not isinstance(self.fee_base, Money) or self.fee_base.currency != currency
        ):
            problems.append(
                problem("fee_base", f"须为 {currency} 金额", f"must be a {currency} amount")
            )
        return problems

    def size_problems(self) -> list[Problem]:
        """Every amortising installment must repay at least one multiple (or one fen),
        or rounding would leave installments of zero. Checked when a schedule is made,
        not when stored terms are read back."""
        fen = Money(self.principal.quantum, self.currency)
        if self.method in (RepaymentMethod.BULLET, RepaymentMethod.INTEREST_FIRST):
            amortising, step = 1, fen  # one repayment of principal; no multiple applies
        else:
            amortising = self.periods - self.principal_grace_periods
            step = self.installment_multiple or fen
        if step.amount * amortising <= self.principal.amount:
            return []
        if self.installment_multiple is None:
            return [
                problem(
                    "principal",
                    f"须至少为每期一分钱（{amortising} 期）",
                    f"must repay at least one fen in each of the {amortising} installments",
                )
            ]
        most = Money(self.principal.amount / amortising, self.currency).round()
        return [
            problem(
                "installment_multiple",
                f"不能超过每期应还本金 {most.format()}",
                f"must not exceed the principal per installment, {most.format()}",
            )
        ]

    def _calendar_problems(self) -> list[Problem]:
        """The due dates must exist and the last fall within ``MAX_TERM_YEARS``."""
        longest = MAX_TERM_YEARS * 366
        if self.frequency.nominal_days > longest:
            return [
                problem(
                    "frequency",
                    f"每期长度不能超过 {MAX_TERM_YEARS} 年",
                    f"a period must not be longer than {MAX_TERM_YEARS} years",
                )
            ]
        try:
            last_due = self.frequency.add(self.first_due, self.periods - 1, self.anchor)
        except (ValueError, OverflowError):
            where = "start_date" if self.first_due_date is None else "first_due_date"
            return [
                problem(
                    where,
                    f"到期日超出日历范围（最晚 {date.max}）",
                    f"the due dates run past the end of the calendar ({date.max})",
                )
            ]
        if (last_due - self.start_date).days > longest:
            return [
                problem(
                    "periods",
                    f"还款期限须在 {MAX_TERM_YEARS} 年以内",
                    f"the last due date must fall within {MAX_TERM_YEARS} years of the start",
                )
            ]
        return []

    @property
    def currency(self) -> str:
        return self.principal.currency

    @property
    def anchor(self) -> int:
        """Day of the month that monthly due dates keep."""
        if self.anchor_day is not None:
            return self.anchor_day
        return (self.first_due_date or self.start_date).day

    @property
    def first_due(self) -> date:
        if self.first_due_date is not None:
            return self.first_due_date
        return self.frequency.add(self.start_date, 1, self.anchor)

    def due_dates(self) -> list[date]:
        """One due date per period, all anchored on the same day of the month."""
        return due_dates(self.first_due, self.frequency, self.periods, self.anchor)

    @property
    def first_period_is_regular(self) -> bool:
        """True when the start sits on the due-date grid, one step before the first due date."""
        try:
            return self.frequency.add(self.first_due, -1, self.anchor) == self.start_date
        except (ValueError, OverflowError):  # a step back would leave the calendar
            return False

    @property
    def periods_per_year(self) -> Decimal:
        return self.frequency.periods_per_year

    def fee_charges(self, kind: FeeKind) -> list[tuple[str, Money]]:
        """(payee, amount) for every fee of ``kind``, exact to the fen."""
        base = self.fee_base or self.principal
        return [(f.payee, f.charge(base, self.rounding)) for f in self.fees if f.kind is kind]
