"""The console's charts under its strict Content-Security-Policy, in a desktop Chromium:
every page that draws a chart, as each role that may open it, in Chinese and English.

- the browser refuses nothing (no "Refused to apply inline style", no
  ``securitypolicyviolation`` event): plotly's own styles come from a same-origin
  stylesheet, not from a ``<style>`` element it injects;
- each chart's drawing (legend, threshold lines, its SVG layers) stays inside the chart's
  box instead of floating over the page below it;
- a chart of business months or days labels them as dates (``2026-12``), even with a
  single point, rather than as milliseconds around midnight;
- the stylesheets the console serves for plotly hold exactly the rules plotly.js would
  inject itself (so a plotly upgrade cannot silently leave charts unstyled).

One borrower's loan gives the book; score stability, roll rates, profit and loss and
funder use need a trained model, a month of ageing or income, so their JSON is given a
month of figures in the browser (the drawing is under test here, not the figures).

Pages are photographed into ``test-artifacts/screenshots/console-charts-*.png``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from playwright.sync_api import Browser, Page, Route
from tests.browser.conftest import Service
from tests.browser.console_steps import (
    ConsoleShots,
    add_staff,
    refresh_analytics,
    sign_in,
    staff_browser,
)
from tests.browser.test_console import borrow_and_pay_out

from mobilend.domain.staff import Permission as P
from mobilend.domain.staff import Role, permits

CHART_PAGES = (
    ("analytics", "/console/analytics", P.VIEW_ANALYTICS),
    ("finance", "/console/finance", P.VIEW_FINANCE),
    ("funders", "/console/funders", P.VIEW_FUNDERS),
    ("stress", "/console/stress?pd_multiplier=2&scenario=adverse", P.RUN_STRESS_TEST),
)
#: Charts that must have been drawn with data by some role.
DRAWN = (
    "chart-funnel", "chart-approvals", "chart-roll_rates", "chart-monitoring", "chart-pnl",
    "chart-funders", "chart-stress",
)  # fmt: skip
#: Rows given to reports the one-loan book leaves empty (by column name).
FIGURES = {
    "monitoring": ("psi", [{"month": "2026-12", "applications": 40, "average_score": 655.5,
                            "psi": 0.04, "status": "stable"}]),
    "pnl": ("monthly", [{"month": "2026-12", "interest_income": 1200.5, "fee_income": 300,
                         "penalty_income": 12.3, "recovery_income": 0, "cost_of_funds": 400,
                         "credit_losses": 150, "data_costs": 45, "net": 917.8}]),
    "funders": ("utilisation", [
        {"funder": "own", "concentration": 0.6, "quota_use": 0.3, "daily_use": 0.1},
        {"funder": "bank-a", "concentration": 0.4, "quota_use": 0.5, "daily_use": 0.2},
    ]),
    "roll_rates": ("matrix", [
        {"from_state": "current", "to_state": "current", "loans": 9, "share": 0.9},
        {"from_state": "current", "to_state": "dpd_1_30", "loans": 1, "share": 0.1},
        {"from_state": "dpd_1_30", "to_state": "current", "loans": 1, "share": 0.5},
        {"from_state": "dpd_1_30", "to_state": "dpd_31_60", "loans": 1, "share": 0.5},
    ]),
}  # fmt: skip
#: Charts whose x axis is a business month or day.
DATE_CHARTS = ("chart-approvals", "chart-monitoring", "chart-pnl")
DATE_LABEL = re.compile(r"^\d{4}-\d{2}(-\d{2})?$")

#: Recorded before any page script runs (an init script is not subject to the page's CSP).
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.effectiveDirective + " " + (e.blockedURI || "") + " "
    + (e.sourceFile || "") + ":" + e.lineNumber);
});
"""

#: Per drawn chart: the boxes of its container, legend, shapes and SVG layers, and the
#: x axis's tick labels.
MEASURE = """
() => Array.from(document.querySelectorAll(".chart[data-src]")).map(function (el) {
  function box(node) {
    var r = node.getBoundingClientRect();
    return { left: r.left, top: r.top, right: r.right, bottom: r.bottom };
  }
  function boxes(selector) {
    return Array.from(el.querySelectorAll(selector)).map(box)
      .filter(function (b) { return b.right > b.left || b.bottom > b.top; });
  }
  return {
    id: el.dataset.testid,
    drawn: el.dataset.drawn,
    empty: el.dataset.empty === "true",
    box: box(el),
    legend: boxes("g.legend"),
    shapes: boxes(".shapelayer path"),
    layers: boxes("svg.main-svg"),
    xticks: Array.from(el.querySelectorAll(".xtick text")).map(function (t) {
      return t.textContent;
    })
  };
})
"""


def _inside(inner: dict[str, float], outer: dict[str, float], slack: float = 1.5) -> bool:
    return (
        inner["left"] >= outer["left"] - slack
        and inner["top"] >= outer["top"] - slack
        and inner["right"] <= outer["right"] + slack
        and inner["bottom"] <= outer["bottom"] + slack
    )


