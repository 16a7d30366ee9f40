"""A self-contained HTML validation report for a model on a labelled data set.

Plotly's JavaScript is inlined once at the top of the page, so the file opens on a
machine with no network. Headings are Chinese first, English second.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mobilend.risk.model.metrics import binary_metrics
from mobilend.risk.model.scoring import ScoringModel

TOP_FEATURES = 15
CALIBRATION_BINS = 10


def _figures(y: np.ndarray, pds: np.ndarray, scores: np.ndarray, model: ScoringModel) -> list[Any]:
    import plotly.graph_objects as go
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(y, pds)
    roc = go.Figure()
    roc.add_trace(go.Scatter(x=fpr, y=tpr, mode="lines", name="model"))
    roc.add_trace(
        go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="random", line={"dash": "dash"})
    )
    roc.update_layout(
        title="ROC 曲线 / ROC curve",
        xaxis_title="误拒率 false positive rate",
        yaxis_title="命中率 true positive rate",
    )

    order = np.argsort(scores, kind="stable")
    sorted_scores, sorted_y = scores[order], y[order]
    cum_bad = np.cumsum(sorted_y) / max(sorted_y.sum(), 1)
    cum_good = np.cumsum(1 - sorted_y) / max((1 - sorted_y).sum(), 1)
    gap = cum_bad - cum_good
    at = int(np.argmax(gap))
    ks = go.Figure()
    ks.add_trace(go.Scatter(x=sorted_scores, y=cum_bad, mode="lines", name="坏客户 bad"))
    ks.add_trace(go.Scatter(x=sorted_scores, y=cum_good, mode="lines", name="好客户 good"))
    ks.add_trace(
        go.Scatter(
            x=[sorted_scores[at]] * 2,
            y=[cum_good[at], cum_bad[at]],
            mode="lines+markers",
            name=f"KS = {gap[at]:.3f}",
        )
    )
    ks.update_layout(
        title="KS 曲线 / KS chart",
        xaxis_title="评分 score",
        yaxis_title="累计占比 cumulative share",
    )

    bins = pd.qcut(pds, q=CALIBRATION_BINS, duplicates="drop")
    grouped = pd.DataFrame({"pd": pds, "y": y, "bin": bins}).groupby("bin", observed=True)
    predicted, observed = grouped["pd"].mean(), grouped["y"].mean()
    top = float(max(predicted.max(), observed.max()))
    calibration = go.Figure()
    calibration.add_trace(go.Scatter(x=predicted, y=observed, mode="lines+markers", name="model"))
    calibration.add_trace(
        go.Scatter(x=[0, top], y=[0, top], mode="lines", name="ideal", line={"dash": "dash"})
    )
    calibration.update_layout(
        title="校准图 / Calibration",
        xaxis_title="预测违约率 predicted PD",
        yaxis_title="实际坏账率 observed bad rate",
    )

    distribution = go.Figure()
    distribution.add_trace(go.Histogram(x=scores[y == 0], name="好客户 good", opacity=0.6))
    distribution.add_trace(go.Histogram(x=scores[y == 1], name="坏客户 bad", opacity=0.6))
    distribution.update_layout(
        barmode="overlay",
        title="评分分布 / Score distribution",
        xaxis_title="评分 score",
        yaxis_title="人数 count",
    )

    importance = model.manifest["feature_importance"]
    ranked = sorted(importance["values"].items(), key=lambda kv: kv[1], reverse=True)[:TOP_FEATURES]
    features = go.Figure(
        go.Bar(x=[v for _, v in ranked][::-1], y=[k for k, _ in ranked][::-1], orientation="h")
    )
    features.update_layout(
        title=f"主要特征 / Top features ({importance['measure']})", height=120 + 28 * len(ranked)
    )
    return [roc, ks, calibration, distribution, features]


def _table(rows: list[tuple[str, str]]) -> str:
    cells = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
    return f"<table>{cells}</table>"


def build_report(model: ScoringModel, frame: pd.DataFrame, target: str) -> str:
    """The report page as one HTML string."""
    if target not in frame.columns:
        raise ValueError(f"column {target!r} not in data")
    labelled = frame[frame[target].notna() & (frame[target].astype(str) != "")]
    y = model.labels.encode(labelled[target]).astype(int)
    scored = model.score_frame(labelled, with_reasons=False)
    pds, scores = scored["pd"].to_numpy(), scored["score"].to_numpy()
    metrics = binary_metrics(y, pds)
    manifest = model.manifest
    cv = manifest["cross_validation"]["candidates"]
    summary = _table(
        [
            ("模型版本 model version", model.version),
            ("模型类型 chosen model", manifest["chosen_model"]),
            ("选择依据 selection", manifest["selection"]["explanation"]),
            *[
                (f"交叉验证 AUC CV AUC ({k})", f"{v['auc_mean']:.4f} ± {v['auc_std']:.4f}")
                for k, v in cv.items()
            ],
            ("训练时间 trained at", manifest["created_at"]),
            ("训练数据 training data SHA-256", manifest["training_data"]["sha256"]),
            ("校准 calibration", manifest["calibration"]["method"]),
        ]
    )
    results = _table(
        [
            ("样本数 rows", str(metrics.n)),
            ("坏账率 bad rate", f"{metrics.bad_rate:.4f}"),
            ("AUC", f"{metrics.auc:.4f}"),
            ("KS", f"{metrics.ks:.4f}"),
            ("Gini", f"{metrics.gini:.4f}"),
            ("Brier", f"{metrics.brier:.4f}"),
            ("平均预测违约率 mean predicted PD", f"{float(np.mean(pds)):.4f}"),
            ("PSI（相对训练集）PSI vs training", f"{model.psi(scores):.4f}"),
        ]
    )
    figures = _figures(y, pds, scores, model)
    parts = [
        fig.to_html(full_html=False, include_plotlyjs=(i == 0), include_mathjax=False)
        for i, fig in enumerate(figures)
    ]
    style = (
        "body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;"
        "padding:4px 10px;text-align:left}th{background:#f4f4f4;font-weight:normal}"
    )
    return (
        "<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'>"
        f"<title>模型验证报告 / Model validation report</title><style>{style}</style></head><body>"
        "<h1>模型验证报告 / Model validation report</h1>"
        f"<h2>模型 / Model</h2>{summary}<h2>本数据集表现 / Results on this data</h2>{results}"
        + "".join(f"<div class='figure'>{part}</div>" for part in parts)
        + "</body></html>"
    )


def write_report(model: ScoringModel, frame: pd.DataFrame, target: str, out: str | Path) -> Path:
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(build_report(model, frame, target), encoding="utf-8")
    return path
