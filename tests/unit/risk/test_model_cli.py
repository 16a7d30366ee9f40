"""`mobilend model train/score/report/evaluate` on a small generated CSV."""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from mobilend.cli.main import app
from mobilend.risk.model.synthetic import synthetic_applications

FAST = ["--folds", "3", "--repeats", "1", "--n-estimators", "30"]
runner = CliRunner()


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("cli")
    frame = synthetic_applications(n=500, seed=21)
    data = root / "applications.csv"
    frame.to_csv(data, index=False)
    text = data.read_text()
    assert ",," in text  # empty cells are really in the file
    model = root / "model"
    result = runner.invoke(
        app,
        [
            "model",
            "train",
            "--data",
            str(data),
            "--target",
            "outcome",
            "--id-column",
            "app_id",
            "--out",
            str(model),
            *FAST,
        ],
    )
    assert result.exit_code == 0, result.output
    return {"root": root, "data": data, "model": model}


def test_train_writes_a_loadable_artifact(workspace):
    out = workspace["model"]
    assert {"manifest.json", "manifest.sha256", "pipeline.joblib"} <= {
        p.name for p in out.iterdir()
    }


def test_score_writes_ids_pd_score_and_four_reason_columns(workspace):
    pred = workspace["root"] / "pred.csv"
    result = runner.invoke(
        app,
        [
            "model",
            "score",
            "--model",
            str(workspace["model"]),
            "--data",
            str(workspace["data"]),
            "--id-column",
            "app_id",
            "--out",
            str(pred),
        ],
    )
    assert result.exit_code == 0, result.output
    with pred.open() as handle:
        header = next(csv.reader(handle))
    assert header == ["id", "pd", "score", "reason_1", "reason_2", "reason_3", "reason_4"]
    scored = pd.read_csv(pred, keep_default_na=False)
    source = pd.read_csv(workspace["data"])
    assert scored["id"].tolist() == source["app_id"].tolist()
    assert scored["pd"].between(0, 1, inclusive="neither").all()
    assert scored["score"].between(300, 900).all()
    reasons = scored[["reason_1", "reason_2", "reason_3", "reason_4"]]
    assert reasons.map(lambda c: c == "" or c.startswith("R_")).all().all()
    # Higher PD, lower score.
    ordered = scored.sort_values("pd")
    assert ordered["score"].is_monotonic_decreasing


def test_score_without_id_column_numbers_the_rows(workspace):
    data = workspace["root"] / "no_id.csv"
    pd.read_csv(workspace["data"]).drop(columns=["app_id", "outcome"]).head(7).to_csv(
        data, index=False
    )
    pred = workspace["root"] / "pred_no_id.csv"
    result = runner.invoke(
        app,
        [
            "model",
            "score",
            "--model",
            str(workspace["model"]),
            "--data",
            str(data),
            "--out",
            str(pred),
        ],
    )
    assert result.exit_code == 0, result.output
    assert pd.read_csv(pred)["id"].tolist() == [1, 2, 3, 4, 5, 6, 7]


def test_report_is_self_contained_html(workspace):
    report = workspace["root"] / "report.html"
    result = runner.invoke(
        app,
        [
            "model",
            "report",
            "--model",
            str(workspace["model"]),
            "--data",
            str(workspace["data"]),
            "--target",
            "outcome",
            "--out",
            str(report),
        ],
    )
    assert result.exit_code == 0, result.output
    page = report.read_text("utf-8")
    for title in ("ROC", "KS", "Calibration", "Score distribution", "Top features"):
        assert title in page
    assert "Plotly.newPlot" in page and len(page) > 1_000_000  # the library itself is inlined
    # Nothing is fetched: no script or stylesheet comes from elsewhere.
    assert re.search(r"<script[^>]*\bsrc=", page) is None
    assert re.search(r"<link[^>]*\bhref=", page) is None


