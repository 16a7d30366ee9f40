"""Plotly's assets for the console: its JavaScript from the installed ``plotly`` package
(never a CDN) and the styles it would otherwise inject as ``<style>`` elements, which the
console's ``style-src 'self'`` refuses."""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import plotly

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlotlyStyles:
    """What plotly.js would add to the page as ``<style>`` elements, which ``style-src
    'self'`` refuses (leaving its SVG layers unpositioned: legends and shapes float below
    the chart). Plotly skips its own rules when an element with id
    ``plotly.js-style-global`` and class ``no-inline-styles`` exists (plotly.js #7109),
    and each bundled library's CSS when an element has that CSS's id. Its builds no
    longer ship a ``plotly.css`` (#7543), so both are read from the served bundle here
    and always match it (``tests/browser/test_console_charts.py`` checks them)."""

    version: str
    css: str  #: plotly's rules, for ``<link id="plotly.js-style-global">``
    bundled: dict[str, str]  #: element id -> CSS of a library bundled into plotly.js


_JS_STRING = r""""(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'"""
# plotly's build/plotcss.js, minified: for(k in rules) sel=k.replace(...X...Y...), addStyleRule
_RULES_LOOP = re.compile(
    r'for\(([\w$]+) in ([\w$]+)\)([\w$]+)=\1\.replace\(/\^,/," ,"\)'
    r'\.replace\(/X/g,"([^"]+)"\)\.replace\(/Y/g,"([^"]+)"\),[\w$.]+\.addStyleRule\(\3,\2\[\1\]\)'
)
_RULE = re.compile(rf"\s*({_JS_STRING}|[\w$]+)\s*:\s*({_JS_STRING})\s*([,}}])")
# esbuild's CSS injection: if(!document.getElementById(ID)){var e=…;e.id=ID,e.textContent=CSS
_BUNDLED_CSS = re.compile(
    r'if\(!document\.getElementById\("([\w-]+)"\)\)\{var ([\w$]+)=document\.createElement'
    rf'\("style"\);\2\.id="\1",\2\.textContent=({_JS_STRING})'
)
_JS_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|.)", re.DOTALL)
_JS_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}


def _js_string(literal: str) -> str:
    if literal[0] not in "\"'":
        return literal  # an identifier key

    def unescape(m: re.Match[str]) -> str:
        code = m.group(1)
        if code[0] in "ux" and len(code) > 1:
            return chr(int(code[1:], 16))
        return _JS_SIMPLE_ESCAPES.get(code, code)

    return _JS_ESCAPE.sub(unescape, literal[1:-1])


def _plotly_rules(js: str) -> str | None:
    loop = _RULES_LOOP.search(js)
    if loop is None:
        return None
    rules_name, x, y = loop.group(2), loop.group(4), loop.group(5)
    start = js.rfind(rules_name + "={", 0, loop.start())
    if start < 0:
        return None
    rules: list[str] = []
    at = start + len(rules_name) + 2
    while (rule := _RULE.match(js, at)) is not None:
        key = _js_string(rule.group(1))
        selector = re.sub("^,", " ,", key).replace("X", x).replace("Y", y)
        rules.append(f"{selector} {{{_js_string(rule.group(2))}}}")
        at = rule.end()
        if rule.group(3) == "}":
            # plotly inserts each rule at index 0: later rules come first in its sheet
            return "\n".join(reversed(rules)) + "\n"
    return None


@functools.cache
def plotly_styles() -> PlotlyStyles:
    js = PLOTLY_JS.read_text(encoding="utf-8")
    found = re.search(r"plotly\.js v([\w.-]+)", js[:500])
    version = found.group(1) if found else "?"
    rules = _plotly_rules(js)
    if rules is None:
        # The charts still draw, misplaced; the browser reports the refused <style>.
        _log.warning("plotly.js %s: its style rules were not found in %s", version, PLOTLY_JS)
        rules = ""
    bundled = {m.group(1): _js_string(m.group(3)) for m in _BUNDLED_CSS.finditer(js)}
    header = f"/* plotly.js v{version}: the styles it would inject (console/site.py) */\n"
    return PlotlyStyles(version, header + rules, bundled)
