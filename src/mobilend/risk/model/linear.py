"""The plain candidate: logistic regression on the raw features, standardised.

Numbers: missing → training median, then (x − mean) / standard deviation. Text: one
indicator per training label, plus one for "missing" when training had missing cells; an
unseen label sets no indicator. The design is built here with numpy (not a library
transformer) so the same few numbers serve batch and online scoring, and the per-feature
terms minus their training means are exact linear SHAP values (the reason codes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mobilend.risk.model.features import (
    UNKNOWN_CATEGORY_CODE,
    FeatureKind,
    FeatureSpec,
    RowEncoder,
)
from mobilend.risk.model.kinds import CandidateKind


@dataclass(frozen=True, slots=True)
class LogisticParams:
    """``c``: inverse L2 strength; 1.0 is the library default, i.e. a plain regression."""

    c: float = 1.0
    max_iter: int = 5000


def _numeric_terms(values: np.ndarray, entry: dict[str, Any]) -> np.ndarray:
    filled = np.where(np.isnan(values), entry["median"], values)
    return np.asarray(entry["coef"] * ((filled - entry["mean"]) / entry["scale"]), dtype=float)


def _categorical_terms(codes: np.ndarray, entry: dict[str, Any]) -> np.ndarray:
    coefs = np.asarray(entry["coefs"], dtype=float)
    out = np.zeros(codes.size)
    missing = np.isnan(codes)
    out[missing] = entry["coef_missing"]
    known = ~missing & (codes != UNKNOWN_CATEGORY_CODE)
    out[known] = coefs[codes[known].astype(int)]
    return out


@dataclass
class FittedLogistic:
    """Serving tables (plain numbers) plus the fitted library model, kept for audit."""

    specs: list[FeatureSpec]
    tables: dict[str, Any]
    logistic: Any
    kind: CandidateKind = field(default=CandidateKind.LOGISTIC, init=False)

    def terms(self, frame: pd.DataFrame) -> np.ndarray:
        """Each feature's term in the log-odds of bad, one column per spec."""
        matrix = RowEncoder(self.specs).encode_frame(frame)
        out = np.empty_like(matrix)
        for j, entry in enumerate(self.tables["features"]):
            if entry["kind"] == FeatureKind.NUMERIC.value:
                out[:, j] = _numeric_terms(matrix[:, j], entry)
            else:
                out[:, j] = _categorical_terms(matrix[:, j], entry)
        return out

    def raw_logits(self, frame: pd.DataFrame) -> np.ndarray:
        terms = self.terms(frame)
        return np.asarray(self.tables["intercept"] + terms.sum(axis=1), dtype=float)

    def adverse(self, frame: pd.DataFrame) -> np.ndarray:
        baseline = np.asarray([e["baseline"] for e in self.tables["features"]], dtype=float)
        return np.asarray(self.terms(frame) - baseline, dtype=float)

    def importance(self) -> dict[str, float]:
        """Share of each feature in the spread of the log-odds (std of its term)."""
        spread = {e["name"]: float(e["term_std"]) for e in self.tables["features"]}
        total = sum(spread.values()) or 1.0
        return {name: value / total for name, value in spread.items()}


def _design(
    matrix: np.ndarray, specs: list[FeatureSpec], stats: list[dict[str, Any]]
) -> tuple[np.ndarray, list[slice]]:
    """Design matrix columns and, per feature, the slice of columns it owns."""
    columns: list[np.ndarray] = []
    owners: list[slice] = []
    for j, (spec, st) in enumerate(zip(specs, stats, strict=True)):
        start = len(columns)
        values = matrix[:, j]
        if spec.kind is FeatureKind.NUMERIC:
            filled = np.where(np.isnan(values), st["median"], values)
            columns.append((filled - st["mean"]) / st["scale"])
        else:
            for code in range(len(spec.categories)):
                columns.append((values == code).astype(float))
            if st["has_missing"]:
                columns.append(np.isnan(values).astype(float))
        owners.append(slice(start, len(columns)))
    design = np.column_stack(columns) if columns else np.zeros((matrix.shape[0], 0))
    return design, owners


def fit_logistic(
    frame: pd.DataFrame, y: np.ndarray, specs: list[FeatureSpec], params: LogisticParams, seed: int
) -> FittedLogistic:
    from sklearn.linear_model import LogisticRegression

    matrix = RowEncoder(specs).encode_frame(frame)
    stats: list[dict[str, Any]] = []
    for j, spec in enumerate(specs):
        values = matrix[:, j]
        if spec.kind is FeatureKind.NUMERIC:
            present = values[~np.isnan(values)]
            median = float(np.median(present)) if present.size else 0.0
            filled = np.where(np.isnan(values), median, values)
            scale = float(np.std(filled))
            stats.append({"median": median, "mean": float(np.mean(filled)), "scale": scale or 1.0})
        else:
            stats.append({"has_missing": bool(np.isnan(values).any())})
    design, owners = _design(matrix, specs, stats)
    model = LogisticRegression(C=params.c, max_iter=params.max_iter, random_state=seed)
    model.fit(design, y)
    coef = model.coef_[0]
    features: list[dict[str, Any]] = []
    for spec, st, owner in zip(specs, stats, owners, strict=True):
        entry: dict[str, Any] = {"name": spec.name, "kind": spec.kind.value}
        own = coef[owner]
        if spec.kind is FeatureKind.NUMERIC:
            entry |= {**st, "coef": float(own[0])}
        else:
            k = len(spec.categories)
            entry["coefs"] = [float(c) for c in own[:k]]
            entry["coef_missing"] = float(own[k]) if st["has_missing"] else 0.0
        terms = design[:, owner] @ own
        entry["baseline"] = float(np.mean(terms))
        entry["term_std"] = float(np.std(terms))
        features.append(entry)
    tables = {"intercept": float(model.intercept_[0]), "features": features}
    return FittedLogistic(specs=list(specs), tables=tables, logistic=model)


class LogisticEngine:
    """Online form of ``FittedLogistic``: one float row in, log-odds and adverse terms out."""

    def __init__(self, tables: dict[str, Any], specs: list[FeatureSpec]) -> None:
        entries = tables["features"]
        if [e["name"] for e in entries] != [s.name for s in specs]:
            raise ValueError("logistic tables do not match the manifest features")
        self.intercept = float(tables["intercept"])
        self._entries = entries
        self._numeric = [e["kind"] == FeatureKind.NUMERIC.value for e in entries]
        self.baseline = np.asarray([e["baseline"] for e in entries], dtype=float)

    def terms(self, row: np.ndarray) -> np.ndarray:
        out = np.empty(len(self._entries))
        for j, value in enumerate(row.tolist()):
            entry = self._entries[j]
            if self._numeric[j]:
                x = entry["median"] if math.isnan(value) else value
                out[j] = entry["coef"] * ((x - entry["mean"]) / entry["scale"])
            elif math.isnan(value):
                out[j] = entry["coef_missing"]
            elif value == UNKNOWN_CATEGORY_CODE:
                out[j] = 0.0
            else:
                out[j] = entry["coefs"][int(value)]
        return out

    def logit(self, row: np.ndarray) -> float:
        return self.intercept + float(self.terms(row).sum())

    def logit_and_adverse(self, row: np.ndarray) -> tuple[float, np.ndarray]:
        terms = self.terms(row)
        return self.intercept + float(terms.sum()), terms - self.baseline
