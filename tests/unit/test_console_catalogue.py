"""The console's message catalogue is complete: every literal key a console page or
template names exists, both languages carry the same placeholders, and the English side
has no Chinese left."""

from __future__ import annotations

import re
import string
from pathlib import Path

from mobilend.console.messages import CATALOGUE

CONSOLE = Path(__file__).resolve().parents[2] / "src" / "mobilend" / "console"
CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef]")
#: Named on purpose in the other language: the toggle offers the language you are not in.
OTHER_LANGUAGE = {"lang.toggle"}


def _named_keys() -> set[str]:
    sources = [p.read_text("utf-8") for p in (CONSOLE / "templates").glob("*.html")]
    sources += [p.read_text("utf-8") for p in CONSOLE.glob("*.py") if "messages" not in p.name]
    pattern = re.compile(r"""\bt\(\s*["']([a-z_]+(?:\.[a-z_\-]+)+)["']""")
    return {key for source in sources for key in pattern.findall(source)}


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_key_a_console_page_names_exists() -> None:
    named = _named_keys()
    assert "collections.gate_now" in named and "replay.run" in named  # the scan sees pages
    assert sorted(named - set(CATALOGUE)) == []


def test_both_languages_agree_and_english_has_no_chinese() -> None:
    for key, (zh, en) in CATALOGUE.items():
        assert _placeholders(zh) == _placeholders(en), key
        if key not in OTHER_LANGUAGE:
            assert not CJK.search(en), key


def test_the_replay_fragment_shows_each_difference_in_the_page_language() -> None:
    from fastapi.templating import Jinja2Templates

    from mobilend.app.operations.replay import ReplayReport
    from mobilend.console.formatting import FILTERS
    from mobilend.console.i18n import Translator
    from mobilend.risk.replay import Difference

    env = Jinja2Templates(directory=str(CONSOLE / "templates")).env
    env.filters.update(FILTERS)
    fragment = env.get_template("_replay.html")
    report = ReplayReport(
        "DEC-1", True, False,
        [Difference("result.outcome", "approve", "decline")], {"policy": "cash/v2"},
    )  # fmt: skip
    zh = fragment.render(t=Translator("zh"), report=report)
    assert 'data-identical="false"' in zh and 'data-mode="current"' in zh
    assert 'data-path="result.outcome"' in zh and '<code>"decline"</code>' in zh
    assert "重放结果与记录不同" in zh and "differs" not in zh
    same = fragment.render(t=Translator("en"), report=ReplayReport("DEC-1", False, True))
    assert "The replay matches the record" in same and 'data-mode="recorded"' in same
