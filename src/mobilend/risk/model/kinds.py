"""The kinds of candidate model, and how complex each is (for the one-standard-error rule)."""

from __future__ import annotations

from enum import StrEnum


class CandidateKind(StrEnum):
    LOGISTIC = "logistic"
    SCORECARD = "scorecard"
    LIGHTGBM = "lightgbm"
    LIGHTGBM_TUNED = "lightgbm_tuned"
    BLEND = "blend"


# Lower is simpler. A plain regression has one weight per input column; the scorecard adds
# the binning; boosted trees are many small rules; a blend needs several models at once.
COMPLEXITY: dict[CandidateKind, int] = {
    CandidateKind.LOGISTIC: 0,
    CandidateKind.SCORECARD: 1,
    CandidateKind.LIGHTGBM: 2,
    CandidateKind.LIGHTGBM_TUNED: 2,
    CandidateKind.BLEND: 3,
}

BASE_KINDS = tuple(k for k in CandidateKind if k is not CandidateKind.BLEND)
