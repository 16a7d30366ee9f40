"""The web app's message catalogue is complete: every key a page or handler names exists,
both languages carry the same placeholders, and the English side has no Chinese left."""

from __future__ import annotations

import re
import string
from pathlib import Path

from mobilend.web.messages import CATALOGUE

WEB = Path(__file__).resolve().parents[2] / "src" / "mobilend" / "web"
CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef]")
#: Named on purpose in the other language: the toggle offers the language you are not in.
OTHER_LANGUAGE = {"lang.toggle"}


def _named_keys() -> set[str]:
    """Literal keys passed to ``t(...)`` in templates and page code."""
    sources = [p.read_text() for p in (WEB / "templates").glob("*.html")]
    sources += [p.read_text() for p in WEB.glob("*.py") if p.name != "messages.py"]
    pattern = re.compile(r"""\bt\(\s*["']([a-z_]+(?:\.[a-z_\-]+)+)["']""")
    return {key for source in sources for key in pattern.findall(source)}


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_key_a_page_names_exists() -> None:
    named = _named_keys()
    assert len(named) > 100  # the scan found the pages' keys
    assert sorted(named - CATALOGUE.keys()) == []


def test_both_languages_say_the_same_thing() -> None:
    for key, (zh, en) in CATALOGUE.items():
        assert zh and en, key
        assert _placeholders(zh) == _placeholders(en), key
        if key not in OTHER_LANGUAGE:
            assert CJK.search(en) is None, (key, en)
