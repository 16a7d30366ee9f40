"""Ledger commands: ``mobilend ledger verify``."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

console = Console()

ledger_app = typer.Typer(help="账务 / ledger: checks over the whole book.", no_args_is_help=True)


@ledger_app.command("verify")
def verify_command(
    batch: int = typer.Option(500, min=1, help="Loans and lines read per transaction"),
) -> None:
    """核对总账 / Verify the ledger: every entry balanced, postings summing to zero per
    currency, every loan's balances equal to its schedule state, every line's used
    amount equal to its loans' principal. Exits 1 on any mismatch."""
    from mobilend.adapters.db import engine as db_engine
    from mobilend.adapters.db import migrate as db_migrate
    from mobilend.bootstrap.ledger import verify_book

    if db_migrate.current_revision(db_engine.database_url()) is None:
        # A database nothing was migrated into has no ledger to check: say so, not a trace.
        console.print(
            "[red]数据库尚未初始化，请先运行 mobilend migrate "
            "(the database has no schema yet: run mobilend migrate first)[/]"
        )
        raise typer.Exit(code=2)
    report = verify_book(batch=batch)
    console.print(
        f"entries {report.entries}, postings {report.postings}, "
        f"loans {report.loans}, lines {report.lines}"
    )
    if report.clean:
        console.print("[green]ledger verified: no mismatch 总账核对无误[/]")
        return
    table = Table("check", "subject", "detail", title="mismatches 不符")
    for mismatch in report.mismatches:
        table.add_row(mismatch.check, mismatch.subject, mismatch.detail)
    console.print(table)
    console.print(f"[red]{len(report.mismatches)} mismatch(es) 处不符[/]")
    raise typer.Exit(code=1)
