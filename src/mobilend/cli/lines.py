"""Credit line commands: ``mobilend lines review --date D`` runs the periodic line review;
``mobilend lines proposals BORROWER`` lists the limit increases waiting for consent."""

from __future__ import annotations

import datetime as dt

import typer

from mobilend.domain.business_day import business_today

lines_app = typer.Typer(
    help="授信额度 / credit lines: periodic review, proposed increases.",
    no_args_is_help=True,
)


def _date(text: str | None) -> dt.date:
    if text is None:
        return business_today()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"日期格式应为 YYYY-MM-DD / expected YYYY-MM-DD: {text}") from None


@lines_app.command("review")
def review_command(
    date: str | None = typer.Option(
        None, "--date", help="营业日 YYYY-MM-DD（缺省今天）/ business date (default today)"
    ),
    every_days: int = typer.Option(
        30, "--every-days", min=1, help="复评周期（天）/ days between reviews of a line"
    ),
    partition: int = typer.Option(0, "--partition", min=0, help="分区号 / partition"),
    partitions: int = typer.Option(1, "--partitions", min=1, help="分区数 / partitions"),
) -> None:
    """额度复评 / Re-score active lines; lower or freeze on higher risk, propose increases."""
    from mobilend.bootstrap.risk import run_line_reviews

    if partition >= partitions:
        raise typer.BadParameter("--partition must be below --partitions")
    on = _date(date)
    summary = run_line_reviews(
        on, partition=partition, partitions=partitions, every_days=every_days
    )
    typer.echo(
        f"{on}: 复评 / reviewed {summary.reviewed} — 维持 / kept {summary.kept}, "
        f"降额 / lowered {summary.lowered}, 冻结 / frozen {summary.frozen}, "
        f"提额邀请 / proposed {summary.proposed}; 延后 / deferred {summary.deferred}, "
        f"失败 / failed {summary.failed}"
    )
    if summary.failed:
        raise typer.Exit(1)


@lines_app.command("proposals")
def proposals_command(
    borrower: str = typer.Argument(..., help="借款人编号 / borrower id"),
    date: str | None = typer.Option(None, "--date", help="营业日 / business date"),
) -> None:
    """待确认的提额邀请 / Limit increases waiting for the borrower's consent."""
    from mobilend.app.reviews.line_reviews import open_proposals
    from mobilend.bootstrap.risk import build_line_review_store

    shown = open_proposals(build_line_review_store(), borrower, _date(date))
    if not shown:
        typer.echo("无待确认的提额邀请 / no pending limit proposals")
    for p in shown:
        assert p.proposed_limit is not None
        typer.echo(
            f"{p.review_id}: 额度 / line {p.line_id} {p.previous_limit.format()} → "
            f"{p.proposed_limit.format()} {p.proposed_limit.currency}, "
            f"有效至 / valid until {p.proposal_expires_on}"
        )
