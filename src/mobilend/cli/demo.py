"""``mobilend seed`` and ``mobilend demo``: demo products, and one loan walked through its life."""

from __future__ import annotations

import datetime as dt

import typer
from rich.console import Console
from rich.table import Table

from mobilend.app.lending.catalogue import DEMO_PRODUCTS
from mobilend.app.lending.eod import catch_up
from mobilend.app.lending.lines import open_credit_line
from mobilend.app.lending.loans import draw_loan
from mobilend.app.lending.products import ensure_product
from mobilend.app.lending.repayments import pay_off_loan, post_repayment, quote_payoff
from mobilend.bootstrap.lending import Lending, build_lending
from mobilend.cli.output import print_table
from mobilend.domain.ledger import EntryKind, JournalEntry, loan_balances
from mobilend.domain.money import Money
from mobilend.domain.products_state import product_from_state

console = Console()


def seed_products(lending: Lending, on: dt.date) -> list[str]:
    codes = []
    for definition in DEMO_PRODUCTS:
        product = product_from_state(dict(definition))
        ensure_product(lending.uow_factory, product, on=on, cost_caps=lending.cost_caps)
        codes.append(product.code)
    return codes


def _ledger_table(entries: list[JournalEntry]) -> Table:
    """Journal entries, with daily accruals summed per month to keep the page readable."""
    table = Table("日期 date", "类型 kind", "科目 account", "借 debit", "贷 credit")
    rows: dict[tuple[str, str, str], Money] = {}
    for entry in entries:
        day = entry.business_date.isoformat()
        if entry.kind is EntryKind.ACCRUAL:
            day = entry.business_date.strftime("%Y-%m (Σ)")
        for p in entry.postings:
            key = (day, entry.kind.value, p.account)
            rows[key] = rows.get(key, Money.zero(p.amount.currency)) + p.amount
    for (day, kind, account), amount in rows.items():
        debit = amount.format() if amount.is_positive() else ""
        credit = (-amount).format() if amount.is_negative() else ""
        table.add_row(day, kind, account, debit, credit)
    return table


def seed_command() -> None:
    """写入演示产品 / Seed the demo products (idempotent)."""
    lending = build_lending()
    codes = seed_products(lending, lending.today())
    console.print(f"演示产品 / demo products: {', '.join(codes)}")


def demo_command(
    start: str = typer.Option("2026-01-15", help="放款日 / disbursement date (YYYY-MM-DD)"),
    amount: str = typer.Option("12000.00", help="借款金额 / amount (CNY)"),
    periods: int = typer.Option(12, help="期数 / number of monthly periods"),
) -> None:
    """演示：授信、用信、日终、还款、结清 / Demo: line, draw, EOD, repayment, payoff.

    Runs on the in-memory stores: nothing is written to the database (a demo loan there
    would leave a payout no rail ever pays, and break reconciliation)."""
    lending = build_lending(in_memory=True)
    on = dt.date.fromisoformat(start)
    seed_products(lending, on)
    borrower_id = f"demo-{lending.new_id()}"
    with lending.uow_factory() as uow:
        uow.lending.borrowers.ensure(borrower_id)
        uow.commit()
    line = open_credit_line(
        lending.uow_factory, lending.cost_caps, lending.new_id, borrower_id=borrower_id,
        product_code="cash",
        limit=Money("20000.00"), opened_on=on, expires_on=on + dt.timedelta(days=365),
    )  # fmt: skip
    console.print(f"[bold]授信 / credit line[/] {line.line_id}: 额度 limit {line.limit}")
    drawn = draw_loan(
        lending.uow_factory, lending.cost_caps, lending.new_id,
        line_id=line.line_id, amount=Money(amount), periods=periods, on=on,
    )  # fmt: skip
    loan, offer = drawn.loan, drawn.offer
    console.print(
        f"[bold]用信 / loan[/] {loan.loan_id}: {offer.schedule.principal} "
        f"年化利率(IRR) APR {offer.apr.apr * 100:.4f}%  名义 nominal {offer.annual_rate * 100}%"
    )
    table = Table(
        "期 n",
        "到期日 due",
        "本金 principal",
        "利息 interest",
        "费用 fees",
        "合计 total",
        "剩余 balance",
    )
    for i in offer.schedule.installments:
        table.add_row(str(i.n), i.due_date.isoformat(), i.principal.format(), i.interest.format(),
                      i.fees.format(), i.total.format(), i.balance_after.format())  # fmt: skip
    print_table(console, table)

    first = offer.schedule.installments[0]
    catch_up(lending.eod, on, first.due_date)
    post_repayment(
        lending.uow_factory, lending.new_id, loan_id=loan.loan_id, amount=first.total,
        on=first.due_date, idempotency_key=f"demo-{loan.loan_id}-1",
    )  # fmt: skip
    console.print(f"第 1 期已还 / installment 1 paid on {first.due_date}: {first.total}")
    payday = first.due_date + dt.timedelta(days=20)
    catch_up(lending.eod, first.due_date, payday - dt.timedelta(days=1))
    quote = quote_payoff(lending.uow_factory, loan_id=loan.loan_id, on=payday)
    console.print(
        f"提前结清报价 / payoff quote on {payday}: 本金 {quote.principal} 利息 {quote.interest} "
        f"合计 {quote.amount_due}"
    )
    pay_off_loan(
        lending.uow_factory, lending.new_id, loan_id=loan.loan_id, amount=quote.amount_due,
        on=payday, idempotency_key=f"demo-{loan.loan_id}-payoff",
    )  # fmt: skip
    with lending.uow_factory() as uow:
        final = uow.lending.loans.get(loan.loan_id)
        entries = uow.lending.ledger.entries_for_loan(loan.loan_id)
        line_after = uow.lending.lines.get(line.line_id)
    console.print(
        f"贷款状态 / loan status: [bold]{final.status}[/]; 可用额度 / available: {line_after.available}"
    )
    print_table(console, _ledger_table(entries))
    balances = Table("科目 account", "余额 balance (借+ / 贷-)")
    for account, amount in sorted(final.ledger_balances().items()):
        balances.add_row(account.value, amount.format())
    print_table(console, balances)
    rebuilt = loan_balances(entries, loan.loan_id)
    ok = rebuilt == final.ledger_balances()
    console.print(f"分录重建余额一致 / balances rebuilt from postings match: [bold]{ok}[/]")
    if not ok:
        raise typer.Exit(code=1)
