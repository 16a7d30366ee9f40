"""`mobilend model …`: train, score, report and evaluate PD models on CSV files."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    import pandas as pd

    from mobilend.risk.model.evaluation import DatasetEvaluation, HoldoutEvaluation
    from mobilend.risk.model.training import TrainingConfig

model_app = typer.Typer(
    help="信用评分模型（训练、评分、报告、评估）/ credit PD model: train, score, report, evaluate.",
    no_args_is_help=True,
)

console = Console()
err_console = Console(stderr=True)

DataOpt = Annotated[
    Path, typer.Option("--data", help="CSV 文件 / CSV file", exists=True, dir_okay=False)
]
TargetOpt = Annotated[str, typer.Option("--target", help="目标列 / target column (two labels)")]
IdOpt = Annotated[
    str | None,
    typer.Option("--id-column", help="编号列（缺省为行号）/ id column (default: row number)"),
]
GoodOpt = Annotated[
    str | None, typer.Option("--good-label", help="“好”标签 / label of good outcomes")
]
ModelOpt = Annotated[
    Path, typer.Option("--model", help="模型目录 / model artifact directory", file_okay=False)
]
MinGainOpt = Annotated[
    float,
    typer.Option(
        help="更复杂模型须额外超出的 AUC / extra AUC a more complex model must gain "
        "beyond one standard error (default 0)"
    ),
]
CandidateOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--candidate",
        help="候选模型（可重复，缺省全部）/ candidate (repeatable; default all): "
        "logistic, scorecard, lightgbm, lightgbm_tuned, blend",
    ),
]


def _fail(exc: Exception) -> typer.Exit:
    err_console.print(f"[red]错误 / error:[/red] {exc}")
    return typer.Exit(code=2)


def _config(
    folds: int,
    repeats: int,
    seed: int,
    pdo: float,
    base_score: float,
    base_odds: float,
    calibration: str,
    selection: str,
    n_estimators: int,
    exclude: list[str] | None,
    candidates: list[str] | None = None,
    min_gain: float = 0.0,
) -> TrainingConfig:
    from mobilend.risk.model.calibration import CalibrationMethod
    from mobilend.risk.model.candidates import CandidateKind, LightGbmParams
    from mobilend.risk.model.scaling import ScoreScaling
    from mobilend.risk.model.training import ALL_CANDIDATES, SelectionRule, TrainingConfig

    return TrainingConfig(
        candidates=tuple(CandidateKind(c) for c in candidates) if candidates else ALL_CANDIDATES,
        folds=folds,
        repeats=repeats,
        seed=seed,
        selection=SelectionRule(selection),
        calibration=CalibrationMethod(calibration),
        scaling=ScoreScaling(pdo=pdo, base_score=base_score, base_odds=base_odds),
        lightgbm=LightGbmParams(n_estimators=n_estimators),
        exclude=tuple(exclude or ()),
        min_gain=min_gain,
    )


@model_app.command("train")
def train(
    data: DataOpt,
    target: TargetOpt,
    out: Annotated[Path, typer.Option("--out", help="输出模型目录 / output directory")],
    id_column: IdOpt = None,
    good_label: GoodOpt = None,
    folds: Annotated[int, typer.Option(help="交叉验证折数 / CV folds")] = 5,
    repeats: Annotated[int, typer.Option(help="交叉验证重复次数 / CV repeats")] = 3,
    seed: int = 42,
    pdo: Annotated[float, typer.Option(help="翻倍比分 / points to double the odds")] = 20.0,
    base_score: Annotated[float, typer.Option(help="基准分 / score at base odds")] = 600.0,
    base_odds: Annotated[float, typer.Option(help="基准好坏比 / base odds good:bad")] = 50.0,
    calibration: Annotated[str, typer.Option(help="platt | isotonic | none")] = "platt",
    selection: Annotated[str, typer.Option(help="one_se | max_auc")] = "one_se",
    n_estimators: Annotated[int, typer.Option(help="LightGBM 树数 / trees")] = 300,
    exclude: Annotated[
        list[str] | None, typer.Option("--exclude", help="不作为特征的列 / column to leave out")
    ] = None,
    candidate: CandidateOpt = None,
    min_gain: MinGainOpt = 0.0,
    overwrite: Annotated[bool, typer.Option(help="覆盖已有目录 / replace existing")] = False,
) -> None:
    """训练模型 / Train a PD model on a CSV and write the artifact directory."""
    from mobilend.risk.model.artifact import save_model
    from mobilend.risk.model.features import (
        FeatureValueError,
        TargetError,
        file_sha256,
        read_csv_frame,
    )
    from mobilend.risk.model.training import train_model

    try:
        config = _config(
            folds,
            repeats,
            seed,
            pdo,
            base_score,
            base_odds,
            calibration,
            selection,
            n_estimators,
            exclude,
            candidate,
            min_gain,
        )
        trained = train_model(
            read_csv_frame(data),
            target=target,
            id_column=id_column,
            good_label=good_label,
            config=config,
            data_sha256=file_sha256(data),
            progress=lambda message: err_console.print(f"[dim]{message}[/dim]"),
        )
        path = save_model(trained, out, overwrite=overwrite)
    except (FeatureValueError, TargetError, FileExistsError, ValueError) as exc:
        raise _fail(exc) from exc
    table = Table(title="交叉验证 / cross-validation (AUC)")
    table.add_column("candidate")
    table.add_column("mean")
    table.add_column("std")
    for kind, cv in trained.cv.items():
        table.add_row(kind.value, f"{cv.mean_auc:.4f}", f"{cv.std_auc:.4f}")
    console.print(table)
    console.print(
        f"选用 / chosen: [bold]{trained.chosen.value}[/bold] — {trained.selection.explanation}"
    )
    console.print(f"模型已保存 / model written: {path}")


@model_app.command("score")
def score(
    model: ModelOpt,
    data: DataOpt,
    out: Annotated[Path, typer.Option("--out", help="输出 CSV / output CSV")],
    id_column: IdOpt = None,
    reasons: Annotated[
        bool, typer.Option("--reasons/--no-reasons", help="输出原因码 / write reason codes")
    ] = True,
) -> None:
    """批量评分 / Score a CSV: writes id,pd,score,reason_1..reason_4."""
    from mobilend.risk.model.artifact import ModelArtifactError, load_model
    from mobilend.risk.model.features import FeatureValueError, read_csv_frame

    try:
        scoring = load_model(model)
        frame = read_csv_frame(data)
        if id_column is not None and id_column not in frame.columns:
            raise FeatureValueError(f"id column {id_column!r} not in data")
        scored = scoring.score_frame(frame, with_reasons=reasons)
    except (ModelArtifactError, FeatureValueError) as exc:
        raise _fail(exc) from exc
    ids = frame[id_column].to_numpy() if id_column else range(1, len(frame) + 1)
    scored.insert(0, "id", list(ids))
    for k in range(1, 5):  # the file format stays the same without reasons
        if f"reason_{k}" not in scored.columns:
            scored[f"reason_{k}"] = ""
    out.parent.mkdir(parents=True, exist_ok=True)
    scored.to_csv(out, index=False)
    console.print(f"已评分 {len(scored)} 行 / scored {len(scored)} rows → {out}")


@model_app.command("report")
def report(
    model: ModelOpt,
    data: DataOpt,
    target: TargetOpt,
    out: Annotated[Path, typer.Option("--out", help="输出 HTML / output HTML file")],
) -> None:
    """验证报告 / Write a self-contained HTML report (ROC, KS, calibration, distribution)."""
    from mobilend.risk.model.artifact import ModelArtifactError, load_model
    from mobilend.risk.model.features import FeatureValueError, TargetError, read_csv_frame
    from mobilend.risk.model.report import write_report

    try:
        path = write_report(load_model(model), read_csv_frame(data), target, out)
    except (ModelArtifactError, FeatureValueError, TargetError, ValueError) as exc:
        raise _fail(exc) from exc
    console.print(f"报告已生成 / report written: {path}")


@model_app.command("evaluate")
def evaluate(
    data: Annotated[
        Path | None, typer.Option("--data", help="CSV 文件 / CSV file", dir_okay=False)
    ] = None,
    target: Annotated[str | None, typer.Option("--target", help="目标列 / target column")] = None,
    dataset: Annotated[
        list[str] | None,
        typer.Option(
            "--dataset",
            help="内置数据集（可重复，all 为全部）/ shipped data set (repeatable, or all): "
            "german, credit_data, taiwan_sample, hmda_boston",
        ),
    ] = None,
    id_column: IdOpt = None,
    good_label: GoodOpt = None,
    split: Annotated[float, typer.Option(help="测试集比例 / test share")] = 0.3,
    seed: Annotated[
        list[int] | None, typer.Option("--seed", help="划分种子（可重复）/ split seed (repeatable)")
    ] = None,
    folds: int = 5,
    repeats: int = 3,
    candidate: CandidateOpt = None,
    min_gain: MinGainOpt = 0.0,
    json_out: Annotated[
        Path | None, typer.Option("--json-out", help="结果 JSON / write results as JSON")
    ] = None,
    markdown_out: Annotated[
        Path | None, typer.Option("--markdown-out", help="结果表 / write the results table")
    ] = None,
) -> None:
    """留出评估 / Hold-out test per split seed: the pipeline against each of its candidates."""
    from mobilend.risk.model.datasets import DATASETS, load_dataset
    from mobilend.risk.model.evaluation import evaluate_seeds, markdown_table
    from mobilend.risk.model.features import FeatureValueError, TargetError, read_csv_frame

    seeds = seed or [42]
    try:
        if (data is None) == (not dataset):
            raise ValueError("give either --data with --target, or --dataset")
        jobs: list[tuple[str, pd.DataFrame, str, str | None, str | None, tuple[str, ...]]] = []
        if data is not None:
            if target is None:
                raise ValueError("--data needs --target")
            if not data.is_file():
                raise ValueError(f"{data} is not a file")
            jobs.append((data.stem, read_csv_frame(data), target, id_column, good_label, ()))
        else:
            names = list(DATASETS) if "all" in (dataset or []) else list(dataset or [])
            for name in names:
                spec, frame = load_dataset(name)
                jobs.append(
                    (name, frame, spec.target, spec.id_column, spec.good_label, spec.exclude)
                )
        results = []
        for name, frame, column, ids, good, exclude in jobs:
            config = _config(
                folds,
                repeats,
                seeds[0],
                20.0,
                600.0,
                50.0,
                "platt",
                "one_se",
                300,
                list(exclude),
                candidate,
                min_gain,
            )
            result = evaluate_seeds(
                name,
                frame,
                column,
                seeds,
                id_column=ids,
                good_label=good,
                test_size=split,
                config=config,
                progress=lambda message: err_console.print(f"[dim]{message}[/dim]"),
                on_run=partial(_print_run, name),
            )
            results.append(result)
            _print_dataset(result)
    except (FeatureValueError, TargetError, ValueError, FileNotFoundError) as exc:
        raise _fail(exc) from exc
    if json_out is not None:
        payload = {"test_size": split, "datasets": [r.to_json() for r in results]}
        json_out.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    if markdown_out is not None:
        markdown_out.write_text(markdown_table(results), encoding="utf-8")


def _print_run(name: str, run: HoldoutEvaluation) -> None:
    err_console.print(
        f"{name} seed {run.seed}: {run.chosen_model} {run.pipeline.auc:.4f} ({run.seconds:.0f} s)"
    )


def _print_dataset(result: DatasetEvaluation) -> None:
    kinds = list(result.runs[0].candidate_auc)
    first = result.runs[0]
    table = Table(title=f"{result.name}: 测试集 AUC / test AUC ({first.n_test} test rows)")
    for column in ("seed", "chosen", "pipeline", *kinds, "gap"):
        table.add_column(column)
    for run in result.runs:
        table.add_row(
            str(run.seed),
            run.chosen_model,
            f"{run.pipeline.auc:.4f}",
            *(f"{run.candidate_auc[k]:.4f}" for k in kinds),
            f"{run.gap_to_best_single:+.4f}",
        )
    means = result.mean_candidate_auc
    table.add_row(
        "mean", "", f"{result.mean_pipeline_auc:.4f}", *(f"{means[k]:.4f}" for k in kinds), ""
    )
    console.print(table)
    console.print(
        f"与平均最佳单一候选模型之差 / gap to the best single candidate on average "
        f"({result.best_single_on_average}): {result.gap_to_best_single:+.4f}; "
        f"与每次划分最佳者之差的均值 / mean gap to each split's best: "
        f"{result.mean_gap_to_split_best:+.4f}"
    )
    for run in result.runs:
        console.print(f"[dim]seed {run.seed} 选择依据 / selection: {run.selection}[/dim]")


@model_app.command("ensure-default")
def ensure_default(
    model_dir: Annotated[
        Path | None,
        typer.Option(
            "--model-dir", help="缺省为服务所用模型目录 / default: the service's model dir"
        ),
    ] = None,
    data: Annotated[
        Path | None, typer.Option("--data", help="缺省 data/credit_data.csv / training CSV")
    ] = None,
) -> None:
    """默认模型 / Train the default model from data/credit_data.csv unless it already exists."""
    from mobilend.bootstrap.risk import risk_model_dir
    from mobilend.config import get_settings
    from mobilend.risk.model.artifact import ModelArtifactError
    from mobilend.risk.model.defaults import ensure_default_model

    try:
        path = ensure_default_model(
            model_dir or risk_model_dir(get_settings()),
            data,
            progress=lambda message: err_console.print(f"[dim]{message}[/dim]"),
        )
    except (ModelArtifactError, FileNotFoundError, ValueError) as exc:
        raise _fail(exc) from exc
    console.print(f"默认模型就绪 / default model ready: {path}")
