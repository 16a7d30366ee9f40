"""Collections commands: ``mobilend collections run --date D`` (a collections day),
``mobilend collections report`` (recovery by bucket and strategy). The simulated month
over 10 000 loans is ``bench/bench_collections_month.py``."""

from __future__ import annotations

import datetime as dt

import typer

from mobilend.domain.business_day import business_today

collections_app = typer.Typer(
    help="贷后催收 / collections: cases, strategies, conduct, recovery.", no_args_is_help=True
)


def _date(text: str | None) -> dt.date:
    if text is None:
        return business_today()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"日期格式应为 YYYY-MM-DD / expected YYYY-MM-DD: {text}") from None


@collections_app.command("run")
def run_command(
    date: str | None = typer.Option(None, "--date", help="日期 / date of the work (default today)"),
    messages: bool = typer.Option(
        True, "--messages/--no-messages", help="发送策略提醒 / send the strategy's reminders"
    ),
) -> None:
    """催收日处理 / Sync cases, review promises and plans, propose write-offs, assign, remind."""
    from mobilend.app.collections.daily import run_collections_day
    from mobilend.bootstrap.collections import build_standalone_collections

    day = run_collections_day(
        build_standalone_collections().desk, _date(date), send_messages=messages
    )
    c = day.cases
    typer.echo(
        f"{day.business_date}: 新开 / opened {c.opened}, 更新 / updated {c.updated}, "
        f"转派 / re-placed {c.replaced}, 结清 / cured {c.cured}, 还清 / paid off {c.paid_off}; "
        f"承诺 / promises kept {day.promises.kept} broken {day.promises.broken}; "
        f"核销申请 / write-offs proposed {day.write_offs_proposed}; "
        f"分案 / assigned {day.assignment.to_agents} (+{day.assignment.to_agencies} to agencies); "
        f"提醒 / reminders sent {day.strategy.sent}, refused {day.strategy.refused}"
    )


@collections_app.command("report")
def report_command() -> None:
    """回收报表 / Recovery by the bucket a case opened in, and champion vs challenger."""
    from mobilend.app.collections.reports import recovery_report
    from mobilend.bootstrap.collections import build_standalone_collections

    desk = build_standalone_collections().desk
    report = recovery_report(desk.uow_factory, desk.settings.buckets.rank)
    for title, lines in (
        ("按账龄 / by bucket", report.by_bucket),
        ("按策略 / by strategy", report.by_strategy),
    ):
        typer.echo(title)
        for line in lines:
            typer.echo(
                f"  {line.group:32} {line.cases:7,} cases  owed ¥{line.owed_at_open.amount:>16,.2f}"
                f"  collected ¥{line.collected.amount:>14,.2f}  {line.recovery_rate * 100:6.2f}%"
            )
