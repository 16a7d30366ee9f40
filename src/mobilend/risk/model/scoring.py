"""Scoring with a loaded model: one application online, or a whole file in batch.

Online scoring (``score_one``) never builds a DataFrame: the feature dict becomes one
numpy row through lookup maps built at load time, then the regression or scorecard tables
(arithmetic, bin search, lookups) or ``Booster.predict`` on a 1×n array; a blend sums its
members' log-odds with its weights. Batch scoring goes through the fitted library
pipeline with pandas; tests hold the two paths equal.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mobilend.risk.model.blend import FittedCandidate
from mobilend.risk.model.calibration import Calibration, CalibrationMethod
from mobilend.risk.model.candidates import CandidateKind
from mobilend.risk.model.features import (
    UNKNOWN_CATEGORY_CODE,
    FeatureKind,
    FeatureSpec,
    RowEncoder,
    TargetLabels,
)
from mobilend.risk.model.linear import LogisticEngine
from mobilend.risk.model.reasons import (
    MAX_REASONS,
    ReasonCode,
    ReasonText,
    top_reason_codes,
    top_reasons,
)
from mobilend.risk.model.scaling import ScoreBins, ScoreScaling, population_stability_index


@dataclass(frozen=True, slots=True)
class ScoreResult:
    """A probability of default (a plain probability, never money), its score, and why."""

    pd: float
    score: int
    reasons: list[ReasonCode]

    def to_json(self) -> dict[str, Any]:
        return {
            "pd": self.pd,
            "score": self.score,
            "reasons": [r.to_json() for r in self.reasons],
        }


class ScorecardEngine:
    """The scorecard as per-feature point tables (log-odds of bad) built from its WoE tables."""

    def __init__(self, tables: Mapping[str, Any], specs: Sequence[FeatureSpec]) -> None:
        self.intercept = float(tables["intercept"])
        entries = {entry["name"]: entry for entry in tables["features"]}
        if set(entries) != {spec.name for spec in specs}:
            raise ValueError("scorecard tables do not match the manifest features")
        self._numeric: list[bool] = []
        self._splits: list[list[float]] = []
        self._bin_points: list[list[float]] = []
        self._missing_points: list[float] = []
        self._unknown_points: list[float] = []
        best: list[float] = []
        for spec in specs:
            entry = entries[spec.name]
            coef = float(entry["coef"])
            points = [coef * float(w) for w in entry["woe"]]
            numeric = spec.kind is FeatureKind.NUMERIC
            expected_bins = len(entry["splits"]) + 1 if numeric else len(spec.categories)
            if len(points) != expected_bins:
                raise ValueError(f"scorecard table for {spec.name} has the wrong number of bins")
            self._numeric.append(numeric)
            self._splits.append([float(s) for s in entry.get("splits", ())])
            self._bin_points.append(points)
            self._missing_points.append(coef * float(entry["woe_missing"]))
            self._unknown_points.append(coef * float(entry.get("woe_unknown", 0.0)))
            best.append(min(points))
        # "Best bin" reasons: points lost against the most favourable bin of each feature.
        self.best_points = np.asarray(best)

    def terms(self, row: np.ndarray) -> np.ndarray:
        out = np.empty(len(self._bin_points))
        for j, value in enumerate(row.tolist()):
            if math.isnan(value):
                out[j] = self._missing_points[j]
            elif self._numeric[j]:
                out[j] = self._bin_points[j][bisect_right(self._splits[j], value)]
            elif value == UNKNOWN_CATEGORY_CODE:
                out[j] = self._unknown_points[j]
            else:
                out[j] = self._bin_points[j][int(value)]
        return out

    def logit(self, row: np.ndarray) -> float:
        return self.intercept + float(self.terms(row).sum())

    def logit_and_adverse(self, row: np.ndarray) -> tuple[float, np.ndarray]:
        terms = self.terms(row)
        return self.intercept + float(terms.sum()), terms - self.best_points


class LightGbmEngine:
    """Booster.predict on a single 2-D row; SHAP contributions give the reasons.

    One thread per call: for one row, waking a thread pool costs more than it saves and
    makes the tail latency depend on what else the machine is doing. Unseen categories
    are given to the booster as missing, as in training.
    """

    def __init__(self, booster: Any, specs: Sequence[FeatureSpec]) -> None:
        self.booster = booster
        self._categorical = [j for j, s in enumerate(specs) if s.kind is FeatureKind.CATEGORICAL]

    def _row(self, row: np.ndarray) -> np.ndarray:
        out = row.reshape(1, -1)
        if any(row[j] == UNKNOWN_CATEGORY_CODE for j in self._categorical):
            out = out.copy()
            for j in self._categorical:
                if out[0, j] == UNKNOWN_CATEGORY_CODE:
                    out[0, j] = math.nan
        return out

    def logit(self, row: np.ndarray) -> float:
        return float(self.booster.predict(self._row(row), raw_score=True, num_threads=1)[0])

    def logit_and_adverse(self, row: np.ndarray) -> tuple[float, np.ndarray]:
        contrib = self.booster.predict(self._row(row), pred_contrib=True, num_threads=1)[0]
        return float(contrib.sum()), contrib[:-1]


class BlendEngine:
    """Weighted sum of the members' log-odds and adverse contributions."""

    def __init__(self, intercept: float, members: Sequence[tuple[float, Engine]]) -> None:
        self.intercept = float(intercept)
        self.members = [(float(w), engine) for w, engine in members]

    def logit(self, row: np.ndarray) -> float:
        return self.intercept + sum(w * engine.logit(row) for w, engine in self.members)

    def logit_and_adverse(self, row: np.ndarray) -> tuple[float, np.ndarray]:
        logit = self.intercept
        adverse = np.zeros(row.size)
        for weight, engine in self.members:
            member_logit, member_adverse = engine.logit_and_adverse(row)
            logit += weight * member_logit
            if weight > 0:
                adverse += weight * member_adverse
        return logit, adverse


