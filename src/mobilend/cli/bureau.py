"""``mobilend bureau export --month YYYY-MM [--out FILE]``: the month's credit-bureau
submission — every loan's balance and repayment status at the month's end, with
corrections and deletions for months already sent (layout: ``docs/bureau.md``).

The file holds names and ID numbers in the clear, as the bureau needs them: it is
written readable by its owner only; hand it over on the bureau's secure channel."""

from __future__ import annotations

import os
from pathlib import Path

import typer

bureau_app = typer.Typer(
    help="征信报送 / credit-bureau reporting: the monthly loan-level export.",
    no_args_is_help=True,
)


@bureau_app.command("export")
def export_command(
    month: str = typer.Option(..., "--month", help="报送月份 / month to report, YYYY-MM"),
    out: Path | None = typer.Option(
        None, "--out", help="输出文件（缺省 var/bureau/）/ output file (default under var/bureau/)"
    ),
    lender_code: str = typer.Option(
        "MOBILEND", "--lender-code", help="机构代码 / the lender's code at the bureau"
    ),
) -> None:
    """月度征信报送文件 / Write the month's credit-bureau file (with corrections)."""
    from mobilend.app.compliance.bureau import export_bureau_month_in
    from mobilend.bootstrap.compliance import build_compliance
    from mobilend.domain.errors import DomainError

    desk = build_compliance()
    try:
        with desk.uow_factory() as uow:
            exported = export_bureau_month_in(
                uow, desk.vault, desk.new_id, month=month, now=desk.now(), lender_code=lender_code
            )
            uow.commit()
    except DomainError as exc:
        typer.echo(f"{type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(2) from None
    submission = exported.submission
    path = out or desk.infra.settings.var_path / "bureau" / (
        f"mobilend-bureau-{month}-{submission.submission_id}.txt"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(exported.text)
    typer.echo(
        f"{month}: 账户记录 / records {submission.regular_records}, 更正 / corrections "
        f"{submission.corrections}, 删除 / deletions {submission.deletions} → {path} "
        f"(sha256 {submission.sha256})"
    )
