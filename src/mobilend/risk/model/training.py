"""Train a PD model on any tabular data: compare candidates by cross-validation, keep one.

Selection uses the training data only (repeated stratified K-fold AUC). The scorecard is
the transparent, explainable choice, so under the default rule LightGBM replaces it only
when its mean paired per-fold AUC gain is both material (``min_gain``, 0.01 AUC = 2 Gini
points) and larger than one standard error of the gains. That standard error carries the
Nadeau–Bengio correction: folds of repeated cross-validation share most of their training
rows, so the naive s/√J understates the uncertainty. Probabilities are calibrated on the
out-of-fold outputs of the chosen model, then the model is refitted on all rows.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

from mobilend.risk.model.calibration import Calibration, CalibrationMethod, fit_calibration
from mobilend.risk.model.candidates import (
    CandidateKind,
    FittedCandidate,
    FittedLightGbm,
    FittedScorecard,
    LightGbmParams,
    ScorecardParams,
    fit_lightgbm,
    fit_scorecard,
)
from mobilend.risk.model.features import (
    DroppedColumn,
    FeatureSpec,
    TargetError,
    TargetLabels,
    frame_sha256,
    infer_feature_specs,
    resolve_target_labels,
)
from mobilend.risk.model.metrics import BinaryMetrics, binary_metrics
from mobilend.risk.model.reasons import ReasonText, build_reason_map
from mobilend.risk.model.scaling import ScoreBins, ScoreScaling, score_bins_from_scores


class SelectionRule(StrEnum):
    ONE_SE = "one_se"
    MAX_AUC = "max_auc"


@dataclass(frozen=True, slots=True)
class TrainingConfig:
    folds: int = 5
    repeats: int = 3
    seed: int = 42
    n_jobs: int = 2
    selection: SelectionRule = SelectionRule.ONE_SE
    calibration: CalibrationMethod = CalibrationMethod.PLATT
    scaling: ScoreScaling = field(default_factory=ScoreScaling)
    scorecard: ScorecardParams = field(default_factory=ScorecardParams)
    lightgbm: LightGbmParams = field(default_factory=LightGbmParams)
    candidates: tuple[CandidateKind, ...] = (CandidateKind.SCORECARD, CandidateKind.LIGHTGBM)
    score_bins: int = 10
    exclude: tuple[str, ...] = ()
    min_gain: float = 0.01

    def __post_init__(self) -> None:
        if self.folds < 2 or self.repeats < 1:
            raise ValueError("need at least 2 folds and 1 repeat")
        if not self.candidates:
            raise ValueError("need at least one candidate model")
        if not 1 <= self.n_jobs <= 2:
            raise ValueError("n_jobs must be 1 or 2 on shared machines")

    def to_json(self) -> dict[str, Any]:
        return {
            "folds": self.folds,
            "repeats": self.repeats,
            "seed": self.seed,
            "selection": self.selection.value,
            "min_gain": self.min_gain,
            "calibration": self.calibration.value,
            "candidates": [c.value for c in self.candidates],
            "scorecard": {
                "c": self.scorecard.c,
                "max_n_prebins": self.scorecard.max_n_prebins,
                "min_prebin_size": self.scorecard.min_prebin_size,
                "max_n_bins": self.scorecard.max_n_bins,
                "min_iv": self.scorecard.min_iv,
            },
            "lightgbm": {
                k: v
                for k, v in self.lightgbm.booster_params(self.seed, self.n_jobs).items()
                if k not in {"verbose", "num_threads"}
            }
            | {"n_estimators": self.lightgbm.n_estimators},
            "exclude": list(self.exclude),
        }


@dataclass(frozen=True, slots=True)
class CandidateCv:
    """Cross-validated AUC of one candidate: per fold, and of the pooled out-of-fold outputs."""

    kind: CandidateKind
    fold_aucs: tuple[float, ...]
    oof_auc: float
    seconds: float

    @property
    def mean_auc(self) -> float:
        return float(np.mean(self.fold_aucs))

    @property
    def std_auc(self) -> float:
        return float(np.std(self.fold_aucs, ddof=1)) if len(self.fold_aucs) > 1 else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "auc_mean": self.mean_auc,
            "auc_std": self.std_auc,
            "auc_out_of_fold": self.oof_auc,
            "fold_aucs": list(self.fold_aucs),
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True, slots=True)
class Selection:
    rule: SelectionRule
    chosen: CandidateKind
    gain: float
    gain_se: float
    explanation: str

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule.value,
            "chosen": self.chosen.value,
            "lightgbm_gain_auc": self.gain,
            "gain_standard_error": self.gain_se,
            "explanation": self.explanation,
        }


@dataclass
class TrainedModel:
    """Everything a model artifact holds, before it is written to disk."""

    fitted: FittedCandidate
    specs: list[FeatureSpec]
    dropped: list[DroppedColumn]
    target: str
    id_column: str | None
    labels: TargetLabels
    calibration: Calibration
    scaling: ScoreScaling
    cv: dict[CandidateKind, CandidateCv]
    selection: Selection
    oof_raw: BinaryMetrics
    oof_calibrated: BinaryMetrics
    score_bins: ScoreBins
    importance: dict[str, float]
    reason_map: dict[str, ReasonText]
    training_rows: int
    training_bad_rate: float
    rows_without_target: int
    data_sha256: str
    config: TrainingConfig
    created_at: datetime

    @property
    def chosen(self) -> CandidateKind:
        return self.fitted.kind


def _fit(
    kind: CandidateKind,
    frame: pd.DataFrame,
    y: np.ndarray,
    specs: list[FeatureSpec],
    config: TrainingConfig,
) -> FittedCandidate:
    if kind is CandidateKind.SCORECARD:
        return fit_scorecard(frame, y, specs, config.scorecard)
    return fit_lightgbm(frame, y, specs, config.lightgbm, config.seed, config.n_jobs)


def corrected_standard_error(differences: np.ndarray, folds: int) -> float:
    """Nadeau–Bengio standard error of a mean over repeated K-fold differences.

    Var = (1/J + n_valid/n_train) · s², with J the number of folds in all repeats and
    n_valid/n_train = 1/(K − 1).
    """
    if differences.size < 2:
        return 0.0
    variance = float(np.var(differences, ddof=1))
    return math.sqrt((1.0 / differences.size + 1.0 / (folds - 1)) * variance)


def _select(
    cv: dict[CandidateKind, CandidateCv], rule: SelectionRule, folds: int, min_gain: float
) -> Selection:
    if len(cv) == 1:
        (kind,) = cv
        return Selection(rule, kind, 0.0, 0.0, f"only candidate: {kind.value}")
    sc, gb = cv[CandidateKind.SCORECARD], cv[CandidateKind.LIGHTGBM]
    gains = np.asarray(gb.fold_aucs) - np.asarray(sc.fold_aucs)
    gain = float(gains.mean())
    se = corrected_standard_error(gains, folds)
    if rule is SelectionRule.MAX_AUC:
        chosen = CandidateKind.LIGHTGBM if gain > 0 else CandidateKind.SCORECARD
        why = f"higher mean CV AUC (LightGBM gain {gain:+.4f})"
        return Selection(rule, chosen, gain, se, why)
    bar = max(min_gain, se)
    if gain > bar:
        chosen = CandidateKind.LIGHTGBM
        why = f"LightGBM gain {gain:+.4f} AUC exceeds both {min_gain:.4f} and one SE ({se:.4f})"
    else:
        chosen = CandidateKind.SCORECARD
        why = (
            f"LightGBM gain {gain:+.4f} AUC does not exceed max(min gain {min_gain:.4f}, "
            f"one SE {se:.4f}); the scorecard is kept"
        )
    return Selection(rule, chosen, gain, se, why)


def _importance(fitted: FittedCandidate) -> dict[str, float]:
    if isinstance(fitted, FittedScorecard):
        return fitted.information_values()
    assert isinstance(fitted, FittedLightGbm)
    return fitted.gain_importance()


def train_model(
    frame: pd.DataFrame,
    target: str,
    id_column: str | None = None,
    good_label: str | None = None,
    config: TrainingConfig | None = None,
    data_sha256: str | None = None,
    created_at: datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> TrainedModel:
    """Fit, compare and calibrate on ``frame``; the result is saved with ``save_model``."""
    config = config or TrainingConfig()
    say = progress or (lambda _message: None)
    for column in (target, id_column):
        if column is not None and column not in frame.columns:
            raise TargetError(f"column {column!r} not in data (columns: {list(frame.columns)})")
    labelled = frame[frame[target].notna() & (frame[target].astype(str) != "")]
    rows_without_target = len(frame) - len(labelled)
    labelled = labelled.reset_index(drop=True)
    labels = resolve_target_labels(labelled[target], good_label)
    y = labels.encode(labelled[target]).astype(int)
    n_bad = int(y.sum())
    if min(n_bad, y.size - n_bad) < config.folds * 2:
        raise TargetError(
            f"too few goods or bads ({y.size - n_bad}/{n_bad}) for {config.folds} folds"
        )
    exclude = {target, *config.exclude} | ({id_column} if id_column else set())
    specs, dropped = infer_feature_specs(labelled, exclude=exclude)
    say(f"{len(labelled)} rows, bad rate {y.mean():.3f}, {len(specs)} features")

    from sklearn.model_selection import RepeatedStratifiedKFold

    splitter = RepeatedStratifiedKFold(
        n_splits=config.folds, n_repeats=config.repeats, random_state=config.seed
    )
    fold_aucs: dict[CandidateKind, list[float]] = {k: [] for k in config.candidates}
    oof_sum = {k: np.zeros(y.size) for k in config.candidates}
    seconds = dict.fromkeys(config.candidates, 0.0)
    from sklearn.metrics import roc_auc_score

    for fold, (train_idx, valid_idx) in enumerate(splitter.split(labelled, y)):
        train_part, valid_part = labelled.iloc[train_idx], labelled.iloc[valid_idx]
        for kind in config.candidates:
            start = time.perf_counter()
            fitted = _fit(kind, train_part, y[train_idx], specs, config)
            logits = fitted.raw_logits(valid_part)
            seconds[kind] += time.perf_counter() - start
            oof_sum[kind][valid_idx] += logits
            fold_aucs[kind].append(float(roc_auc_score(y[valid_idx], logits)))
        say(f"fold {fold + 1}/{config.folds * config.repeats} done")
    oof = {k: oof_sum[k] / config.repeats for k in config.candidates}
    cv = {
        k: CandidateCv(k, tuple(fold_aucs[k]), float(roc_auc_score(y, oof[k])), seconds[k])
        for k in config.candidates
    }
    selection = _select(cv, config.selection, config.folds, config.min_gain)
    say(selection.explanation)

    chosen_oof = oof[selection.chosen]
    calibration = fit_calibration(chosen_oof, y, config.calibration)
    oof_raw = binary_metrics(y, 1.0 / (1.0 + np.exp(-chosen_oof)))
    oof_calibrated = binary_metrics(y, calibration.pds(chosen_oof))

    final = _fit(selection.chosen, labelled, y, specs, config)
    train_scores = config.scaling.scores(calibration.pds(final.raw_logits(labelled)))
    names = [spec.name for spec in specs]
    return TrainedModel(
        fitted=final,
        specs=specs,
        dropped=dropped,
        target=target,
        id_column=id_column,
        labels=labels,
        calibration=calibration,
        scaling=config.scaling,
        cv=cv,
        selection=selection,
        oof_raw=oof_raw,
        oof_calibrated=oof_calibrated,
        score_bins=score_bins_from_scores(train_scores, config.score_bins),
        importance=_importance(final),
        reason_map=build_reason_map(names),
        training_rows=int(y.size),
        training_bad_rate=float(y.mean()),
        rows_without_target=rows_without_target,
        data_sha256=data_sha256 or frame_sha256(frame),
        config=config,
        created_at=created_at or datetime.now(UTC),
    )
