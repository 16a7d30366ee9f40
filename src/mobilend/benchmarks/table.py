"""The README's performance table, generated from ``mobilend bench --json`` output.

``render`` turns the JSON document into a Markdown table (one row per figure, with its
same-run reference and the ratio); ``rewrite_readme`` puts it between the
``<!-- bench:begin -->`` and ``<!-- bench:end -->`` markers, leaving the rest untouched.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

BEGIN = "<!-- bench:begin -->"
END = "<!-- bench:end -->"


def number(value: float) -> str:
    """Three significant digits at least, thousands separated: 4,408 · 17.6 · 0.069."""
    if not math.isfinite(value):
        return str(value)
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def with_unit(value: float, unit: str) -> str:
    return f"{number(value)}{unit}" if unit.startswith("/") else f"{number(value)} {unit}"


def render(document: dict[str, Any]) -> str:
    figures = document["figures"]
    machine = document["machine"]
    load = machine["load_average_before"][0], machine["load_average_after"][0]
    lines = [
        f"`mobilend bench{' --quick' if document['size'] == 'quick' else ''}`, "
        f"{document['started_at'][:10]}: {machine['cpus']} cores, PostgreSQL "
        f"{machine['postgresql']}, load average {load[0]:.1f} before and {load[1]:.1f} after "
        f"({document['seconds'] / 60:.0f} min).",
        "",
        "| what | figure | same-run reference | ratio |",
        "|---|---|---|---|",
    ]
    for measure in document["measures"]:
        value = figures[measure["figure"]]
        reference = figures[measure["reference"]]
        ratio = figures[measure["ratio"]]
        lines.append(
            f"| {measure['label']} (`{measure['figure']}`) "
            f"| {with_unit(value, measure['unit'])} "
            f"| {measure['reference_label']}: {number(reference)} "
            f"| {number(ratio)} ({measure['per']}) |"
        )
    if document.get("failures"):
        lines += ["", "Not measured in this run: " + ", ".join(sorted(document["failures"])) + "."]
    return "\n".join(lines) + "\n"


def replace_between_markers(text: str, table: str) -> str:
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"the README has no {BEGIN} … {END} markers")
    return text[: start + len(BEGIN)] + "\n" + table + text[end:]


def rewrite_readme(readme: Path, document: dict[str, Any]) -> None:
    readme.write_text(replace_between_markers(readme.read_text(), render(document)))
