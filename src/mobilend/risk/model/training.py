"""Train a PD model on any tabular data: compare candidates by cross-validation, keep one.

Candidates: a plain logistic regression on the standardised raw features, a WoE/logistic
scorecard, LightGBM with fixed settings, LightGBM tuned by early stopping on an inner
validation split, and a calibrated blend of those four. All are scored on the same
repeated stratified K-fold splits of the training data; ``selection.py`` keeps the
simplest candidate within one standard error of the best. Probabilities are calibrated on
the out-of-fold outputs of the chosen model, then the model is refitted on all rows.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from mobilend.risk.model.blend import (
    FittedBlend,
    FittedCandidate,
    cross_fitted_logits,
    fit_blend_weights,
)
from mobilend.risk.model.calibration import Calibration, CalibrationMethod, fit_calibration
from mobilend.risk.model.candidates import (
    BASE_KINDS,
    CandidateKind,
    FittedBase,
    LightGbmParams,
    LogisticParams,
    ScorecardParams,
    TunedLightGbmParams,
    fit_lightgbm,
    fit_logistic,
    fit_scorecard,
    fit_tuned_lightgbm,
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
from mobilend.risk.model.selection import (
    CandidateCv,
    Selection,
    SelectionRule,
    corrected_standard_error,
    select_candidate,
)

__all__ = [
    "CandidateCv",
    "Selection",
    "SelectionRule",
    "TrainedModel",
    "TrainingConfig",
    "corrected_standard_error",
    "train_model",
]

ALL_CANDIDATES = (*BASE_KINDS, CandidateKind.BLEND)


@dataclass(frozen=True, slots=True)
class TrainingConfig:
    folds: int = 5
    repeats: int = 3
    seed: int = 42
    # One LightGBM thread: on application-sized data, thread start-up and synchronisation
    # cost more than they save, the more so on a shared machine.
    n_jobs: int = 1
    selection: SelectionRule = SelectionRule.ONE_SE
    calibration: CalibrationMethod = CalibrationMethod.PLATT
    scaling: ScoreScaling = field(default_factory=ScoreScaling)
    logistic: LogisticParams = field(default_factory=LogisticParams)
    scorecard: ScorecardParams = field(default_factory=ScorecardParams)
    lightgbm: LightGbmParams = field(default_factory=LightGbmParams)
    lightgbm_tuned: TunedLightGbmParams = field(default_factory=TunedLightGbmParams)
    candidates: tuple[CandidateKind, ...] = ALL_CANDIDATES
    score_bins: int = 10
    exclude: tuple[str, ...] = ()
    min_gain: float = 0.0

    def __post_init__(self) -> None:
        if self.folds < 2 or self.repeats < 1:
            raise ValueError("need at least 2 folds and 1 repeat")
        if not self.base_candidates:
            raise ValueError("need at least one candidate model besides the blend")
        if CandidateKind.BLEND in self.candidates and len(self.base_candidates) < 2:
            raise ValueError("a blend needs at least two other candidates")
        if len(set(self.candidates)) != len(self.candidates):
            raise ValueError("a candidate is listed twice")
        if not 1 <= self.n_jobs <= 2:
            raise ValueError("n_jobs must be 1 or 2 on shared machines")

    @property
    def base_candidates(self) -> tuple[CandidateKind, ...]:
        return tuple(k for k in self.candidates if k is not CandidateKind.BLEND)

    @property
    def blend(self) -> bool:
        return CandidateKind.BLEND in self.candidates

    def to_json(self) -> dict[str, Any]:
        tuned = self.lightgbm_tuned
        return {
            "folds": self.folds,
            "repeats": self.repeats,
            "seed": self.seed,
            "selection": self.selection.value,
            "min_gain": self.min_gain,
            "calibration": self.calibration.value,
            "candidates": [c.value for c in self.candidates],
            "logistic": {"c": self.logistic.c},
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
            "lightgbm_tuned": {
                "learning_rate": tuned.learning_rate,
                "leaf_counts": list(tuned.leaf_counts),
                "min_data_in_leaf": tuned.min_data_in_leaf,
                "feature_fraction": tuned.feature_fraction,
                "bagging_fraction": tuned.bagging_fraction,
                "lambda_l2": tuned.lambda_l2,
                "max_rounds": tuned.max_rounds,
                "patience": tuned.patience,
                "valid_share": tuned.valid_share,
            },
            "exclude": list(self.exclude),
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
    # Every candidate refitted on all rows (only with ``keep_candidates``; else the chosen).
    refitted: dict[CandidateKind, FittedCandidate] = field(default_factory=dict)

    @property
    def chosen(self) -> CandidateKind:
        return self.fitted.kind


def _fit(
    kind: CandidateKind,
    frame: pd.DataFrame,
    y: np.ndarray,
    specs: list[FeatureSpec],
    config: TrainingConfig,
) -> FittedBase:
    if kind is CandidateKind.LOGISTIC:
        return fit_logistic(frame, y, specs, config.logistic, config.seed)
    if kind is CandidateKind.SCORECARD:
        return fit_scorecard(frame, y, specs, config.scorecard)
    if kind is CandidateKind.LIGHTGBM:
        return fit_lightgbm(frame, y, specs, config.lightgbm, config.seed, config.n_jobs)
    if kind is CandidateKind.LIGHTGBM_TUNED:
        return fit_tuned_lightgbm(
            frame, y, specs, config.lightgbm_tuned, config.seed, config.n_jobs
        )
    raise ValueError(f"{kind.value} is not a single model")


def _select(
    cv: dict[CandidateKind, CandidateCv], rule: SelectionRule, folds: int, min_gain: float
) -> Selection:
    return select_candidate(cv, rule, folds, min_gain)


@dataclass
class _CvRun:
    """Out-of-fold log-odds per candidate and repeat, and each row's fold per repeat."""

    oof: dict[CandidateKind, np.ndarray]  # repeats × rows
    fold_of_row: np.ndarray  # repeats × rows
    splits: list[tuple[int, np.ndarray]]  # (repeat, validation rows) per fold, in order
    fold_aucs: dict[CandidateKind, list[float]]
    seconds: dict[CandidateKind, float]


