"""Choosing among candidates by repeated cross-validation, with the one-standard-error rule.

Every candidate is scored on the same folds. The best is the one with the highest mean
fold AUC; the rule then keeps the *simplest* candidate whose mean AUC is within one
standard error of the best's (Breiman et al., 1984; Hastie et al., ESL §7.10). The
standard error is that of the paired per-fold differences, with the Nadeau–Bengio
correction: folds of repeated cross-validation share most of their training rows, so the
naive s/√J understates the uncertainty. An optional ``min_gain`` widens the band further
(a materiality threshold). ``max_auc`` simply takes the best.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np

from mobilend.risk.model.kinds import COMPLEXITY, CandidateKind


class SelectionRule(StrEnum):
    ONE_SE = "one_se"
    MAX_AUC = "max_auc"


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
class Comparison:
    """A candidate against the best: mean AUC shortfall and its corrected standard error."""

    kind: CandidateKind
    shortfall: float
    standard_error: float

    def to_json(self) -> dict[str, Any]:
        return {"auc_below_best": self.shortfall, "standard_error": self.standard_error}


@dataclass(frozen=True, slots=True)
class Selection:
    rule: SelectionRule
    chosen: CandidateKind
    best: CandidateKind
    comparisons: tuple[Comparison, ...]
    explanation: str

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule.value,
            "chosen": self.chosen.value,
            "best_mean_auc": self.best.value,
            "against_best": {c.kind.value: c.to_json() for c in self.comparisons},
            "explanation": self.explanation,
        }


def corrected_standard_error(differences: np.ndarray, folds: int) -> float:
    """Nadeau–Bengio standard error of a mean over repeated K-fold differences.

    Var = (1/J + n_valid/n_train) · s², with J the number of folds in all repeats and
    n_valid/n_train = 1/(K − 1).
    """
    if differences.size < 2:
        return 0.0
    variance = float(np.var(differences, ddof=1))
    return math.sqrt((1.0 / differences.size + 1.0 / (folds - 1)) * variance)


def select_candidate(
    cv: dict[CandidateKind, CandidateCv],
    rule: SelectionRule,
    folds: int,
    min_gain: float = 0.0,
) -> Selection:
    if not cv:
        raise ValueError("no candidates to choose from")
    # Ties in mean AUC go to the simpler candidate.
    best = max(cv.values(), key=lambda c: (c.mean_auc, -COMPLEXITY[c.kind])).kind
    best_folds = np.asarray(cv[best].fold_aucs)
    comparisons: list[Comparison] = []
    for kind, result in cv.items():
        differences = best_folds - np.asarray(result.fold_aucs)
        comparisons.append(
            Comparison(
                kind, float(differences.mean()), corrected_standard_error(differences, folds)
            )
        )
    if rule is SelectionRule.MAX_AUC or len(cv) == 1:
        why = f"highest mean CV AUC: {best.value} ({cv[best].mean_auc:.4f})"
        return Selection(rule, best, best, tuple(comparisons), why)
    by_kind = {c.kind: c for c in comparisons}
    order = sorted(cv, key=lambda k: (COMPLEXITY[k], -cv[k].mean_auc))
    for kind in order:
        c = by_kind[kind]
        band = max(min_gain, c.standard_error)
        if c.shortfall <= band:
            break
    if kind is best:
        simpler = [by_kind[k] for k in order if COMPLEXITY[k] < COMPLEXITY[best]]
        detail = "; ".join(
            f"{c.kind.value} {c.shortfall:+.4f} > {max(min_gain, c.standard_error):.4f}"
            for c in simpler
        )
        why = f"{best.value} has the best mean CV AUC ({cv[best].mean_auc:.4f})" + (
            f" and every simpler candidate is more than one SE below it ({detail})"
            if simpler
            else ""
        )
    else:
        why = (
            f"{kind.value} is {c.shortfall:.4f} AUC below the best ({best.value}, "
            f"{cv[best].mean_auc:.4f}), within one SE ({band:.4f}); the simpler model is kept"
        )
    return Selection(rule, kind, best, tuple(comparisons), why)
