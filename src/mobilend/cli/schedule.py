"""``mobilend schedule``: the loan calculator a product designer uses.

Prints a repayment schedule and its APR, as a table by default or as JSON with
``--json``. Rates on the command line and in the output are percentages.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation, localcontext
from typing import NoReturn

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from mobilend.cli.output import print_table
from mobilend.domain.apr import AprResult, AprUndefined, annual_percentage_rate
from mobilend.domain.business_day import business_today
from mobilend.domain.compliance import ANY_LICENCE, CostCapPolicy
from mobilend.domain.daycount import DayCount, Frequency, PeriodUnit
from mobilend.domain.errors import ComplianceViolation, DomainError, Problem, ValidationFailed
from mobilend.domain.money import MINOR_UNIT_DIGITS, Money, MoneyError, RoundingMode
from mobilend.domain.products import FeeKind, FeeRule, LoanTerms, RepaymentMethod
from mobilend.domain.schedules import Schedule, generate_schedule

#: Domain field → the option a user typed, so messages point at the right flag.
_OPTION_FOR_FIELD = {
    "principal": "--principal",
    "periods": "--periods",
    "annual_rate": "--annual-rate",
    "installment_multiple": "--installment-multiple",
    "principal_grace_periods": "--principal-grace",
    "first_due_date": "--first-due",
    "start_date": "--start",
    "frequency": "--every",
    "fees": "--upfront-fee",  # the only fee rule spanning fees: upfront total vs principal
}
_PERCENT_PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class _FeeOption:
    option: str
    text: str
    rule: FeeRule


class _OptionError(Exception):
    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{o}: {m}" for o, m in problems))
        self.problems = problems


def _decimal(option: str, text: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise _OptionError([(option, f"不是数字 / not a number: {text!r}")]) from None
    if not value.is_finite():
        raise _OptionError([(option, f"不是有限数字 / not a finite number: {text!r}")])
    return value


def _date(option: str, text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise _OptionError(
            [(option, f"日期格式须为 YYYY-MM-DD / date must be YYYY-MM-DD: {text!r}")]
        ) from None


def _money(option: str, text: str, currency: str) -> Money:
    try:
        return Money(_decimal(option, text), currency)
    except MoneyError as exc:
        raise _OptionError([(option, str(exc))]) from None


def _fee(option: str, text: str, kind: FeeKind, currency: str) -> _FeeOption:
    """``AMOUNT`` or ``PERCENT%`` of the principal, optionally ``:payee``."""
    value, _, payee = text.partition(":")
    value = value.strip()
    payee = payee.strip() or "lender"
    if value.endswith("%"):
        rule = FeeRule(kind, rate=_decimal(option, value[:-1]) / 100, payee=payee)
    else:
        rule = FeeRule(kind, amount=_money(option, value, currency), payee=payee)
    return _FeeOption(option, text, rule)


def _percent(rate: Decimal) -> str:
    value = rate * 100
    with localcontext() as ctx:  # room for every digit: an absurd loan has a huge rate
        ctx.prec = max(ctx.prec, value.adjusted() + 8)
        return str(value.quantize(_PERCENT_PLACES))


def schedule_json(schedule: Schedule, apr: AprResult) -> dict[str, object]:
    """The documented JSON shape; amounts and rates (percent) as decimal strings."""
    return {
        "installments": [
            {
                "n": i.n,
                "due_date": i.due_date.isoformat(),
                "principal": i.principal.format(),
                "interest": i.interest.format(),
                "fees": i.fees.format(),
                "total": i.total.format(),
                "balance_after": i.balance_after.format(),
            }
            for i in schedule.installments
        ],
        "totals": {
            "principal": schedule.total_principal.format(),
            "interest": schedule.total_interest.format(),
            "fees": schedule.total_fees.format(),
            "total": schedule.total_amount.format(),
        },
        "apr": _percent(apr.apr),
        "effective_annual_rate": _percent(apr.effective_annual_rate),
    }


def _print_table(schedule: Schedule, apr: AprResult) -> None:
    console = Console()
    table = Table(title="还款计划 / Repayment schedule", show_footer=True, box=box.SIMPLE_HEAD)
    table.add_column("期数\nNo.", footer="合计\nTotal", justify="right", no_wrap=True)
    table.add_column("还款日\nDue date", no_wrap=True)
    for header, total in (
        ("本金\nPrincipal", schedule.total_principal),
        ("利息\nInterest", schedule.total_interest),
        ("费用\nFees", schedule.total_fees),
        ("应还\nTotal", schedule.total_amount),
    ):
        table.add_column(header, footer=total.format(), justify="right", no_wrap=True)
    table.add_column("剩余本金\nBalance", justify="right", no_wrap=True)
    for i in schedule.installments:
        table.add_row(
            str(i.n),
            i.due_date.isoformat(),
            i.principal.format(),
            i.interest.format(),
            i.fees.format(),
            i.total.format(),
            i.balance_after.format(),
        )
    print_table(console, table)
    console.print(f"放款金额 Disbursed: {schedule.disbursed.format()} {schedule.currency}")
    if schedule.upfront_fees:
        parts = ", ".join(f"{f.amount.format()} → {f.payee}" for f in schedule.upfront_fees)
        console.print(f"放款时另付费用 Upfront fees (paid separately): {parts}")
    per_year = apr.periods_per_year.normalize()
    console.print(
        f"年化利率 APR: {_percent(apr.apr)}%  — 须向借款人展示的利率：按还款计划的内部收益率（IRR）"
        f"每期利率 × 每年 {per_year} 期 / the rate every offer must show: the schedule's "
        f"internal rate of return per period × {per_year} periods a year (PBOC [2021] No. 3)"
    )
    console.print(
        f"实际年利率 Effective annual rate: {_percent(apr.effective_annual_rate)}%  — 同一 IRR "
        f"按年复利，仅供比较 / the same IRR compounded over a year, for comparison only"
    )
    if apr.actual_day_apr is not None:
        console.print(f"按实际天数年化 APR by actual days: {_percent(apr.actual_day_apr)}%")
    if apr.xirr is not None:
        console.print(
            f"按实际天数 XIRR (ACT/365): {_percent(apr.xirr)}%  — 按各笔还款的实际天数计算，"
            f"仅供比较 / the IRR over the actual days between payments, for comparison only"
        )
    _warn_above_cost_cap(apr, schedule.start_date, console)


def _warn_above_cost_cap(apr: AprResult, on: date, console: Console) -> None:
    """Say so when the APR is above the comprehensive cost cap in force (no lender may
    offer it); the schedule is still printed, as a designer may be exploring."""
    try:
        cap = CostCapPolicy().cap_for(ANY_LICENCE, on)
    except ComplianceViolation:
        return
    if apr.apr > cap.limit:
        console.print(
            f"[bold red]警告 WARNING[/]: 年化利率 {_percent(apr.apr)}% 超过 {_percent(cap.limit)}% "
            f"的综合融资成本上限，不得向借款人提供 / APR {_percent(apr.apr)}% is above the "
            f"{_percent(cap.limit)}% cost cap: no lender may offer this loan"
        )


def _fail(problems: list[tuple[str, str]]) -> NoReturn:
    typer.echo("参数错误 / invalid options:", err=True)
    for option, message in problems:
        typer.echo(f"  {option}: {message}", err=True)
    raise typer.Exit(code=2)


def _cli_problem(problem: Problem, fees: list[_FeeOption]) -> tuple[str, str]:
    """The option and message a command-line user needs for a domain problem."""
    if problem.field == "annual_rate":  # the domain speaks fractions, this command percent
        return "--annual-rate", "须为 0 到 100 之间的百分比 / must be a percentage from 0 to 100"
    return _option_for(problem.field, fees), problem.message


def _option_for(field: str, fees: list[_FeeOption]) -> str:
    if field.startswith("fees["):
        index = int(field[5 : field.index("]")])
        if index < len(fees):
            return f"{fees[index].option} {fees[index].text}"
    return _OPTION_FOR_FIELD.get(field, field)


def schedule_command(
    principal: str = typer.Option(..., "--principal", help="借款本金 / loan principal, e.g. 10000"),
    annual_rate: str = typer.Option(
        ..., "--annual-rate", help="年利率（百分比）/ annual rate in percent, e.g. 18"
    ),
    periods: int = typer.Option(..., "--periods", help="期数（含宽限期）/ number of periods"),
    every: int = typer.Option(1, "--every", help="每期长度 / period length in units"),
    unit: PeriodUnit = typer.Option(PeriodUnit.MONTHS, "--unit", help="期间单位 / period unit"),
    method: RepaymentMethod = typer.Option(
        RepaymentMethod.EQUAL_INSTALLMENT, "--method", help="还款方式 / repayment method"
    ),
    day_count: DayCount = typer.Option(
        DayCount.ACT_360, "--day-count", case_sensitive=False, help="计息基准 / day count"
    ),
    start: str | None = typer.Option(
        None, "--start", help="放款日 / disbursement date YYYY-MM-DD (default: today)"
    ),
    first_due: str | None = typer.Option(
        None, "--first-due", help="首期还款日 / first due date (default: one period after start)"
    ),
    rounding: RoundingMode = typer.Option(
        RoundingMode.HALF_UP, "--rounding", help="舍入方式 / rounding mode"
    ),
    installment_multiple: str | None = typer.Option(
        None, "--installment-multiple", help="每期金额取整倍数 / round installments to, e.g. 1"
    ),
    principal_grace: int = typer.Option(
        0, "--principal-grace", help="本金宽限期数（只还利息）/ interest-only periods"
    ),
    upfront_fee: list[str] = typer.Option(
        [],
        "--upfront-fee",
        help="放款时另付费用 / upfront fee: AMOUNT or PERCENT% of principal, optional :payee",
    ),
    per_installment_fee: list[str] = typer.Option(
        [],
        "--per-installment-fee",
        help="每期费用 / fee on every installment: AMOUNT or PERCENT%, optional :payee",
    ),
    currency: str = typer.Option("CNY", "--currency", help="币种 / currency"),
    as_json: bool = typer.Option(
        False, "--json", help="以 JSON 输出（利率为百分比）/ print JSON (apr and rates in percent)"
    ),
) -> None:
    """打印还款计划与年化利率（APR）/ Print a repayment schedule and its APR."""
    fees: list[_FeeOption] = []
    try:
        if currency not in MINOR_UNIT_DIGITS:
            raise _OptionError(
                [("--currency", f"不支持的币种 / unsupported currency {currency!r}")]
            )
        start_date = _date("--start", start) or business_today()
        fees = [_fee("--upfront-fee", t, FeeKind.UPFRONT, currency) for t in upfront_fee]
        fees += [
            _fee("--per-installment-fee", t, FeeKind.PER_INSTALLMENT, currency)
            for t in per_installment_fee
        ]
        if every < 1:
            raise _OptionError([("--every", "须为不小于 1 的整数 / must be at least 1")])
        terms = LoanTerms(
            principal=_money("--principal", principal, currency),
            periods=periods,
            annual_rate=_decimal("--annual-rate", annual_rate) / 100,
            method=method,
            frequency=Frequency(every, unit),
            day_count=day_count,
            rounding=rounding,
            installment_multiple=(
                _money("--installment-multiple", installment_multiple, currency)
                if installment_multiple is not None
                else None
            ),
            principal_grace_periods=principal_grace,
            fees=tuple(f.rule for f in fees),
            start_date=start_date,
            first_due_date=_date("--first-due", first_due),
        )
        schedule = generate_schedule(terms)
        apr = annual_percentage_rate(schedule, with_xirr=not as_json)
    except _OptionError as exc:
        _fail(exc.problems)
    except ValidationFailed as exc:
        _fail([_cli_problem(p, fees) for p in exc.problems])
    except AprUndefined as exc:
        _fail([("--upfront-fee", exc.message)])
    except DomainError as exc:
        _fail(
            [(_option_for(p.field, fees), p.message) for p in exc.problems] or [("", exc.message)]
        )
    except (ArithmeticError, ValueError, OverflowError):
        # Every bound the domain knows is checked above; this is the last line of defence.
        _fail([("", "输入超出可计算范围 / the input is outside what can be computed")])
    if as_json:
        typer.echo(json.dumps(schedule_json(schedule, apr), ensure_ascii=False, indent=2))
    else:
        _print_table(schedule, apr)
