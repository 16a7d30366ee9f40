"""A calibrated blend of candidates: log-odds of bad = b + Σ wₘ · log-oddsₘ, with wₘ ≥ 0.

The weights are fitted by logistic log-loss on the candidates' out-of-fold log-odds (a
stacked regression), so the blend is calibrated by construction. Non-negative weights
keep it monotone in every member, and make its reasons the weighted sum of the members'.

In cross-validation the blend is scored on the same folds as its members, honestly: for
each fold its weights are fitted on the out-of-fold outputs of the *other* folds of the
same repeat ("cross-fitting"), so no fold's labels enter its own weights.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mobilend.risk.model.candidates import FittedBase
from mobilend.risk.model.features import FeatureSpec
from mobilend.risk.model.kinds import CandidateKind

# A light ridge on the weights: members are strongly correlated, this keeps the fit stable.
_WEIGHT_PENALTY = 1e-3


@dataclass(frozen=True, slots=True)
class BlendWeights:
    kinds: tuple[CandidateKind, ...]
    weights: tuple[float, ...]
    intercept: float

    def logits(self, member_logits: np.ndarray) -> np.ndarray:
        logits = np.asarray(member_logits, dtype=float) @ np.asarray(self.weights)
        return np.asarray(self.intercept + logits, dtype=float)

    def to_json(self) -> dict[str, Any]:
        return {
            "members": [k.value for k in self.kinds],
            "weights": list(self.weights),
            "intercept": self.intercept,
        }


def fit_blend_weights(
    member_logits: np.ndarray, y: np.ndarray, kinds: tuple[CandidateKind, ...]
) -> BlendWeights:
    """Non-negative logistic stacking of the members' log-odds (L-BFGS-B)."""
    from scipy.optimize import minimize

    x = np.asarray(member_logits, dtype=float)
    target = np.asarray(y, dtype=float)
    m = x.shape[1]

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        z = theta[0] + x @ theta[1:]
        # log(1 + e^z) − y·z, written to stay finite for large |z|.
        value = np.logaddexp(0.0, z) - target * z
        p = 0.5 * (1.0 + np.tanh(0.5 * z))
        residual = p - target
        n = target.size
        grad = np.concatenate(([residual.sum()], x.T @ residual)) / n
        grad[1:] += 2 * _WEIGHT_PENALTY * theta[1:]
        return float(value.mean() + _WEIGHT_PENALTY * theta[1:] @ theta[1:]), grad

    start = np.concatenate(([0.0], np.full(m, 1.0 / m)))
    bounds = [(None, None)] + [(0.0, None)] * m
    result = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=bounds)
    theta = result.x
    return BlendWeights(
        kinds=tuple(kinds),
        weights=tuple(float(w) for w in theta[1:]),
        intercept=float(theta[0]),
    )


def cross_fitted_logits(
    member_oof: np.ndarray, y: np.ndarray, fold_ids: np.ndarray, kinds: tuple[CandidateKind, ...]
) -> np.ndarray:
    """Blend log-odds for one repeat: each fold's from weights fitted on the other folds.

    ``member_oof``: rows × members, the out-of-fold log-odds of this repeat;
    ``fold_ids``: each row's fold in this repeat.
    """
    out = np.empty(y.size)
    for fold in np.unique(fold_ids):
        held = fold_ids == fold
        weights = fit_blend_weights(member_oof[~held], y[~held], kinds)
        out[held] = weights.logits(member_oof[held])
    return out


@dataclass
class FittedBlend:
    """The refitted members and the weights fitted on their out-of-fold log-odds."""

    specs: list[FeatureSpec]
    members: list[FittedBase]
    weights: BlendWeights
    kind: CandidateKind = field(default=CandidateKind.BLEND, init=False)

    def raw_logits(self, frame: pd.DataFrame) -> np.ndarray:
        logits = np.column_stack([m.raw_logits(frame) for m in self.members])
        return self.weights.logits(logits)

    def adverse(self, frame: pd.DataFrame) -> np.ndarray:
        total = np.zeros((len(frame), len(self.specs)))
        for weight, member in zip(self.weights.weights, self.members, strict=True):
            if weight > 0:
                total += weight * member.adverse(frame)
        return total

    def importance(self) -> dict[str, float]:
        """Members' importance shares, weighted by the blend weights."""
        total = sum(self.weights.weights) or 1.0
        out = {spec.name: 0.0 for spec in self.specs}
        for weight, member in zip(self.weights.weights, self.members, strict=True):
            shares = member.importance()
            norm = sum(shares.values()) or 1.0
            for name, value in shares.items():
                out[name] += weight / total * value / norm
        return out


FittedCandidate = FittedBase | FittedBlend
