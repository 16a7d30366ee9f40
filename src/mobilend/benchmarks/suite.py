"""Run the benchmarks and put their figures in one JSON document.

Each benchmark fills the shared ``Results``; one that fails is reported under
``failures`` and the others still run (the command then exits non-zero). The document:

    {"size": "quick", "machine": {...}, "seconds": 142.3,
     "figures": {"schedules.per_s": 4408.1, "references.decimal_loop_per_s": 84900.0,
                 "ratios.schedules.per_s": 0.0519, ...},
     "measures": [{"figure": "schedules.per_s", "reference": "references.decimal_loop_per_s",
                   "ratio": "ratios.schedules.per_s", "label": ..., "unit": ..., ...}],
     "details": {...}, "failures": {}}
"""

from __future__ import annotations

import datetime as dt
import math
import os
import platform
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import sqlalchemy as sa

from mobilend.benchmarks import compute, console, eod, origination, processes
from mobilend.benchmarks.measure import FULL, QUICK, Results, Sizes

Benchmark = Callable[[Results, Sizes, "Shared"], None]

#: The figures every run must produce (the quick-size test checks each).
REQUIRED_FIGURES = (
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


class Shared:
    """What several benchmarks use, made once: the PD model."""

    def __init__(self, sizes: Sizes, results: Results) -> None:
        self._sizes = sizes
        self._results = results
        self._scorer: Any = None

    @property
    def scorer(self) -> Any:
        if self._scorer is None:
            self._scorer = compute.pd_scorer(self._sizes, self._results.details)
        return self._scorer


BENCHMARKS: dict[str, Benchmark] = {
    "schedules": lambda r, s, _: compute.schedules(r, s),
    "model": lambda r, s, shared: compute.model(r, s, shared.scorer),
    "decision": lambda r, s, shared: compute.decision(r, s, shared.scorer),
    "eod": lambda r, s, _: eod.eod(r, s),
    "console": lambda r, s, _: console.console(r, s),
    "origination": lambda r, s, _: origination.origination(r, s),
}


def sizes_for(quick: bool, eod_loans: tuple[int, ...] = (), serve_workers: int = 1) -> Sizes:
    from dataclasses import replace

    sizes = replace(QUICK if quick else FULL, serve_workers=serve_workers)
    return replace(sizes, eod_loans=eod_loans) if eod_loans else sizes


def postgres_version() -> str:
    engine = sa.create_engine(processes.admin_url(), pool_size=1)
    try:
        with engine.connect() as conn:
            return str(conn.execute(sa.text("SHOW server_version")).scalar_one())
    finally:
        engine.dispose()


def run(
    sizes: Sizes, only: list[str] | None = None, progress: Callable[[str], None] = lambda _: None
) -> dict[str, Any]:
    unknown = sorted(set(only or ()) - set(BENCHMARKS))
    if unknown:
        raise ValueError(
            f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}"
        )
    chosen = [name for name in BENCHMARKS if not only or name in only]
    results = Results()
    shared = Shared(sizes, results)
    started_at = dt.datetime.now(dt.UTC)
    load_before = os.getloadavg()
    started = time.perf_counter()
    seconds: dict[str, float] = {}
    for name in chosen:
        progress(f"{name} …")
        began = time.perf_counter()
        try:
            BENCHMARKS[name](results, sizes, shared)
        except Exception as exc:  # the other benchmarks still run; the failure is reported
            results.failures[name] = f"{type(exc).__name__}: {exc}"
            progress(traceback.format_exc())
        seconds[name] = round(time.perf_counter() - began, 1)
        progress(f"{name} done in {seconds[name]:.0f} s")
    return {
        "size": sizes.name,
        "started_at": started_at.isoformat(timespec="seconds"),
        "seconds": round(time.perf_counter() - started, 1),
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "python": platform.python_version(),
            "postgresql": postgres_version(),
        },
        "sizes": asdict(sizes),
        "figures": {name: significant(value) for name, value in results.values.items()},
        "measures": [{**asdict(m), "ratio": f"ratios.{m.figure}"} for m in results.measures],
        "details": {**results.details, "seconds": seconds},
        "failures": results.failures,
    }


def significant(value: float, digits: int = 6) -> float:
    """``value`` to ``digits`` significant digits (JSON stays readable)."""
    if not math.isfinite(value) or value == 0:
        return value
    return round(value, digits - 1 - math.floor(math.log10(abs(value))))
