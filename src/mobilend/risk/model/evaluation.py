"""Hold-out evaluation: the full pipeline against a plain logistic regression.

One fixed stratified split; both are fitted on the same training part and measured on
the same test part. The pipeline goes through the real artifact (save, verify, load), so
the figures describe what would be deployed.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mobilend.risk.model.artifact import load_model, save_model
from mobilend.risk.model.features import (
    FeatureKind,
    FeatureSpec,
    frame_sha256,
    model_frame,
    resolve_target_labels,
)
from mobilend.risk.model.metrics import BinaryMetrics, binary_metrics
from mobilend.risk.model.training import TrainingConfig, train_model


@dataclass(frozen=True, slots=True)
class HoldoutEvaluation:
    pipeline: BinaryMetrics
    baseline: BinaryMetrics
    chosen_model: str
    selection: str
    cv_auc: dict[str, float]
    n_train: int
    n_test: int
    test_size: float
    seed: int
    test_psi: float

    def to_json(self) -> dict[str, Any]:
        return {
            "pipeline": self.pipeline.to_json(),
            "baseline_logistic": self.baseline.to_json(),
            "chosen_model": self.chosen_model,
            "selection": self.selection,
            "cv_auc": self.cv_auc,
            "n_train": self.n_train,
            "n_test": self.n_test,
            "test_size": self.test_size,
            "seed": self.seed,
            "test_psi": self.test_psi,
        }


def fit_baseline_logistic(
    frame: pd.DataFrame, y: np.ndarray, specs: list[FeatureSpec], seed: int
) -> Callable[[pd.DataFrame], np.ndarray]:
    """One-hot + standardise + logistic regression, library defaults; returns a PD predictor."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = [s.name for s in specs if s.kind is FeatureKind.NUMERIC]
    categorical = [s.name for s in specs if s.kind is FeatureKind.CATEGORICAL]
    columns = ColumnTransformer(
        [
            ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
            (
                "categorical",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value="(missing)"),
                    OneHotEncoder(handle_unknown="ignore"),
                ),
                categorical,
            ),
        ]
    )
    model = make_pipeline(columns, LogisticRegression(max_iter=5000, random_state=seed))
    model.fit(model_frame(frame, specs), y)
    return lambda data: model.predict_proba(model_frame(data, specs))[:, 1]


def evaluate_holdout(
    frame: pd.DataFrame,
    target: str,
    id_column: str | None = None,
    good_label: str | None = None,
    test_size: float = 0.3,
    seed: int = 42,
    config: TrainingConfig | None = None,
    progress: Callable[[str], None] | None = None,
) -> HoldoutEvaluation:
    from sklearn.model_selection import train_test_split

    labelled = frame[frame[target].notna() & (frame[target].astype(str) != "")]
    labelled = labelled.reset_index(drop=True)
    labels = resolve_target_labels(labelled[target], good_label)
    y = labels.encode(labelled[target]).astype(int)
    train_part, test_part, y_train, y_test = train_test_split(
        labelled, y, test_size=test_size, stratify=y, random_state=seed
    )
    trained = train_model(
        train_part,
        target,
        id_column,
        good_label=labels.good,
        config=config,
        data_sha256=frame_sha256(train_part),
        progress=progress,
    )
    with tempfile.TemporaryDirectory(prefix="mobilend-eval-") as tmp:
        save_model(trained, f"{tmp}/model")
        model = load_model(f"{tmp}/model")
        scored = model.score_frame(test_part, with_reasons=False)
    pipeline_pd = scored["pd"].to_numpy()
    baseline = fit_baseline_logistic(train_part, y_train, trained.specs, seed)
    return HoldoutEvaluation(
        pipeline=binary_metrics(y_test, pipeline_pd),
        baseline=binary_metrics(y_test, baseline(test_part)),
        chosen_model=trained.chosen.value,
        selection=trained.selection.explanation,
        cv_auc={k.value: cv.mean_auc for k, cv in trained.cv.items()},
        n_train=len(train_part),
        n_test=len(test_part),
        test_size=test_size,
        seed=seed,
        test_psi=model.psi(scored["score"].to_numpy()),
    )