def _chart_problems(where: str, charts: list[dict[str, Any]]) -> list[str]:
    problems = []
    for chart in charts:
        name = f"{where} {chart['id']}"
        if chart["drawn"] != "true":
            problems.append(f"{name}: not drawn ({chart['drawn']})")
            continue
        if chart["empty"]:
            continue
        for part in ("legend", "shapes", "layers"):
            for b in chart[part]:
                if not _inside(b, chart["box"]):
                    problems.append(f"{name}: {part} {b} outside the chart {chart['box']}")
        if chart["id"] in DATE_CHARTS:
            labels = [t for t in chart["xticks"] if t]
            if not labels:
                problems.append(f"{name}: no x tick labels")
            odd = [t for t in labels if not DATE_LABEL.match(t)]
            if odd:
                problems.append(f"{name}: x ticks are not dates: {odd}")
    return problems


def _give_figures(route: Route) -> None:
    response = route.fetch()
    report = response.json()
    name, rows = FIGURES[route.request.url.split("?")[0].rsplit("/", 1)[1]]
    for table in report["tables"]:
        if table["name"] == name:
            table["rows"] = [[row.get(c) for c in table["columns"]] for row in rows]
    route.fulfill(response=response, body=json.dumps(report))


def _open(page: Page, url: str) -> list[dict[str, Any]]:
    response = page.goto(url)
    assert response is not None and response.status == 200, (url, response)
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('.chart[data-src]'))"
        ".every(el => el.dataset.drawn === 'true' || el.dataset.drawn === 'failed')"
    )
    charts: list[dict[str, Any]] = page.evaluate(MEASURE)
    return charts


def test_charts_draw_inside_their_boxes_with_dates_and_no_refused_styles(
    page: Page, browser: Browser, service: Service
) -> None:
    borrow_and_pay_out(page, service)
    refresh_analytics(service)
    problems: list[str] = []
    seen: set[str] = set()
    for role in Role:
        pages = [p for p in CHART_PAGES if permits([role.value], p[2])]
        if not pages:
            continue
        add_staff(service, f"{role.value}-charts", role.value)
        shots = ConsoleShots(f"charts-{role.value}")
        with staff_browser(browser) as context:
            context.add_init_script(RECORD_VIOLATIONS)
            staff_page = context.new_page()
            for report in FIGURES:
                staff_page.route(f"**/api/v1/ops/analytics/{report}", _give_figures)
            messages: list[str] = []
            staff_page.on("console", lambda m, into=messages: into.append(f"{m.type}: {m.text}"))
            staff_page.on("pageerror", lambda e, into=messages: into.append(f"error: {e}"))
            sign_in(staff_page, service, f"{role.value}-charts")
            for name, path, _permission in pages:
                for lang in ("zh", "en"):
                    where = f"{role.value} {name} {lang}"
                    messages.clear()
                    sep = "&" if "?" in path else "?"
                    charts = _open(staff_page, f"{service.base_url}{path}{sep}lang={lang}")
                    shots.shot(staff_page, f"{name}-{lang}")
                    seen.update(c["id"] for c in charts if c["drawn"] == "true" and not c["empty"])
                    violations = staff_page.evaluate("window.__cspViolations")
                    refused = [
                        m
                        for m in messages
                        if "Content Security Policy" in m or "CSP" in m or "error:" in m
                    ]
                    style_refusals = [m for m in [*violations, *refused] if "style" in m.lower()]
                    if style_refusals:
                        problems.append(f"{where}: styles refused: {style_refusals}")
                    if violations or refused:
                        problems.append(f"{where}: CSP {violations} console {refused}")
                    problems += _chart_problems(where, charts)
    # Every kind of chart the console draws was looked at, with data in it.
    assert set(DRAWN) <= seen, seen
    assert problems == [], "\n".join(problems)


#: The rules of each style sheet plotly.js adds to a page where nothing stops it, by the
#: element's id, as this browser serialises them.
INJECTED = """
() => Object.fromEntries(Array.from(document.querySelectorAll("style[id]")).map(
  s => [s.id, Array.from(s.sheet.cssRules).map(r => r.cssText)]))
"""
#: The rules of a CSS text, serialised by the same browser.
PARSED = """
text => { const sheet = new CSSStyleSheet(); sheet.replaceSync(text);
          return Array.from(sheet.cssRules).map(r => r.cssText); }
"""


def test_the_served_plotly_styles_are_the_ones_plotly_would_inject(
    browser: Browser, service: Service
) -> None:
    context = browser.new_context(bypass_csp=True)
    try:
        page = context.new_page()
        page.set_content("<!doctype html><html><head></head><body></body></html>")
        page.add_script_tag(url=f"{service.base_url}/console/vendor/plotly.min.js")
        injected: dict[str, list[str]] = page.evaluate(INJECTED)
        assert "plotly.js-style-global" in injected, injected.keys()
        for style_id, rules in injected.items():
            url = (
                "/console/vendor/plotly.css"
                if style_id == "plotly.js-style-global"
                else f"/console/vendor/plotly-styles/{style_id}.css"
            )
            response = context.request.get(service.base_url + url)
            assert response.status == 200, (url, response.status)
            assert response.headers["content-type"].startswith("text/css")
            served = page.evaluate(PARSED, response.text())
            assert len(rules) > 10, (style_id, rules)
            assert served == rules, style_id
    finally:
        context.close()
