"""From model output to a decision score: stress overlay, scaling, champion/challenger.

* ``Scorer`` — what the engine needs of a PD model: ``version`` and ``score_one``.
* ``MarketOverlay`` — effective-dated market conditions: a PD (odds) multiplier, a
  cut-off shift in score points and a limit factor, applied to new decisions.
* The decision score is the policy's points-to-double-odds scaling of the stressed PD,
  so score bands keep their meaning in PD terms whichever model version produced it.
* ``Challenger`` — a share of traffic, chosen by a hash of the application id (the
  same application always lands in the same arm), decided by another model and/or
  another policy version; the arm is recorded on the decision.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from mobilend.risk.model.scaling import ScoreScaling

OVERLAY_FILE = Path(__file__).resolve().parent / "policy" / "files" / "market_overlay.json"
PD_FLOOR = 1e-9


class Scorer(Protocol):
    """A PD model: ``score_one`` answers an object with ``pd``, ``score`` and ``reasons``."""

    version: str

    def score_one(self, features: Mapping[str, Any]) -> Any: ...


@dataclass(frozen=True, slots=True)
class ModelReason:
    code: str
    text_zh: str
    text_en: str


@dataclass(frozen=True, slots=True)
class ModelScore:
    pd: float
    model_score: float | None
    reasons: tuple[ModelReason, ...]


def _reason(item: Any) -> ModelReason:
    if isinstance(item, Mapping):
        return ModelReason(
            str(item["code"]),
            str(item.get("text_zh", item.get("zh", ""))),
            str(item.get("text_en", item.get("en", ""))),
        )
    if isinstance(item, str):
        return ModelReason(item, "", "")
    return ModelReason(
        str(item.code),
        str(getattr(item, "text_zh", getattr(item, "zh", ""))),
        str(getattr(item, "text_en", getattr(item, "en", ""))),
    )


def run_scorer(scorer: Scorer, features: Mapping[str, Any]) -> ModelScore:
    """Score one feature dict and normalise the answer (PD checked to be a probability)."""
    result = scorer.score_one(features)
    pd = float(result.pd)
    if not 0.0 <= pd <= 1.0 or math.isnan(pd):
        raise ValueError(f"model {scorer.version} returned PD {pd!r}, not a probability")
    score = getattr(result, "score", None)
    reasons = tuple(_reason(r) for r in (getattr(result, "reasons", None) or ()))
    return ModelScore(pd=pd, model_score=None if score is None else float(score), reasons=reasons)


def decision_scaling(pdo: float, base_score: float, base_odds: float) -> ScoreScaling:
    return ScoreScaling(pdo=pdo, base_score=base_score, base_odds=base_odds)


# --------------------------------------------------------------------------- market overlay


@dataclass(frozen=True, slots=True)
class MarketCondition:
    id: str
    effective_from: dt.date
    pd_multiplier: Decimal = Decimal(1)
    cutoff_shift_points: int = 0
    limit_factor: Decimal = Decimal(1)
    note_zh: str = ""
    note_en: str = ""

    def __post_init__(self) -> None:
        if self.pd_multiplier <= 0:
            raise ValueError("pd_multiplier must be positive")
        if not Decimal(0) < self.limit_factor <= Decimal(1):
            raise ValueError("limit_factor must be in (0, 1]: an overlay only tightens")
        if self.cutoff_shift_points < 0:
            raise ValueError("cutoff_shift_points must not be negative: an overlay only tightens")

    @property
    def is_neutral(self) -> bool:
        return self.pd_multiplier == 1 and self.cutoff_shift_points == 0 and self.limit_factor == 1

    def stress_pd(self, pd: float) -> float:
        """Multiply the odds of default (keeps the PD inside (0, 1))."""
        if self.pd_multiplier == 1:
            return pd
        p = min(max(pd, PD_FLOOR), 1.0 - PD_FLOOR)
        odds = p / (1.0 - p) * float(self.pd_multiplier)
        return odds / (1.0 + odds)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MarketCondition:
        return cls(
            id=str(data["id"]),
            effective_from=dt.date.fromisoformat(str(data["effective_from"])),
            pd_multiplier=Decimal(str(data.get("pd_multiplier", "1"))),
            cutoff_shift_points=int(data.get("cutoff_shift_points", 0)),
            limit_factor=Decimal(str(data.get("limit_factor", "1"))),
            note_zh=str(data.get("note_zh", "")),
            note_en=str(data.get("note_en", "")),
        )


NEUTRAL = MarketCondition("neutral", dt.date.min)


class MarketOverlay:
    """Dated market conditions; the latest one effective on or before a date applies."""

    def __init__(self, conditions: Sequence[MarketCondition]) -> None:
        ids = [c.id for c in conditions]
        if len(set(ids)) != len(ids):
            raise ValueError("market condition ids must be unique")
        self.conditions = tuple(sorted(conditions, key=lambda c: c.effective_from))

    def on(self, day: dt.date) -> MarketCondition:
        current = NEUTRAL
        for condition in self.conditions:
            if condition.effective_from <= day:
                current = condition
        return current

    def get(self, condition_id: str) -> MarketCondition:
        if condition_id == NEUTRAL.id:
            return NEUTRAL
        for condition in self.conditions:
            if condition.id == condition_id:
                return condition
        raise KeyError(f"market condition {condition_id!r} is not in the overlay")

    @classmethod
    def load(cls, path: Path | str = OVERLAY_FILE) -> MarketOverlay:
        data = json.loads(Path(path).read_text("utf-8"))
        return cls([MarketCondition.from_json(entry) for entry in data["entries"]])


# --------------------------------------------------------------------------- champion / challenger


@dataclass(frozen=True, slots=True)
class Challenger:
    """Who decides the challenger arm: another model, another policy version, or both."""

    name: str
    share: Decimal  # fraction of applications, e.g. Decimal("0.10")
    scorer: Scorer | None = None
    policy_version: str | None = None

    def __post_init__(self) -> None:
        if not Decimal(0) <= self.share <= Decimal(1):
            raise ValueError("challenger share must be between 0 and 1")
        if self.scorer is None and self.policy_version is None:
            raise ValueError("a challenger needs a model, a policy version, or both")


def traffic_bucket(application_id: str, salt: str) -> int:
    """A stable number in [0, 10000) for an application."""
    digest = hashlib.sha256(f"{salt}:{application_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 10_000


def assign_arm(application_id: str, challenger: Challenger | None) -> str:
    if challenger is None:
        return "champion"
    bucket = traffic_bucket(application_id, challenger.name)
    return "challenger" if bucket < int(challenger.share * 10_000) else "champion"
