"""Render the README's simulation chart (PNG) from a ``mobilend simulate`` report.json.

    python tools/sim_chart.py var/simulation/report.json docs/img/simulation.png

matplotlib (a dev dependency) draws offline from the same figures the HTML report shows:
the book day by day, the vintage curves, and the default rate of bad and good rows and
by price band.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def render(report: dict, out: Path) -> None:  # type: ignore[type-arg]
    daily = report["daily"]
    fig, (book, vintages, rates) = plt.subplots(1, 3, figsize=(15, 4.2))
    days = list(range(1, len(daily) + 1))
    book.plot(days, [d["outstanding"] / 1e6 for d in daily], label="outstanding (¥ m)")
    late = book.twinx()
    late.plot(days, [d["dpd30"] for d in daily], color="tab:red", label="loans 30+ DPD")
    book.set_xlabel("business day")
    book.set_ylabel("outstanding principal, ¥ million")
    late.set_ylabel("loans 30+ days past due", color="tab:red")
    book.set_title("The book, day by day")
    for month, curve in report["vintages"].items():
        if len(curve) >= 2:
            vintages.plot(range(1, len(curve) + 1), [100 * (v or 0) for v in curve], label=month)
    vintages.set_xlabel("months on book")
    vintages.set_ylabel("% of the month's loans ever 30+ DPD")
    vintages.set_title("Vintage curves (by payout month)")
    vintages.legend(fontsize=7, ncol=2)
    figures = report["figures"]
    labels = ["bad\nrows", "good\nrows"]
    values = [figures["default_rate.bad_rows"] or 0, figures["default_rate.good_rows"] or 0]
    for band, line in report["bad_rate_by_band"].items():
        labels.append(f"band {band}\n({line['loans']:,})")
        values.append(line["default_rate"] or 0)
    rates.bar(
        labels,
        [100 * v for v in values],
        color=["tab:red", "tab:green"] + ["tab:blue"] * (len(labels) - 2),
    )
    rates.set_ylabel("% of paid-out loans defaulted\n(90+ DPD or written off)")
    rates.set_title("Default rate by hidden truth and price band")
    config = report["config"]
    fig.suptitle(
        f"mobilend simulate --applicants {config['applicants']} --days {config['days']} "
        f"--seed {config['seed']} (German credit rows; ledger balanced: {figures['ledger.balanced']})"
    )
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=90)


if __name__ == "__main__":
    render(json.loads(Path(sys.argv[1]).read_text("utf-8")), Path(sys.argv[2]))
