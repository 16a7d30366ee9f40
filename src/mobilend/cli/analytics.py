"""Portfolio analytics: ``mobilend analytics refresh [--date D] [--full]`` rebuilds the
summaries the console's charts read (the job queue does it every night)."""

from __future__ import annotations

import datetime as dt

import typer

from mobilend.domain.business_day import business_today

analytics_app = typer.Typer(help="资产分析 / portfolio analytics.", no_args_is_help=True)


@analytics_app.command("refresh")
def refresh_command(
    date: str = typer.Option("", "--date", help="营业日 / business date (default: yesterday)"),
    full: bool = typer.Option(False, "--full", help="全部重算 / rebuild every period"),
) -> None:
    """重算分析汇总 / Rebuild the analytics summaries as of a business date."""
    from mobilend.adapters.db.analytics_refresh import SqlAnalyticsRefresher
    from mobilend.adapters.db.engine import create_engine

    try:
        as_of = dt.date.fromisoformat(date) if date else business_today() - dt.timedelta(days=1)
    except ValueError:
        raise typer.BadParameter("日期格式 YYYY-MM-DD / date as YYYY-MM-DD") from None
    engine = create_engine(pool_size=1)
    try:
        state = SqlAnalyticsRefresher(engine).refresh(as_of, full=full)
    finally:
        engine.dispose()
    typer.echo(f"已刷新 / refreshed as of {state.as_of} in {state.seconds} s")
