"""``mobilend bench --quick --json`` runs every benchmark end to end (so the suite cannot rot).

One subprocess, as a user runs it, against the test server: the JSON must name every
figure of the README's performance table, each positive and finite, each with its
same-run reference and the ratio of the two. No time is asserted.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mobilend.benchmarks.table import render

pytestmark = pytest.mark.db

FIGURES = (
    "schedules.per_s",
    "model.pd_p50_us",
    "decision.p50_ms",
    "decision.p99_ms",
    "origination.p50_ms",
    "origination.p99_ms",
    "origination.loans_per_s",
    "eod.rows_per_s",
    "console.worst_ms",
)
REFERENCES = (
    "references.pgbench_tpcb_tps",
    "references.insert_endpoint_per_s",
    "references.decimal_loop_per_s",
    "references.health_per_s",
)


def positive(value: object) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and value > 0


def test_quick_bench_reports_every_figure_with_reference_and_ratio(
    pg_admin_url: str, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "MOBILEND_DATABASE_URL": pg_admin_url,
        "MOBILEND_VAR_DIR": str(tmp_path / "var"),
        # The command runs in tmp_path: a relative source path must still find this tree.
        "PYTHONPATH": os.pathsep.join(
            os.path.abspath(p) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p
        ),
    }
    done = subprocess.run(
        [sys.executable, "-m", "mobilend.cli.main", "bench", "--quick", "--json"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=840,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    document = json.loads(done.stdout)
    figures = document["figures"]
    assert document["size"] == "quick"
    assert document["failures"] == {}
    for name in (*FIGURES, *REFERENCES):
        assert positive(figures.get(name)), (name, figures.get(name))
    measures = {m["figure"]: m for m in document["measures"]}
    for name in FIGURES:
        measure = measures[name]
        assert measure["reference"].startswith("references.")
        assert measure["ratio"] == f"ratios.{name}"
        reference, ratio = figures[measure["reference"]], figures[measure["ratio"]]
        assert positive(reference) and positive(ratio), name
        assert math.isclose(ratio, figures[name] / reference, rel_tol=1e-3), name
    assert figures["decision.p99_ms"] >= figures["decision.p50_ms"]
    assert figures["origination.p99_ms"] >= figures["origination.p50_ms"]
    assert document["details"]["origination"]["loans"] == document["sizes"]["loans"]
    table = render(document)
    for name in FIGURES:
        assert f"(`{name}`)" in table
    # The run cleans up after itself: no benchmark database is left on the server.
    from mobilend.adapters.db import admin

    assert admin.list_databases(pg_admin_url, "mobilend_bench_") == []
