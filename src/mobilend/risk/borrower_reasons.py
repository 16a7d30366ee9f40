"""Decision reasons as a borrower reads them: plain words that say where the information
came from and fit what was applied for.

The engine's reasons are written for staff and for the decision record (which keeps
them unchanged, so a replay still matches). A borrower sees each code's text from
``borrower_reasons.json`` with its source named — "当前有逾期未还的借款（来源：征信报告）"
— and never a factor that does not apply: the model's purchase-price factor, when no
purchase price was given (a cash loan), is the amount itself and reads as such.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

from mobilend.domain.decisions import DecisionReason

#: Model factors that only mean something when a purchase price was declared, and the
#: factor they stand for otherwise (the features use the amount as the price then).
_PURCHASE_ONLY = {"R_PRICE": "R_AMOUNT", "LIMIT_BY_PURCHASE_PRICE": "LIMIT_BY_AFFORDABILITY"}


@dataclass(frozen=True, slots=True)
class _Entry:
    source: str
    zh: str
    en: str


@dataclass(frozen=True, slots=True)
class _Catalogue:
    sources: Mapping[str, tuple[str, str]]
    codes: Mapping[str, _Entry]


@cache
def _catalogue() -> _Catalogue:
    raw = json.loads(
        resources.files(__package__).joinpath("borrower_reasons.json").read_text("utf-8")
    )
    sources = {key: (str(v["zh"]), str(v["en"])) for key, v in raw["sources"].items()}
    codes = {
        code: _Entry(str(v["source"]), str(v.get("zh", "")), str(v.get("en", "")))
        for code, v in raw["codes"].items()
    }
    unknown = {e.source for e in codes.values()} - sources.keys()
    if unknown:
        raise ValueError(f"borrower_reasons.json names unknown sources: {sorted(unknown)}")
    return _Catalogue(sources, codes)


def known_codes() -> frozenset[str]:
    return frozenset(_catalogue().codes)


def source_of(code: str) -> str | None:
    entry = _catalogue().codes.get(code)
    return entry.source if entry else None


def _sentence_case(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def borrower_reason(reason: DecisionReason) -> DecisionReason:
    """One reason in the borrower's words, its source named (unknown codes keep their text)."""
    catalogue = _catalogue()
    entry = catalogue.codes.get(reason.code)
    if entry is None:
        return reason
    source_zh, source_en = catalogue.sources[entry.source]
    zh = entry.zh or reason.text_zh
    en = _sentence_case(entry.en or reason.text_en)
    return DecisionReason(reason.code, f"{zh}（来源：{source_zh}）", f"{en} (source: {source_en})")


def borrower_reasons(
    reasons: Iterable[DecisionReason], *, purchase_price_declared: bool = False
) -> tuple[DecisionReason, ...]:
    """The reasons a borrower is shown, in the engine's order, each code once."""
    shown: list[DecisionReason] = []
    seen: set[str] = set()
    for reason in reasons:
        code = reason.code
        if not purchase_price_declared and code in _PURCHASE_ONLY:
            code = _PURCHASE_ONLY[code]
            reason = DecisionReason(code, reason.text_zh, reason.text_en)
        if code in seen:
            continue
        seen.add(code)
        shown.append(borrower_reason(reason))
    return tuple(shown)