def test_a_tampered_model_is_refused_with_a_clear_error(workspace, tmp_path):
    copy = Path(shutil.copytree(workspace["model"], tmp_path / "model"))
    manifest = copy / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"base_score": 600.0', '"base_score": 700.0'))
    result = runner.invoke(
        app,
        [
            "model",
            "score",
            "--model",
            str(copy),
            "--data",
            str(workspace["data"]),
            "--out",
            str(tmp_path / "p.csv"),
        ],
    )
    assert result.exit_code == 2
    assert "manifest.json" in result.output and "refusing" in result.output


def test_evaluate_compares_the_pipeline_with_every_candidate_per_seed(workspace, tmp_path):
    out = tmp_path / "eval.json"
    table = tmp_path / "eval.md"
    result = runner.invoke(
        app,
        [
            "model",
            "evaluate",
            "--data",
            str(workspace["data"]),
            "--target",
            "outcome",
            "--id-column",
            "app_id",
            "--split",
            "0.3",
            "--seed",
            "7",
            "--seed",
            "8",
            "--folds",
            "3",
            "--repeats",
            "1",
            "--candidate",
            "logistic",
            "--candidate",
            "lightgbm",
            "--candidate",
            "blend",
            "--json-out",
            str(out),
            "--markdown-out",
            str(table),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "gap to the best single candidate on average" in result.output
    (dataset,) = json.loads(out.read_text())["datasets"]
    assert dataset["name"] == "applications" and dataset["seeds"] == [7, 8]
    for run in dataset["runs"]:
        assert run["n_test"] == 150 and run["n_train"] == 350
        assert set(run["candidate_test_auc"]) == {"logistic", "lightgbm", "blend"}
        assert 0.5 < run["pipeline"]["auc"] <= 1 and 0 < run["pipeline"]["brier"] < 0.25
        # The deployed artifact ranks the test rows exactly as its candidate does.
        chosen = run["candidate_test_auc"][run["chosen_model"]]
        assert run["pipeline"]["auc"] == pytest.approx(chosen, abs=1e-12)
        singles = {k: v for k, v in run["candidate_test_auc"].items() if k != "blend"}
        assert run["gap_to_best_single"] == pytest.approx(
            run["pipeline"]["auc"] - max(singles.values())
        )
    summary = dataset["summary"]
    means = summary["mean_candidate_auc"]
    best = summary["best_single_on_average"]
    assert best != "blend" and means[best] == max(v for k, v in means.items() if k != "blend")
    assert summary["gap_to_best_single_on_average"] == pytest.approx(
        summary["mean_pipeline_auc"] - means[best]
    )
    lines = table.read_text().splitlines()
    assert lines[0].startswith("| data set | seed | chosen | pipeline | logistic |")
    assert len(lines) == 2 + 2 + 1  # header, rule, two seeds, mean


def test_evaluate_needs_data_or_a_known_dataset():
    result = runner.invoke(app, ["model", "evaluate", "--dataset", "nonesuch"])
    assert result.exit_code == 2 and "unknown data set" in result.output
    result = runner.invoke(app, ["model", "evaluate"])
    assert result.exit_code == 2 and "--dataset" in result.output


def test_train_refuses_a_target_with_three_labels(workspace, tmp_path):
    frame = pd.read_csv(workspace["data"])
    frame.loc[:5, "outcome"] = "unknown"
    data = tmp_path / "three.csv"
    frame.to_csv(data, index=False)
    result = runner.invoke(
        app,
        [
            "model",
            "train",
            "--data",
            str(data),
            "--target",
            "outcome",
            "--out",
            str(tmp_path / "m"),
            *FAST,
        ],
    )
    assert result.exit_code == 2
    assert "exactly two labels" in result.output


def test_ensure_default_keeps_a_valid_model_and_refuses_a_tampered_one(workspace, tmp_path):
    copy = Path(shutil.copytree(workspace["model"], tmp_path / "default"))
    before = (copy / "manifest.json").read_bytes()
    result = runner.invoke(app, ["model", "ensure-default", "--model-dir", str(copy)])
    assert result.exit_code == 0, result.output
    assert (copy / "manifest.json").read_bytes() == before
    (copy / "pipeline.joblib").write_bytes(b"\x00")
    result = runner.invoke(app, ["model", "ensure-default", "--model-dir", str(copy)])
    assert result.exit_code == 2 and "pipeline.joblib" in result.output
