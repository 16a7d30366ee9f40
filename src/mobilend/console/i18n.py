"""The console's languages: Simplified Chinese first, English on request (``?lang=en``,
remembered in a cookie). Every string a page shows comes from ``messages.CATALOGUE``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from mobilend.console.messages import CATALOGUE

LANGUAGES = ("zh", "en")
LANG_COOKIE = "mobilend_console_lang"
_HTML_LANG = {"zh": "zh-CN", "en": "en"}


def requested_language(request: Request) -> str | None:
    asked = request.query_params.get("lang", "")
    return asked if asked in LANGUAGES else None


def language_of(request: Request) -> str:
    asked = requested_language(request)
    if asked is not None:
        return asked
    remembered = request.cookies.get(LANG_COOKIE, "")
    return remembered if remembered in LANGUAGES else "zh"


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
        zh, en = CATALOGUE[key]  # a missing key is a bug: tests render every page
        text = zh if self.lang == "zh" else en
        return text.format(**values) if values else text

    def has(self, key: str) -> bool:
        return key in CATALOGUE

    def label(self, prefix: str, code: object) -> str:
        """The translated name of a stored code (``prefix`` + code), the code itself if
        the catalogue has none (``—`` for no code)."""
        if code is None or code == "":
            return "—"
        value = str(getattr(code, "value", code))
        key = f"{prefix}.{value}"
        return self(key) if key in CATALOGUE else value

    def pick(self, zh: str, en: str) -> str:
        return zh if self.lang == "zh" or not en else en

    def bilingual(self, text: str) -> str:
        """Domain texts read ``中文 (English)``: keep the half in this language."""
        if text.endswith(")") and " (" in text:
            zh, _, en = text[:-1].partition(" (")
            if zh and en:
                return zh if self.lang == "zh" else en
        if " / " in text:  # product names: 中文 / English
            zh, _, en = text.partition(" / ")
            if zh and en:
                return zh if self.lang == "zh" else en
        return text
