"""Choosing the borrower's language and looking up screen text.

Every string a page shows comes from ``messages.CATALOGUE`` through ``Translator``;
templates never hard-code text in either language. Simplified Chinese is the default;
``?lang=en`` (or the toggle in the header) switches and is remembered in a cookie.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from mobilend.web.messages import CATALOGUE

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"
LANG_COOKIE = "mobilend_lang"
_HTML_LANG = {"zh": "zh-CN", "en": "en"}


def requested_language(request: Request) -> str | None:
    """The language asked for in the query string, when it is one we speak."""
    asked = request.query_params.get("lang", "")
    return asked if asked in LANGUAGES else None


def language_of(request: Request) -> str:
    asked = requested_language(request)
    if asked is not None:
        return asked
    remembered = request.cookies.get(LANG_COOKIE, "")
    return remembered if remembered in LANGUAGES else DEFAULT_LANGUAGE


@dataclass(frozen=True, slots=True)
class Translator:
    lang: str

    @property
    def html_lang(self) -> str:
        return _HTML_LANG[self.lang]

    @property
    def other(self) -> str:
        return "en" if self.lang == "zh" else "zh"

    def __call__(self, key: str, **values: Any) -> str:
        zh, en = CATALOGUE[key]  # a missing key is a bug: let it fail loudly in tests
        text = zh if self.lang == "zh" else en
        return text.format(**values) if values else text

    def pick(self, zh: str, en: str) -> str:
        """Choose between two texts that arrive already translated (e.g. decision reasons)."""
        return zh if self.lang == "zh" or not en else en

    def bilingual(self, text: str) -> str:
        """Domain texts read ``中文 (English)`` (messages) or ``中文 / English`` (product
        names): keep the half in this language."""
        if text.endswith(")") and " (" in text:
            zh, _, en = text[:-1].partition(" (")
            if zh and en:
                return zh if self.lang == "zh" else en
        if " / " in text:
            zh, _, en = text.partition(" / ")
            if zh and en:
                return zh if self.lang == "zh" else en
        return text
