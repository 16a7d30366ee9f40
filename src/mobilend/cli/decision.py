"""Decision commands: ``mobilend decision replay ID`` rebuilds a stored credit decision.

Records are read from the database (the ``decisions`` table, personal fields opened with
the PII vault) unless ``--records-dir`` names a folder of JSON records.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

decision_app = typer.Typer(
    help="授信决策 / credit decisions: replay a stored decision from its record.",
    no_args_is_help=True,
)


@decision_app.command("replay")
def replay_command(
    decision: str = typer.Argument(
        ..., help="决策编号，或决策记录 JSON 文件路径 / decision id, or a record file"
    ),
    records_dir: Path | None = typer.Option(
        None,
        "--records-dir",
        help="从此目录读取决策记录（缺省从数据库读取）/ read records from this folder "
        "instead of the database",
    ),
    model_dir: list[Path] | None = typer.Option(
        None,
        "--model-dir",
        help="模型目录，可重复（缺省为服务所用模型）/ model artifact(s); repeatable "
        "(default: the service's model and its challenger)",
    ),
) -> None:
    """重放决策并逐字节比对 / Replay a decision from its stored inputs and compare byte for byte."""
    from mobilend.bootstrap.risk import build_decision_records, build_replay_engine
    from mobilend.risk.engine import ReplayError
    from mobilend.risk.records import JsonFileDecisionRecordStore

    path = Path(decision)
    if decision.endswith(".json") and path.is_file():
        record = json.loads(path.read_text("utf-8"))
    else:
        where = str(records_dir) if records_dir is not None else "the database"
        try:
            store = (
                JsonFileDecisionRecordStore(records_dir)
                if records_dir is not None
                else build_decision_records()
            )
            record = dict(store.get(decision))
        except KeyError:
            typer.echo(f"找不到决策记录 / no record for decision {decision} in {where}", err=True)
            raise typer.Exit(2) from None
        except Exception as exc:  # a record that does not open (tampered, wrong key)
            typer.echo(f"无法读取决策记录 / cannot read record {decision}: {exc}", err=True)
            raise typer.Exit(1) from None
    try:
        # Replay reads no data source and no fraud store: it runs on the record alone.
        engine = build_replay_engine(model_dirs=model_dir or ())
        result = engine.replay(record)
    except (ReplayError, FileNotFoundError) as exc:
        typer.echo(f"重放失败 / replay failed: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"决策 / decision {result.decision_id}: {result.outcome}")
    if result.limit is not None:
        typer.echo(
            f"额度 / limit {result.limit.format()} {result.limit.currency}, 年利率 / annual rate {result.annual_rate}"
        )
    for reason in result.reasons:
        typer.echo(f"  {reason.code}: {reason.text_zh} / {reason.text_en}")
    typer.echo(
        f"版本 / versions: policy {result.versions.get('policy')}, model "
        f"{result.versions.get('model', '')[:12]}, arm {result.versions.get('arm')}, "
        f"market {result.versions.get('market')}"
    )
    typer.echo("重放结果与记录逐字节一致 / replay identical to the stored record")
