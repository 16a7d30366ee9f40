"""``mobilend simulate``: a year (or any number of days) of lending through the real
platform on a virtual business calendar, with a report (HTML charts, terminal summary,
``--json``). See README "Portfolio simulation"."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from mobilend.cli.output import print_table

SUMMARY = (
    "ledger.balanced", "default_rate.bad_rows", "default_rate.good_rows", "default_rate.all",
    "compliance.apr_cap", "compliance.max_apr", "compliance.conduct_violations",
    "compliance.quiet_hour_messages", "funding.joint_loans", "funding.reconciliation_mismatches",
)  # fmt: skip


def simulate_command(
    applicants: int = typer.Option(1000, "--applicants", min=1, help="申请人数 / applicants"),
    days: int = typer.Option(365, "--days", min=1, help="模拟天数 / business days"),
    seed: int = typer.Option(1, "--seed", help="随机种子 / random seed"),
    start: str = typer.Option("2026-03-02", "--start", help="首个营业日 / first business date"),
    arrivals_within: int | None = typer.Option(
        None,
        "--arrivals-within",
        min=1,
        help="申请集中在前N天 / applicants arrive within the first N days (default: all)",
    ),
    out: Path = typer.Option(
        Path("var/simulation"), "--out", help="报告目录 / where report.html and report.json go"
    ),
    as_json: bool = typer.Option(False, "--json", help="输出 JSON 报告 / print the report as JSON"),
    http: bool = typer.Option(
        False,
        "--http",
        help="借款人流程经真实 HTTP 调用借款人接口（本进程内的 uvicorn 服务）/ each applicant's "
        "journey through the borrower API over real HTTP (served by uvicorn in this process)",
    ),
    keep_db: bool = typer.Option(
        False, "--keep-db", help="保留模拟数据库 / keep the simulation's database afterwards"
    ),
    one_process: bool = typer.Option(
        False,
        "--one-process",
        help="单进程运行 / one process: 申请人在当日其余工作之后 (报告相同, 较慢) / "
        "applicants after the rest of each day (same report, slower)",
    ),
) -> None:
    """组合模拟 / Simulate a portfolio through the real platform and report on it."""
    from mobilend.config import get_settings
    from mobilend.sim.portfolio import fresh_database, simulate
    from mobilend.sim.report_html import render_html
    from mobilend.sim.year import YearConfig

    err = Console(stderr=True)
    config = YearConfig(
        applicants=applicants,
        days=days,
        seed=seed,
        start=dt.date.fromisoformat(start),
        arrivals_within=arrivals_within,
        http=http,
        parallel=not one_process,
    )
    settings = get_settings()
    with Progress(
        TextColumn("[bold]模拟 simulate"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[info]}"), TimeElapsedColumn(), console=err, transient=False,
    ) as bar, fresh_database(settings, keep=keep_db) as (engine, url):  # fmt: skip
        task = bar.add_task("days", total=days, info="")

        def progress(day: int, info: dict[str, Any]) -> None:
            bar.update(task, completed=day, info=f"loans {info.get('loans', 0)}")
            if not err.is_terminal and (day % 10 == 0 or day == days):  # logs, not a bar
                err.print(progress_line(day, days, info), highlight=False)

        report = simulate(engine, settings, config, progress)
        if keep_db:
            err.print(f"数据库 / database kept: {url}")
    out.mkdir(parents=True, exist_ok=True)
    document = json.dumps(report, ensure_ascii=False, indent=2, default=str)
    (out / "report.json").write_text(document + "\n", "utf-8")
    (out / "report.html").write_text(render_html(report), "utf-8")
    if as_json:
        sys.stdout.write(document + "\n")
    else:
        _summary(report)
    err.print(f"报告 / report: {out / 'report.html'} ({out / 'report.json'})")
    if not report["figures"]["ledger.balanced"]:
        raise typer.Exit(1)


def progress_line(day: int, days: int, info: dict[str, Any]) -> str:
    """One line of progress for a log (no terminal to draw the bar on), e.g.
    ``第 10/120 天 / day 10/120: 申请 50 applied · 借据 21 loans · 5 s``."""
    parts = [f"第 {day}/{days} 天 / day {day}/{days}:"]
    if "applied" in info:
        parts.append(f"申请 {info['applied']} applied ·")
    parts.append(f"借据 {info.get('loans', 0)} loans")
    if "s" in info:
        parts.append(f"· {info['s']} s")
    return " ".join(parts)


def _summary(report: dict[str, Any]) -> None:
    console = Console()
    table = Table("figure", "value", title="组合模拟 / portfolio simulation")
    for name in SUMMARY:
        table.add_row(name, json.dumps(report["figures"][name]))
    for name, value in report["funnel"].items():
        table.add_row(f"funnel.{name}", str(value))
    for name, value in report["timing"].items():
        table.add_row(f"timing.{name}", str(value))
    print_table(console, table)
