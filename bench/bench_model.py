"""Credit-model scoring speed: one application at a time, and batch throughput.

Trains each kind of model on data/credit_data.csv (one CV repeat: this measures scoring,
not training; the blend is the one of all four single candidates), then reports

* ``score_one`` latency p50/p99 (with and without reason codes) over many applications;
* batch ``score_frame`` rows/s on a large frame;
* a same-run reference for each: a numpy dot product of the same size, so figures from
  different machines or loads can be compared as ratios.

Run: ``.venv/bin/python bench/bench_model.py [--rows 100000] [--singles 5000]
[--kind scorecard --kind blend ...]``
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from mobilend.risk.model import TrainingConfig, load_model, save_model, train_model
from mobilend.risk.model.candidates import CandidateKind
from mobilend.risk.model.features import read_csv_frame

DATA = Path(__file__).resolve().parents[1] / "data" / "credit_data.csv"
TARGET, ID = "Status", "rownames"


def percentiles(samples: list[float]) -> tuple[float, float]:
    p50, p99 = np.percentile(np.asarray(samples) * 1e6, [50, 99])
    return float(p50), float(p99)


def time_each(fn, items, warmup: int = 200) -> list[float]:
    for item in items[:warmup]:
        fn(item)
    out = []
    for item in items:
        start = time.perf_counter()
        fn(item)
        out.append(time.perf_counter() - start)
    return out


def best_of(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000, help="batch size")
    parser.add_argument("--singles", type=int, default=5_000, help="single-row calls")
    parser.add_argument(
        "--kind",
        action="append",
        choices=[k.value for k in CandidateKind],
        help="model kind (repeatable; default all)",
    )
    args = parser.parse_args()
    kinds = [CandidateKind(k) for k in args.kind] if args.kind else list(CandidateKind)

    frame = read_csv_frame(DATA)
    records = frame.drop(columns=[TARGET, ID]).to_dict("records")
    singles = [records[i % len(records)] for i in range(args.singles)]
    big = pd.concat([frame] * (args.rows // len(frame) + 1), ignore_index=True).head(args.rows)
    n_features = len(records[0])

    # Same-run references: a dot product of one row, and of the whole batch.
    rng = np.random.default_rng(0)
    weights = rng.normal(size=n_features)
    rows = [rng.normal(size=n_features) for _ in range(args.singles)]
    ref_p50, ref_p99 = percentiles(time_each(lambda r: float(weights @ r), rows))
    matrix = rng.normal(size=(args.rows, n_features))
    ref_rate = args.rows / best_of(lambda: matrix @ weights)
    print(
        f"machine reference: numpy dot, 1×{n_features}: p50 {ref_p50:.2f} µs, p99 {ref_p99:.2f} µs"
    )
    print(f"machine reference: numpy dot, {args.rows}×{n_features}: {ref_rate:,.0f} rows/s")
    print()

    with tempfile.TemporaryDirectory(prefix="bench-model-") as tmp:
        for kind in kinds:
            bench_kind(kind, frame, singles, big, Path(tmp), ref_p50, ref_rate)


def bench_kind(
    kind: CandidateKind,
    frame: pd.DataFrame,
    singles: list[dict],
    big: pd.DataFrame,
    tmp: Path,
    ref_p50: float,
    ref_rate: float,
) -> None:
    start = time.perf_counter()
    if kind is CandidateKind.BLEND:
        # The blend whatever the selection says: its scoring speed is what is measured.
        trained = train_model(
            frame, TARGET, ID, config=TrainingConfig(repeats=1), keep_candidates=True
        )
        trained = dataclasses.replace(trained, fitted=trained.refitted[kind])
    else:
        trained = train_model(
            frame, TARGET, ID, config=TrainingConfig(repeats=1, candidates=(kind,))
        )
    train_seconds = time.perf_counter() - start
    model = load_model(save_model(trained, tmp / kind.value))
    with_reasons = percentiles(time_each(model.score_one, singles))
    without = percentiles(time_each(lambda r: model.score_one(r, with_reasons=False), singles))
    model.score_frame(big.head(1000))  # load the pipeline before timing
    rows = len(big)
    batch_rate = rows / best_of(lambda: model.score_frame(big))
    batch_plain = rows / best_of(lambda: model.score_frame(big, with_reasons=False))
    print(f"{kind.value} (trained in {train_seconds:.1f} s, 5-fold CV × 1)")
    print(
        f"  score_one with reasons:    p50 {with_reasons[0]:7.1f} µs  p99 {with_reasons[1]:7.1f} µs"
        f"  (p50 = {with_reasons[0] / ref_p50:,.0f}× the 1-row dot)"
    )
    print(f"  score_one without reasons: p50 {without[0]:7.1f} µs  p99 {without[1]:7.1f} µs")
    print(
        f"  score_frame {rows:,} rows: {batch_rate:,.0f} rows/s with reasons, "
        f"{batch_plain:,.0f} rows/s without (the dot reference is {ref_rate / batch_plain:,.0f}× faster)"
    )


if __name__ == "__main__":
    main()