Engine = ScorecardEngine | LightGbmEngine | LogisticEngine | BlendEngine


class ScoringModel:
    """A verified model artifact, ready to score. Built by ``load_model``."""

    def __init__(
        self,
        *,
        path: Path,
        version: str,
        manifest: Mapping[str, Any],
        engine: Engine,
        pipeline_loader: Callable[[], FittedCandidate],
    ) -> None:
        self.path = path
        self.version = version
        self.manifest = manifest
        self.kind = CandidateKind(manifest["chosen_model"])
        self.specs = [FeatureSpec.from_json(f) for f in manifest["features"]]
        self.labels = TargetLabels(**manifest["target"]["labels"])
        self.calibration = Calibration.from_json(manifest["calibration"])
        self.scaling = ScoreScaling.from_json(manifest["scaling"])
        self.score_bins = ScoreBins.from_json(manifest["score_bins"])
        reason_map = {r["feature"]: ReasonText.from_json(r) for r in manifest["reason_codes"]}
        self.reason_texts = [reason_map[spec.name] for spec in self.specs]
        self.encoder = RowEncoder(self.specs)
        self._engine = engine
        self._pipeline_loader = pipeline_loader
        self._pipeline: FittedCandidate | None = None
        # Score points per unit of model log-odds: Platt rescales the log-odds linearly.
        slope = self.calibration.slope if self.calibration.method is CalibrationMethod.PLATT else 1
        self.points_per_logit = self.scaling.factor * slope

    @property
    def feature_names(self) -> list[str]:
        return [spec.name for spec in self.specs]

    def score_one(self, features: Mapping[str, Any], with_reasons: bool = True) -> ScoreResult:
        """Score one application given as {feature name: value}; absent keys are missing."""
        row = self.encoder.encode_row(features)
        adverse: np.ndarray | None = None
        if with_reasons:
            logit, adverse = self._engine.logit_and_adverse(row)
        else:
            logit = self._engine.logit(row)
        pd_ = self.calibration.pd(logit)
        reasons: list[ReasonCode] = []
        if with_reasons and adverse is not None:
            reasons = top_reasons(adverse * self.points_per_logit, self.reason_texts, MAX_REASONS)
        return ScoreResult(pd=pd_, score=self.scaling.score(pd_), reasons=reasons)

    def pipeline(self) -> FittedCandidate:
        """The fitted library pipeline (loaded, verified, on first use)."""
        if self._pipeline is None:
            self._pipeline = self._pipeline_loader()
        return self._pipeline

    def raw_logits(self, frame: pd.DataFrame) -> np.ndarray:
        return self.pipeline().raw_logits(frame)

    def predict_pd(self, frame: pd.DataFrame) -> np.ndarray:
        return self.calibration.pds(self.raw_logits(frame))

    def score_frame(self, frame: pd.DataFrame, with_reasons: bool = True) -> pd.DataFrame:
        """Batch scoring: columns pd, score, reason_1..reason_4 (codes, empty when fewer)."""
        fitted = self.pipeline()
        logits = fitted.raw_logits(frame)
        pds = self.calibration.pds(logits)
        out = pd.DataFrame({"pd": pds, "score": self.scaling.scores(pds)}, index=frame.index)
        if with_reasons:
            adverse = fitted.adverse(frame)
            codes = [text.code for text in self.reason_texts]
            rows = top_reason_codes(adverse * self.points_per_logit, codes, MAX_REASONS)
            for k in range(MAX_REASONS):
                out[f"reason_{k + 1}"] = [r[k] if k < len(r) else "" for r in rows]
        return out

    def psi(self, scores: Sequence[float] | np.ndarray) -> float:
        """Stability of ``scores`` against the training score distribution."""
        return population_stability_index(self.score_bins, scores)