def _cross_validate(
    labelled: pd.DataFrame,
    y: np.ndarray,
    specs: list[FeatureSpec],
    config: TrainingConfig,
    say: Callable[[str], None],
) -> _CvRun:
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import RepeatedStratifiedKFold

    splitter = RepeatedStratifiedKFold(
        n_splits=config.folds, n_repeats=config.repeats, random_state=config.seed
    )
    kinds = config.base_candidates
    run = _CvRun(
        oof={k: np.zeros((config.repeats, y.size)) for k in kinds},
        fold_of_row=np.zeros((config.repeats, y.size), dtype=int),
        splits=[],
        fold_aucs={k: [] for k in config.candidates},
        seconds=dict.fromkeys(config.candidates, 0.0),
    )
    for fold, (train_idx, valid_idx) in enumerate(splitter.split(labelled, y)):
        repeat = fold // config.folds
        run.fold_of_row[repeat, valid_idx] = fold % config.folds
        run.splits.append((repeat, valid_idx))
        train_part, valid_part = labelled.iloc[train_idx], labelled.iloc[valid_idx]
        for kind in kinds:
            start = time.perf_counter()
            logits = _fit(kind, train_part, y[train_idx], specs, config).raw_logits(valid_part)
            run.seconds[kind] += time.perf_counter() - start
            run.oof[kind][repeat, valid_idx] = logits
            run.fold_aucs[kind].append(float(roc_auc_score(y[valid_idx], logits)))
        say(f"fold {fold + 1}/{config.folds * config.repeats} done")
    if config.blend:
        start = time.perf_counter()
        blended = np.zeros((config.repeats, y.size))
        for repeat in range(config.repeats):
            members = np.column_stack([run.oof[k][repeat] for k in kinds])
            blended[repeat] = cross_fitted_logits(members, y, run.fold_of_row[repeat], kinds)
        run.oof[CandidateKind.BLEND] = blended
        for repeat, valid_idx in run.splits:
            auc = roc_auc_score(y[valid_idx], blended[repeat, valid_idx])
            run.fold_aucs[CandidateKind.BLEND].append(float(auc))
        run.seconds[CandidateKind.BLEND] = time.perf_counter() - start
    return run


def _refit(
    kinds: tuple[CandidateKind, ...],
    labelled: pd.DataFrame,
    y: np.ndarray,
    specs: list[FeatureSpec],
    config: TrainingConfig,
    run: _CvRun,
) -> dict[CandidateKind, FittedCandidate]:
    blend = CandidateKind.BLEND in kinds
    base = [k for k in config.base_candidates if blend or k in kinds]
    out: dict[CandidateKind, FittedCandidate] = {
        k: _fit(k, labelled, y, specs, config) for k in base
    }
    if blend:
        members = config.base_candidates
        # Each repeat's out-of-fold rows stacked: log-odds on the scale of one model.
        stacked = np.vstack(
            [np.column_stack([run.oof[k][r] for k in members]) for r in range(config.repeats)]
        )
        weights = fit_blend_weights(stacked, np.tile(y, config.repeats), members)
        fitted_members = [m for k in members if not isinstance(m := out[k], FittedBlend)]
        out[CandidateKind.BLEND] = FittedBlend(list(specs), fitted_members, weights)
    return out


def train_model(
    frame: pd.DataFrame,
    target: str,
    id_column: str | None = None,
    good_label: str | None = None,
    config: TrainingConfig | None = None,
    data_sha256: str | None = None,
    created_at: datetime | None = None,
    progress: Callable[[str], None] | None = None,
    keep_candidates: bool = False,
) -> TrainedModel:
    """Fit, compare and calibrate on ``frame``; the result is saved with ``save_model``.

    ``keep_candidates`` refits every candidate on all rows (``TrainedModel.refitted``),
    for comparisons such as the hold-out evaluation; otherwise only the chosen one.
    """
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

    from sklearn.metrics import roc_auc_score

    run = _cross_validate(labelled, y, specs, config, say)

    oof = {k: run.oof[k].mean(axis=0) for k in config.candidates}
    cv = {
        k: CandidateCv(k, tuple(run.fold_aucs[k]), float(roc_auc_score(y, oof[k])), run.seconds[k])
        for k in config.candidates
    }
    selection = select_candidate(cv, config.selection, config.folds, config.min_gain)
    say(selection.explanation)

    chosen_oof = oof[selection.chosen]
    calibration = fit_calibration(chosen_oof, y, config.calibration)
    oof_raw = binary_metrics(y, 1.0 / (1.0 + np.exp(-chosen_oof)))
    oof_calibrated = binary_metrics(y, calibration.pds(chosen_oof))

    refit_kinds = config.candidates if keep_candidates else (selection.chosen,)
    refitted = _refit(refit_kinds, labelled, y, specs, config, run)
    final = refitted[selection.chosen]
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
        importance=final.importance(),
        reason_map=build_reason_map(names),
        training_rows=int(y.size),
        training_bad_rate=float(y.mean()),
        rows_without_target=rows_without_target,
        data_sha256=data_sha256 or frame_sha256(frame),
        config=config,
        created_at=created_at or datetime.now(UTC),
        refitted=refitted,
    )
