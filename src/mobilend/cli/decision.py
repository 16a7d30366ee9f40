"""Decision commands: ``mobilend decision replay ID`` rebuilds a stored credit decision."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from mobilend.cli.main import app

decision_app = typer.Typer(
    help="授信决策 / credit decisions: replay a stored decision from its record.",
    no_args_is_help=True,
)
app.add_typer(decision_app, name="decision")


@decision_app.command("replay")
def replay_command(
    decision: str = typer.Argument(
        ..., help="决策编号，或决策记录 JSON 文件路径 / decision id, or a record file"
    ),
    records_dir: Path = typer.Option(
        Path("var/decisions"), "--records-dir", help="决策记录目录 / folder of stored records"
    ),
    model_dir: Path | None = typer.Option(
        None,
        "--model-dir",
        help="模型目录（默认使用默认模型）/ model artifact (default model if absent)",
    ),
) -> None:
    """重放决策并逐字节比对 / Replay a decision from its stored inputs and compare byte for byte."""
    from mobilend.risk.engine import ReplayError, RiskDecisionEngine, load_default_scorer
    from mobilend.risk.fraud import InMemoryFraudSignalStore
    from mobilend.risk.records import JsonFileDecisionRecordStore

    path = Path(decision)
    if decision.endswith(".json") and path.is_file():
        record = json.loads(path.read_text("utf-8"))
    else:
        try:
            record = JsonFileDecisionRecordStore(records_dir).get(decision)
        except KeyError:
            typer.echo(
                f"找不到决策记录 / no record for decision {decision} in {records_dir}", err=True
            )
            raise typer.Exit(2) from None
    scorer = load_default_scorer(str(model_dir) if model_dir else None)
    # Replay reads no data source and no fraud store: it runs on the record alone.
    engine = RiskDecisionEngine(scorer=scorer, sources={}, fraud_store=InMemoryFraudSignalStore())
    try:
        result = engine.replay(record)
    except ReplayError as exc:
        typer.echo(f"重放失败 / replay failed: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"决策 / decision {result.decision_id}: {result.outcome}")
    if result.limit is not None:
        typer.echo(
            f"额度 / limit {result.limit.format()} {result.limit.currency}, 年利率 / annual rate {result.annual_rate}"
        )
    for reason in result.reasons:
        typer.echo(f"  {reason.code}: {reason.text_zh} / {reason.text_en}")
    typer.echo("重放结果与记录逐字节一致 / replay identical to the stored record")
