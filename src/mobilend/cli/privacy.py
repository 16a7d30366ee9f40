"""Privacy (PIPL) commands: ``mobilend privacy register [--json]`` prints the register of
personal data; ``mobilend privacy export BORROWER [--out FILE]`` writes everything held
about a borrower as JSON; ``mobilend privacy erase BORROWER | --due`` records an erasure
request and erases once the legal retention period has ended."""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

privacy_app = typer.Typer(
    help="个人信息保护 / privacy: register, data-subject export, erasure.",
    no_args_is_help=True,
)
console = Console()


@privacy_app.command("register")
def register_command(
    as_json: bool = typer.Option(False, "--json", help="输出 JSON / print JSON"),
) -> None:
    """个人信息处理登记 / What is held, from where, for what, on which basis, how long."""
    from mobilend.app.privacy.register import BASIS_NAMES, HOLDINGS, PURPOSES, SOURCES

    if as_json:
        document = {
            "sources": [{"code": s.code, "zh": s.zh, "en": s.en, "data": s.data} for s in SOURCES],
            "purposes": [
                {
                    "code": p.code, "zh": p.zh, "en": p.en, "basis": p.basis.value,
                    "consent": p.consent.value if p.consent else None,
                    "withdrawal_stops": p.stops, "withdrawal_stops_zh": p.stops_zh,
                }
                for p in PURPOSES
            ],
            "holdings": [
                {
                    "table": h.table, "zh": h.zh, "en": h.en, "sources": list(h.sources),
                    "purposes": list(h.purposes), "shared_with": list(h.shared_with),
                    "retention": h.retention, "erasure": h.erasure.value,
                    "erased_columns": list(h.columns), "why_kept": h.why_kept,
                }
                for h in HOLDINGS
            ],
        }  # fmt: skip
        typer.echo(json.dumps(document, ensure_ascii=False, indent=2))
        return
    purposes = Table("用途 purpose", "依据 basis", "授权 consent", "撤回后停止 withdrawal stops")
    for p in PURPOSES:
        consent = p.consent.value if p.consent else "—"
        stops = f"{p.stops_zh} {p.stops}" if p.stops else "—"
        purposes.add_row(f"{p.zh} {p.en}", BASIS_NAMES[p.basis], consent, stops)
    console.print(purposes)
    holdings = Table("数据 data", "来源 sources", "用途 purposes", "保存 retention", "删除 erasure")
    for h in HOLDINGS:
        holdings.add_row(
            f"{h.zh} {h.en} ({h.table})", ", ".join(h.sources), ", ".join(h.purposes),
            h.retention, h.erasure.value,
        )  # fmt: skip
    console.print(holdings)


@privacy_app.command("export")
def export_command(
    borrower: str = typer.Argument(..., help="借款人编号 / borrower id"),
    out: Path | None = typer.Option(
        None, "--out", help="输出文件（缺省打印）/ file (default: print)"
    ),
) -> None:
    """个人信息副本 / Everything held about the borrower, as JSON (personal data in clear)."""
    from mobilend.app.privacy.export import export_personal_data
    from mobilend.bootstrap.compliance import build_compliance
    from mobilend.domain.errors import DomainError

    desk = build_compliance()
    try:
        exported = export_personal_data(desk.uow_factory, desk.vault, borrower, desk.now())
    except DomainError as exc:
        typer.echo(f"{type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(2) from None
    if out is None:
        typer.echo(exported.to_json())
        return
    descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(exported.to_json())
    typer.echo(f"{borrower} → {out}")


@privacy_app.command("erase")
def erase_command(
    borrower: str | None = typer.Argument(None, help="借款人编号 / borrower id"),
    due: bool = typer.Option(False, "--due", help="执行所有到期的删除请求 / every due request"),
    date: str | None = typer.Option(None, "--date", help="日期（缺省今天）/ date (default today)"),
    by: str = typer.Option("operations", "--by", help="请求人 / requested by"),
) -> None:
    """删除个人信息 / Record an erasure request; erase once the retention period has ended."""
    from mobilend.app.privacy.erasure import erase_due_in, erase_if_due_in, request_erasure_in
    from mobilend.bootstrap.compliance import build_compliance
    from mobilend.cli.compliance import parse_date
    from mobilend.domain.errors import DomainError

    if (borrower is None) == (not due):
        raise typer.BadParameter("name a borrower or give --due (not both)")
    desk = build_compliance()
    on = parse_date(date) or desk.today()
    years = desk.retention_years
    try:
        with desk.uow_factory() as uow:
            if borrower is not None:
                request_erasure_in(uow, borrower, now=desk.now(), requested_by=by)
                results = [erase_if_due_in(uow, borrower, on=on, now=desk.now(), years=years)]
            else:
                results = erase_due_in(uow, on=on, now=desk.now(), years=years)
            uow.commit()
    except DomainError as exc:
        typer.echo(f"{type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(2) from None
    for result in results:
        typer.echo(f"{result.borrower_id}: {result.message}")
    if not results:
        typer.echo("没有待执行的删除请求 / no erasure request is pending")
