"""What every benchmark shares: the two run sizes, the figures collected, timing helpers.

A figure is one number with a plain name (``decision.p99_ms``). Each is recorded with
the name of a reference measured in the same run on the same machine (``references.*``)
and the ratio of the two (``ratios.<figure>``), so a busy or a quiet machine moves both
and the ratio survives. Lower is better for latencies, higher for rates; ``per`` says
which way a ratio reads.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Sizes:
    """How big each benchmark runs. ``quick`` is the CI size (minutes); ``full`` by hand."""

    name: str
    seconds: float  # per in-process rate measurement
    decisions: int  # in-process decisions timed
    pd_rows: int  # single-row PD calls timed
    loans: int  # loans originated over HTTP, after a warm-up
    clients: int  # concurrent HTTP clients
    eod_loans: tuple[int, ...]  # portfolio sizes for end of day
    console_loans: int  # loans on the book behind the console pages
    console_repeat: int  # timed requests per console page
    pgbench_scale: int
    pgbench_seconds: int
    reference_seconds: float  # each HTTP / insert reference
    serve_workers: int = 1  # ``mobilend serve --workers`` for origination over HTTP


QUICK = Sizes(
    name="quick",
    seconds=1.0,
    decisions=1_000,
    pd_rows=2_000,
    loans=48,
    clients=8,
    eod_loans=(5_000,),
    console_loans=5_000,
    console_repeat=1,
    pgbench_scale=4,
    pgbench_seconds=8,
    reference_seconds=3.0,
)
FULL = Sizes(
    name="full",
    seconds=2.0,
    decisions=5_000,
    pd_rows=5_000,
    loans=200,
    clients=16,
    eod_loans=(100_000, 1_000_000),
    console_loans=1_000_000,
    console_repeat=5,
    pgbench_scale=16,
    pgbench_seconds=15,
    reference_seconds=5.0,
)


@dataclass(frozen=True)
class Measure:
    """A figure, its same-run reference and how the ratio reads."""

    figure: str
    label: str  # what was measured, for the README table
    unit: str
    reference: str
    reference_label: str
    per: str  # how to read ratio = figure ÷ reference


@dataclass
class Results:
    """Everything one run measured: flat names → numbers, plus how they pair up."""

    values: dict[str, float] = field(default_factory=dict)
    measures: list[Measure] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)

    def reference(self, name: str, value: float) -> None:
        self.values[f"references.{name}"] = value

    def figure(
        self,
        name: str,
        value: float,
        *,
        label: str,
        unit: str,
        reference: str,
        reference_label: str,
        per: str,
    ) -> None:
        """Record a figure against an already recorded ``references.<reference>``."""
        ref_name = f"references.{reference}"
        self.values[name] = value
        base = self.values[ref_name]
        self.values[f"ratios.{name}"] = value / base if base else math.nan
        self.measures.append(Measure(name, label, unit, ref_name, reference_label, per))


def percentile(samples: list[float], q: float) -> float:
    """The ``q``-th percentile (0–100) by nearest rank."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def rate_per_second(work: Callable[[int], object], seconds: float) -> float:
    """Calls of ``work(i)`` per second, run for about ``seconds`` after a warm-up."""
    for i in range(50):
        work(i)
    done = 0
    started = time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        for _ in range(50):
            work(done)
            done += 1
    return done / (time.perf_counter() - started)


def time_each(work: Callable[[Any], object], items: list[Any], warmup: int = 50) -> list[float]:
    """Seconds per call of ``work(item)``, one sample per item, after a warm-up."""
    for item in items[:warmup]:
        work(item)
    samples = []
    for item in items:
        started = time.perf_counter()
        work(item)
        samples.append(time.perf_counter() - started)
    return samples
