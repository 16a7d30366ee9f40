"""Score scaling (points to double the odds) and the population stability index.

score = offset + factor · ln(odds good:bad), with factor = PDO / ln 2 and
offset = base_score − factor · ln(base_odds): at ``base_odds`` good:bad the score is
``base_score``, and every doubling of the odds adds ``pdo`` points.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

# PDs are kept inside (0, 1) so that odds and scores stay finite.
PD_FLOOR = 1e-9
# Empty bins would make PSI infinite; they count as this share instead.
PSI_EPSILON = 1e-4


@dataclass(frozen=True, slots=True)
class ScoreScaling:
    pdo: float = 20.0
    base_score: float = 600.0
    base_odds: float = 50.0
    min_score: int = 300
    max_score: int = 900

    def __post_init__(self) -> None:
        if self.pdo <= 0 or self.base_odds <= 0:
            raise ValueError("pdo and base_odds must be positive")
        if self.min_score >= self.max_score:
            raise ValueError("min_score must be below max_score")

    @property
    def factor(self) -> float:
        return self.pdo / math.log(2.0)

    @property
    def offset(self) -> float:
        return self.base_score - self.factor * math.log(self.base_odds)

    def raw_score(self, pd: float) -> float:
        """Unrounded, unclipped score of a probability of default."""
        p = min(max(pd, PD_FLOOR), 1.0 - PD_FLOOR)
        return self.offset + self.factor * math.log((1.0 - p) / p)

    def score(self, pd: float) -> int:
        """Score rounded half-up and clipped to [min_score, max_score]."""
        return min(max(math.floor(self.raw_score(pd) + 0.5), self.min_score), self.max_score)

    def scores(self, pds: np.ndarray) -> np.ndarray:
        p = np.clip(np.asarray(pds, dtype=float), PD_FLOOR, 1.0 - PD_FLOOR)
        raw = self.offset + self.factor * np.log((1.0 - p) / p)
        scores: np.ndarray = np.clip(np.floor(raw + 0.5), self.min_score, self.max_score)
        return scores.astype(np.int64)

    def pd_at(self, score: float) -> float:
        """The probability of default a (raw) score stands for."""
        odds = math.exp((score - self.offset) / self.factor)
        return 1.0 / (1.0 + odds)

    def points(self, log_odds_bad: float) -> float:
        """Score points matching a change in log-odds of bad (positive input → fewer points)."""
        return self.factor * log_odds_bad

    def to_json(self) -> dict[str, Any]:
        return {
            "pdo": self.pdo,
            "base_score": self.base_score,
            "base_odds": self.base_odds,
            "min_score": self.min_score,
            "max_score": self.max_score,
            "factor": self.factor,
            "offset": self.offset,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ScoreScaling:
        return cls(
            pdo=float(data["pdo"]),
            base_score=float(data["base_score"]),
            base_odds=float(data["base_odds"]),
            min_score=int(data["min_score"]),
            max_score=int(data["max_score"]),
        )


@dataclass(frozen=True, slots=True)
class ScoreBins:
    """A reference score distribution: bin i is [edges[i-1], edges[i]); the ends are open."""

    edges: tuple[float, ...]
    expected: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.expected) != len(self.edges) + 1:
            raise ValueError("ScoreBins needs one more share than edges")
        if any(b <= a for a, b in zip(self.edges, self.edges[1:], strict=False)):
            raise ValueError("ScoreBins edges must increase")

    def shares(self, scores: Sequence[float] | np.ndarray) -> np.ndarray:
        values = np.asarray(scores, dtype=float)
        if values.size == 0:
            raise ValueError("no scores to bin")
        index = np.searchsorted(np.asarray(self.edges, dtype=float), values, side="right")
        counts = np.bincount(index, minlength=len(self.expected))
        return counts / values.size

    def to_json(self) -> dict[str, list[float]]:
        return {"edges": list(self.edges), "expected": list(self.expected)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ScoreBins:
        return cls(
            edges=tuple(float(e) for e in data["edges"]),
            expected=tuple(float(s) for s in data["expected"]),
        )


def score_bins_from_scores(scores: Sequence[float] | np.ndarray, n_bins: int = 10) -> ScoreBins:
    """Quantile bins of a development sample (fewer when scores tie)."""
    values = np.asarray(scores, dtype=float)
    if values.size == 0:
        raise ValueError("no scores to bin")
    quantiles = np.quantile(values, np.linspace(0, 1, n_bins + 1)[1:-1])
    edges = tuple(float(e) for e in np.unique(quantiles) if e > values.min())
    shares = ScoreBins(edges, tuple([0.0] * (len(edges) + 1))).shares(values)
    return ScoreBins(edges, tuple(float(s) for s in shares))


def population_stability_index(
    expected_bins: ScoreBins, actual_scores: Sequence[float] | np.ndarray
) -> float:
    """PSI = Σ (actual − expected) · ln(actual / expected) over the reference bins.

    Rule of thumb: < 0.1 stable, 0.1–0.25 watch, > 0.25 shifted.
    """
    actual = np.maximum(expected_bins.shares(actual_scores), PSI_EPSILON)
    expected = np.maximum(np.asarray(expected_bins.expected, dtype=float), PSI_EPSILON)
    return float(np.sum((actual - expected) * np.log(actual / expected)))
