"""Loan products: what a product designer defines once.

A product holds amount and term ranges, price, repayment method, frequency, day
count, rounding, fees, penalty and allocation order; ``terms_for`` turns it into
the ``LoanTerms`` of one loan. Invalid definitions are refused with every
problem listed at once, each naming its field.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from mobilend.domain.daycount import DayCount, Frequency
from mobilend.domain.errors import Problem, ValidationFailed
from mobilend.domain.money import MINOR_UNIT_DIGITS, Money, MoneyError, RoundingMode, to_decimal
from mobilend.domain.terms import (
    ENUM_FIELDS,
    MAX_PRINCIPAL,
    FeeKind,
    FeeRule,
    LoanTerms,
    RepaymentMethod,
    fee_problems,
    is_whole_number,
    periods_problems,
    principal_problems,
    problem,
    rate_problems,
    upfront_problems,
)

__all__ = [
    "ALLOCATION_COMPONENTS", "DEFAULT_LICENCE_TYPE", "FeeKind", "FeeRule", "LoanProduct",
    "LoanTerms", "RepaymentMethod", "validate_product",
]  # fmt: skip

ALLOCATION_COMPONENTS: tuple[str, ...] = ("penalty", "fees", "interest", "principal")
DEFAULT_LICENCE_TYPE = "micro-lender"


_REQUIRED_PRODUCT_FIELDS = (
    "code", "name", "min_amount", "max_amount", "min_periods", "max_periods",
    "annual_rate", "method",
)  # fmt: skip


def _coerce_product_fields(fields: Mapping[str, object]) -> tuple[dict[str, object], list[Problem]]:
    """Turn loose input (enum values as strings, amounts as str) into typed values.

    Fields that cannot be turned are dropped from the result and reported.
    """
    known = {f.name for f in dataclasses.fields(LoanProduct)}
    problems = [problem(name, "未知字段", "unknown field") for name in fields if name not in known]
    problems += [
        problem(name, "必填", "is required")
        for name in _REQUIRED_PRODUCT_FIELDS
        if name not in fields
    ]
    values = {name: value for name, value in fields.items() if name in known}
    currency = values.get("currency", "CNY")
    if not isinstance(currency, str) or currency not in MINOR_UNIT_DIGITS:
        problems.append(problem("currency", "不支持的币种", f"unsupported currency {currency!r}"))
        values.pop("currency", None)
        currency = "CNY"
    for name, enum_type in ENUM_FIELDS.items():
        if name in values and not isinstance(values[name], enum_type):
            try:
                values[name] = enum_type(str(values[name]))
            except ValueError:
                choices = ", ".join(member.value for member in enum_type)
                problems.append(problem(name, f"须为 {choices} 之一", f"must be one of {choices}"))
                del values[name]
    for name in ("min_amount", "max_amount", "installment_multiple"):
        value = values.get(name)
        if value is None or isinstance(value, Money):
            continue
        try:
            values[name] = Money(value, currency)  # type: ignore[arg-type]
        except MoneyError:
            problems.append(problem(name, "必须是金额", "must be an amount such as '1000.00'"))
            del values[name]
    for name in ("annual_rate", "penalty_rate"):
        value = values.get(name)
        if value is None or isinstance(value, Decimal):
            continue
        try:
            values[name] = to_decimal(value)  # type: ignore[arg-type]
        except MoneyError:
            problems.append(problem(name, "必须是小数比例", "must be a decimal fraction"))
            del values[name]
    for name in ("fees", "allocation_order"):
        value = values.get(name)
        if isinstance(value, list):
            values[name] = tuple(value)
    return values, problems


def _multiple_fit_problems(
    values: Mapping[str, Any],
    multiple: Money,
    amounts: Mapping[str, Money],
    periods: Mapping[str, int],
) -> list[Problem]:
    """The smallest loan over the longest term must still repay a multiple each period."""
    if values.get("method") in (RepaymentMethod.BULLET, RepaymentMethod.INTEREST_FIRST):
        return []
    if "min_amount" not in amounts or "max_periods" not in periods:
        return []
    grace = values.get("principal_grace_periods", 0)
    amortising = periods["max_periods"] - (grace if is_whole_number(grace) else 0)
    if amortising < 1 or multiple.amount * amortising <= amounts["min_amount"].amount:
        return []
    return [
        problem(
            "installment_multiple",
            f"最低金额 {amounts['min_amount'].format()} 按 {amortising} 期还本，每期不足一个取整倍数",
            f"the minimum amount {amounts['min_amount'].format()} over {amortising} "
            "installments repays less than one multiple a period",
        )
    ]


def _product_rule_problems(values: Mapping[str, Any]) -> list[Problem]:
    """Business rules over typed product fields; absent fields are skipped."""
    problems: list[Problem] = []
    for name in ("code", "name", "licence_type"):
        if name in values and (not isinstance(values[name], str) or not values[name].strip()):
            problems.append(problem(name, "不能为空", "must not be empty"))
    currency = values.get("currency", "CNY")
    amounts: dict[str, Money] = {}
    for name in ("min_amount", "max_amount"):
        if name not in values:
            continue
        amount = values[name]
        if not isinstance(amount, Money):
            problems.append(problem(name, "必须是金额", "must be Money"))
        elif amount.currency != currency:
            problems.append(problem(name, f"币种须为 {currency}", f"currency must be {currency}"))
        elif amount_problems := principal_problems(name, amount):
            problems += amount_problems
        else:
            amounts[name] = amount
    if len(amounts) == 2 and amounts["min_amount"] > amounts["max_amount"]:
        problems.append(problem("max_amount", "不能小于最低金额", "must not be below min_amount"))
    periods: dict[str, int] = {}
    for name in ("min_periods", "max_periods"):
        if name not in values:
            continue
        if count_problems := periods_problems(name, values[name]):
            problems += count_problems
        else:
            periods[name] = values[name]
    if len(periods) == 2 and periods["min_periods"] > periods["max_periods"]:
        problems.append(problem("max_periods", "不能小于最短期数", "must not be below min_periods"))
    if "annual_rate" in values:
        problems += rate_problems("annual_rate", values["annual_rate"])
    if "penalty_rate" in values:
        problems += rate_problems("penalty_rate", values["penalty_rate"])
    if "frequency" in values and not isinstance(values["frequency"], Frequency):
        problems.append(problem("frequency", "必须是还款频率", "must be a Frequency"))
    multiple = values.get("installment_multiple")
    if multiple is not None:
        if not isinstance(multiple, Money) or multiple.currency != currency:
            problems.append(
                problem(
                    "installment_multiple", f"须为 {currency} 金额", f"must be a {currency} amount"
                )
            )
        elif (
            not multiple.is_positive() or not multiple.is_whole() or multiple.amount > MAX_PRINCIPAL
        ):
            problems.append(
                problem(
                    "installment_multiple",
                    "须为大于零且精确到分的金额",
                    "must be positive and exact to the fen",
                )
            )
        else:
            problems += _multiple_fit_problems(values, multiple, amounts, periods)
    grace = values.get("principal_grace_periods", 0)
    if not is_whole_number(grace) or grace < 0:
        problems.append(
            problem("principal_grace_periods", "须为非负整数", "must be a whole number, 0 or more")
        )
    else:
        if "min_periods" in periods and grace >= periods["min_periods"]:
            problems.append(
                problem(
                    "principal_grace_periods",
                    "宽限期数须少于最短期数",
                    "must be fewer than min_periods so principal is repaid",
                )
            )
        if grace and values.get("method") is RepaymentMethod.BULLET:
            problems.append(
                problem(
                    "principal_grace_periods",
                    "到期一次还本付息不适用本金宽限期",
                    "does not apply to bullet loans",
                )
            )
    penalty_grace = values.get("penalty_grace_days", 0)
    if not is_whole_number(penalty_grace) or penalty_grace < 0:
        problems.append(
            problem(
                "penalty_grace_days", "须为非负整数", "must be a whole number of days, 0 or more"
            )
        )
    fees = values.get("fees", ())
    if not isinstance(fees, tuple):
        problems.append(problem("fees", "必须是费用规则列表", "must be a list of FeeRule"))
    else:
        fee_rule_problems = [
            p for i, fee in enumerate(fees) for p in fee_problems(fee, f"fees[{i}]", currency)
        ]
        problems += fee_rule_problems
        if not fee_rule_problems and "min_amount" in amounts:
            problems += upfront_problems(fees, amounts["min_amount"])
    order = values.get("allocation_order", ALLOCATION_COMPONENTS)
    if not isinstance(order, tuple) or sorted(order) != sorted(ALLOCATION_COMPONENTS):
        names = ", ".join(ALLOCATION_COMPONENTS)
        problems.append(
            problem(
                "allocation_order",
                f"须恰好包含 {names} 各一次",
                f"must list each of {names} exactly once",
            )
        )
    return problems


def validate_product(**fields: object) -> list[Problem]:
    """Every problem with a product definition (empty when it is valid)."""
    values, problems = _coerce_product_fields(fields)
    return problems + _product_rule_problems(values)


@dataclass(frozen=True, slots=True, kw_only=True)
class LoanProduct:
    code: str
    name: str
    currency: str = "CNY"
    min_amount: Money
    max_amount: Money
    min_periods: int
    max_periods: int
    annual_rate: Decimal
    method: RepaymentMethod
    frequency: Frequency = field(default_factory=Frequency.monthly)
    day_count: DayCount = DayCount.ACT_360
    rounding: RoundingMode = RoundingMode.HALF_UP
    installment_multiple: Money | None = None
    principal_grace_periods: int = 0
    fees: tuple[FeeRule, ...] = ()
    penalty_rate: Decimal = Decimal(0)  # annual fraction on overdue principal
    penalty_grace_days: int = 0
    allocation_order: tuple[str, ...] = ALLOCATION_COMPONENTS
    licence_type: str = DEFAULT_LICENCE_TYPE

    def __post_init__(self) -> None:
        values, problems = _coerce_product_fields(
            {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        )
        problems += _product_rule_problems(values)
        if problems:
            raise ValidationFailed(problems)
        for name in ("method", "day_count", "rounding", "fees", "allocation_order"):
            object.__setattr__(self, name, values[name])

    @classmethod
    def create(cls, **fields: Any) -> LoanProduct:
        """Build a product from loose input, or raise ``ValidationFailed`` with every problem."""
        values, problems = _coerce_product_fields(fields)
        problems += _product_rule_problems(values)
        if problems:
            raise ValidationFailed(problems)
        typed: dict[str, Any] = values  # every value checked above
        return cls(**typed)

    @property
    def upfront_fees(self) -> tuple[FeeRule, ...]:
        return tuple(f for f in self.fees if f.kind is FeeKind.UPFRONT)

    def terms_for(
        self,
        principal: Money,
        periods: int,
        start_date: date,
        first_due_date: date | None = None,
        annual_rate: Decimal | None = None,
    ) -> LoanTerms:
        """Terms for one loan on this product; amount and term must be in range.

        ``annual_rate`` overrides the product rate (risk-based pricing); the
        cost cap is checked separately on the resulting APR.
        """
        problems: list[Problem] = []
        if not isinstance(principal, Money) or principal.currency != self.currency:
            problems.append(
                problem(
                    "principal", f"须为 {self.currency} 金额", f"must be a {self.currency} amount"
                )
            )
        elif not self.min_amount <= principal <= self.max_amount:
            problems.append(
                problem(
                    "principal",
                    f"须在 {self.min_amount.format()} 至 {self.max_amount.format()} 之间",
                    f"must be between {self.min_amount.format()} and {self.max_amount.format()}",
                )
            )
        if not is_whole_number(periods) or not self.min_periods <= periods <= self.max_periods:
            problems.append(
                problem(
                    "periods",
                    f"须在 {self.min_periods} 至 {self.max_periods} 期之间",
                    f"must be between {self.min_periods} and {self.max_periods}",
                )
            )
        rate = self.annual_rate if annual_rate is None else annual_rate
        problems += rate_problems("annual_rate", rate)
        if problems:
            raise ValidationFailed(problems)
        return LoanTerms(
            principal=principal,
            periods=periods,
            annual_rate=rate,
            method=self.method,
            frequency=self.frequency,
            day_count=self.day_count,
            rounding=self.rounding,
            installment_multiple=self.installment_multiple,
            principal_grace_periods=self.principal_grace_periods,
            fees=self.fees,
            start_date=start_date,
            first_due_date=first_due_date,
        )
