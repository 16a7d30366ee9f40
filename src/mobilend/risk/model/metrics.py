"""Discrimination and calibration measures used in training, evaluation and reports."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class BinaryMetrics:
    """AUC, KS (max gap between the bad and good cumulative distributions), Brier, Gini."""

    auc: float
    ks: float
    brier: float
    gini: float
    n: int
    bad_rate: float

    def to_json(self) -> dict[str, float | int]:
        return asdict(self)


def ks_statistic(y: np.ndarray, pd: np.ndarray) -> float:
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(y, pd)
    return float(np.max(tpr - fpr))


def binary_metrics(y: np.ndarray, pd: np.ndarray) -> BinaryMetrics:
    """Metrics of predicted probabilities of bad ``pd`` against outcomes ``y`` (1 = bad)."""
    from sklearn.metrics import brier_score_loss, roc_auc_score

    y = np.asarray(y, dtype=int)
    pd = np.asarray(pd, dtype=float)
    auc = float(roc_auc_score(y, pd))
    return BinaryMetrics(
        auc=auc,
        ks=ks_statistic(y, pd),
        brier=float(brier_score_loss(y, pd)),
        gini=2.0 * auc - 1.0,
        n=int(y.size),
        bad_rate=float(y.mean()),
    )
