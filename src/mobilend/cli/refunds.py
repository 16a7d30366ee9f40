"""Refund commands: ``mobilend refunds awaiting`` and ``mobilend refunds approve ID``."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from mobilend.domain.business_day import business_today

console = Console()

refunds_app = typer.Typer(
    help="退款 / refunds: money held for borrowers, paid back to their cards.",
    no_args_is_help=True,
)


@refunds_app.command("awaiting")
def awaiting_command(limit: int = typer.Option(100, min=1)) -> None:
    """待审批退款 / Refunds above the approval threshold, waiting for an operator."""
    from mobilend.bootstrap.servicing import build_servicing_runtime

    wired = build_servicing_runtime()
    try:
        with wired.desk.uow_factory() as uow:
            waiting = uow.servicing.refunds.pending(limit, status="awaiting_approval")
    finally:
        wired.close()
    table = Table("refund", "loan", "amount 金额", "date 日期")
    for refund in waiting:
        table.add_row(
            refund.refund_id, refund.loan_id, refund.amount.format(), str(refund.business_date)
        )
    console.print(table)


@refunds_app.command("approve")
def approve_command(
    refund_id: str,
    operator: str = typer.Option(..., help="审批人 / the approving operator"),
) -> None:
    """审批退款 / Approve a refund: the ledger moves and the payout leaves via the rail."""
    from mobilend.app.servicing.payments import approve_refund
    from mobilend.bootstrap.servicing import build_servicing_runtime
    from mobilend.domain.errors import DomainError

    wired = build_servicing_runtime()
    try:
        refund = approve_refund(
            wired.desk,
            refund_id,
            operator=operator,
            on=business_today(),
            send=wired.rail is not None,
        )
    except DomainError as exc:
        console.print(f"[red]{exc.code}[/]: {exc}")
        raise typer.Exit(code=2) from None
    finally:
        wired.close()
    console.print(f"退款 / refund {refund.refund_id}: {refund.amount.format()} → {refund.status}")
