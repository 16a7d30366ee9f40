"""Reason codes: stable codes per feature, with Chinese and English text.

A feature's code is derived from its name alone (``R_`` + upper snake case), so the same
column gives the same code in every model version. Texts come from ``reason_texts.json``;
a feature without an entry gets a generic "feature X unfavourable" text.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np

MAX_REASONS = 4
# A factor must cost at least this many score points to be named as a reason.
MIN_REASON_POINTS = 1e-6

_NON_WORD = re.compile(r"[^A-Za-z0-9]+")


@dataclass(frozen=True, slots=True)
class ReasonText:
    code: str
    feature: str
    zh: str
    en: str

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "feature": self.feature, "zh": self.zh, "en": self.en}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ReasonText:
        return cls(str(data["code"]), str(data["feature"]), str(data["zh"]), str(data["en"]))


@dataclass(frozen=True, slots=True)
class ReasonCode:
    """One factor that lowered the score: its code, texts and the points it cost."""

    code: str
    feature: str
    text_zh: str
    text_en: str
    points: float

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "feature": self.feature,
            "text_zh": self.text_zh,
            "text_en": self.text_en,
            "points": self.points,
        }


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8].upper()


def reason_code_for(feature: str) -> str:
    """``R_`` + the name in upper snake case; names that are not plain ASCII get a hash suffix."""
    slug = _NON_WORD.sub("_", feature).strip("_").upper()
    if not slug:
        return f"R_F_{_short_hash(feature)}"
    if not feature.isascii():
        return f"R_{slug}_{_short_hash(feature)}"
    return f"R_{slug}"


def reason_codes_for(features: Sequence[str]) -> dict[str, str]:
    """Codes for a model's features; names that would share a code are told apart by hash."""
    codes = {name: reason_code_for(name) for name in features}
    seen: dict[str, list[str]] = {}
    for name, code in codes.items():
        seen.setdefault(code, []).append(name)
    for code, names in seen.items():
        if len(names) > 1:
            for name in names:
                codes[name] = f"{code}_{_short_hash(name)}"
    return codes


@cache
def packaged_reason_texts() -> dict[str, dict[str, str]]:
    """The editable code → {zh, en} table shipped with the package."""
    text = resources.files(__package__).joinpath("reason_texts.json").read_text("utf-8")
    data = json.loads(text)
    return {str(code): dict(entry) for code, entry in data["codes"].items()}


def generic_reason_text(feature: str) -> tuple[str, str]:
    return f"特征“{feature}”不利", f"feature {feature} unfavourable"


def build_reason_map(
    features: Sequence[str], texts: Mapping[str, Mapping[str, str]] | None = None
) -> dict[str, ReasonText]:
    """Feature → code and texts, frozen into the model artifact at training time."""
    table = packaged_reason_texts() if texts is None else texts
    reason_map: dict[str, ReasonText] = {}
    for name, code in reason_codes_for(features).items():
        entry = table.get(code)
        zh, en = generic_reason_text(name)
        if entry is not None:
            zh, en = entry.get("zh", zh), entry.get("en", en)
        reason_map[name] = ReasonText(code=code, feature=name, zh=zh, en=en)
    return reason_map


def top_reasons(
    adverse_points: np.ndarray | Sequence[float],
    reason_texts: Sequence[ReasonText],
    limit: int = MAX_REASONS,
) -> list[ReasonCode]:
    """The (at most ``limit``) features that cost the most points, largest first.

    Ties keep feature order, so the same input always gives the same reasons.
    """
    points = np.asarray(adverse_points, dtype=float)
    order = sorted(
        (j for j in range(points.size) if points[j] > MIN_REASON_POINTS),
        key=lambda j: (-points[j], j),
    )[:limit]
    return [
        ReasonCode(
            code=reason_texts[j].code,
            feature=reason_texts[j].feature,
            text_zh=reason_texts[j].zh,
            text_en=reason_texts[j].en,
            points=float(points[j]),
        )
        for j in order
    ]


def top_reason_codes(
    adverse_points: np.ndarray, codes: Sequence[str], limit: int = MAX_REASONS
) -> list[list[str]]:
    """Batch form of ``top_reasons``: per row, the codes only (same order and ties)."""
    points = np.asarray(adverse_points, dtype=float)
    n_features = points.shape[1]
    # Stable sort on −points keeps feature order among ties, as in top_reasons.
    order = np.argsort(-points, axis=1, kind="stable")[:, :limit]
    rows: list[list[str]] = []
    for i in range(points.shape[0]):
        rows.append(
            [codes[j] for j in order[i] if j < n_features and points[i, j] > MIN_REASON_POINTS]
        )
    return rows
