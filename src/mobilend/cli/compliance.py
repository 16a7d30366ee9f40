"""``mobilend compliance report [--date D] [--json]``: every product, borrower, loan,
joint programme and partner that breaks a rule in force on the date, with the rule, the
figure and the limit. Exits 1 when anything breaks a rule (for a daily job's alert)."""

from __future__ import annotations

import datetime as dt

import typer
from rich.console import Console
from rich.table import Table

compliance_app = typer.Typer(
    help="合规 / compliance: the report of everything that breaks a rule in force.",
    no_args_is_help=True,
)
console = Console()

SECTION_NAMES = {
    "product": "产品 product",
    "borrower": "借款人 borrower",
    "loan": "借款 loan",
    "programme": "资金方案 programme",
    "funder": "资金方 funder",
}


def parse_date(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"日期格式应为 YYYY-MM-DD / expected YYYY-MM-DD: {text}") from None


@compliance_app.command("report")
def report_command(
    date: str | None = typer.Option(None, "--date", help="日期（缺省今天）/ date (default today)"),
    as_json: bool = typer.Option(False, "--json", help="输出 JSON / print JSON"),
) -> None:
    """合规报告 / Everything that breaks a rule in force on the date."""
    from mobilend.app.compliance.report import compliance_report_in
    from mobilend.bootstrap.compliance import build_compliance
    from mobilend.domain.compliance import RULE_NAMES

    desk = build_compliance()
    on = parse_date(date) or desk.today()
    with desk.uow_factory() as uow:
        report = compliance_report_in(uow, desk.rules, on)
    if as_json:
        typer.echo(report.to_json())
    else:
        checked = ", ".join(f"{SECTION_NAMES[s]} {n}" for s, n in report.checked)
        console.print(f"合规报告 / compliance report {on} (规则 / rules {report.rulebook_version})")
        console.print(f"已检查 / checked: {checked}")
        if report.clean:
            console.print("[green]未发现违规 / nothing breaks a rule[/]")
        else:
            table = Table("类别 section", "对象 subject", "规则 rule", "数值 figure", "上限 limit")
            for item in report.breaches:
                b = item.breach
                zh, en = RULE_NAMES[b.rule]
                table.add_row(
                    SECTION_NAMES[item.section], item.subject, f"{zh} {en}", b.figure, b.limit
                )
            console.print(table)
            for item in report.breaches:
                console.print(f"- {item.subject}: {item.breach.message}")
    if not report.clean:
        raise typer.Exit(1)
