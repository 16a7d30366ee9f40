"""Credit decision latency: in process with data already fetched, and over HTTP.

1. In process: N decisions (default 10 000) through ``RiskDecisionEngine`` with the
   default PD model, the shipped policy files, an in-memory fraud store and full
   decision records, the three reports per applicant already fetched (held in memory).
   Prints p50 / p99 / mean and decisions per second, then replay latency.
2. Same-run references, to read the figures against this machine: one model
   ``score_one`` with reasons, one zen-engine knock-out evaluation, one canonical JSON
   dump of a decision record.
3. Full decisions over HTTP against the sandbox credit data service (started as a
   subprocess): M cold decisions (every report bought), then the same applicants again
   on new application ids, served from the report cache.
4. Batch model scoring throughput (rows/s) over ``data/credit_data.csv``.

    .venv/bin/python bench/bench_decision.py                 # 10 000 in process, 300 over HTTP
    .venv/bin/python bench/bench_decision.py -n 2000 --http 100 --model-dir var/models/default

The default model is trained from ``data/credit_data.csv`` on first use (a few minutes).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from mobilend.adapters.datasources import InMemoryReportCache, build_http_sources
from mobilend.benchmarks.compute import Prefetched, make_applicant
from mobilend.domain.money import Money
from mobilend.risk.engine import RiskDecisionEngine, load_default_scorer
from mobilend.risk.fraud import InMemoryFraudSignalStore
from mobilend.risk.policy import PolicyBook
from mobilend.risk.records import InMemoryDecisionRecordStore, canonical_json
from mobilend.sandbox.credit_profiles import (
    CreditDataset,
    bureau_report,
    ecommerce_profile,
    telco_record,
)

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data" / "credit_data.csv"
ON = dt.date(2026, 11, 2)
# The applicants and prefetched sources are the benchmark suite's (`mobilend bench`).


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
    mean = statistics.fmean(ordered) * 1000
    return f"p50 {p(0.50):7.3f} ms   p99 {p(0.99):7.3f} ms   mean {mean:7.3f} ms   ({len(ordered)} runs)"


def timed(fn: Callable[[], Any], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def in_process(scorer: Any, n: int) -> list[dict[str, Any]]:
    dataset = CreditDataset(DATA)
    people = [make_applicant(i) for i in range(n)]
    reports: dict[str, dict[str, dict[str, Any]]] = {"telco": {}, "bureau": {}, "ecommerce": {}}
    for person in people:
        row = dataset.row_for(person.national_id)
        reports["telco"][person.national_id] = telco_record(row, person.phone, True)
        reports["bureau"][person.national_id] = bureau_report(row, person.national_id, True)
        reports["ecommerce"][person.national_id] = ecommerce_profile(row, person.national_id)
    sources = {name: Prefetched(name, rep, dataset.data_version) for name, rep in reports.items()}
    engine = RiskDecisionEngine(scorer=scorer, sources=sources, fraud_store=InMemoryFraudSignalStore(),
                                records=InMemoryDecisionRecordStore())  # fmt: skip
    engine.decide(make_applicant(n + 1, "W"), ON)  # warm-up: compile policies, first model call
    samples, records, outcomes = [], [], Counter()
    for person in people:
        start = time.perf_counter()
        decision, record = engine.decide_with_record(person, ON)
        samples.append(time.perf_counter() - start)
        records.append(record)
        outcomes[decision.outcome] += 1
    print(f"in-process decision (data already fetched): {percentiles(samples)}")
    print(f"  {n / sum(samples):,.0f} decisions/s on one thread; outcomes {dict(outcomes)}")
    subset = records[: min(len(records), 1000)]
    replays = timed(lambda it=iter(subset): engine.replay(next(it)), len(subset))
    print(f"replay from record:                          {percentiles(replays)}")
    return records


def references(scorer: Any, record: dict[str, Any]) -> None:
    features = record["workings"].get("features") or {}
    print("same-run references:")
    print(
        f"  model score_one with reasons:              {percentiles(timed(lambda: scorer.score_one(features), 2000))}"
    )
    policy = PolicyBook().get("cash")
    facts = record["workings"]["stages"][0]["facts"]
    print(
        f"  zen knock-out table evaluate:              {percentiles(timed(lambda: policy.knockouts('application', facts), 2000))}"
    )
    print(
        f"  canonical JSON of one record:              {percentiles(timed(lambda: canonical_json(record), 2000))}"
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def over_http(scorer: Any, m: int) -> None:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    server = subprocess.Popen(
        [sys.executable, "-m", "mobilend.sandbox.credit_data", "--port", str(port), "--data", str(DATA)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(base + "/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("sandbox did not start")
            time.sleep(0.1)
        cache = InMemoryReportCache()
        sources = build_http_sources(base, cache=cache, timeout=2.0, retries=1)
        engine = RiskDecisionEngine(
            scorer=scorer, sources=sources, fraud_store=InMemoryFraudSignalStore()
        )
        engine.decide(make_applicant(10**6, "W"), ON)
        people = [make_applicant(i, "H") for i in range(m)]
        cold = []
        costs = Money("0")
        for person in people:
            start = time.perf_counter()
            _, record = engine.decide_with_record(person, ON)
            cold.append(time.perf_counter() - start)
            costs = costs + Money(record["costs"]["total"]["amount"])
        print(f"full decision over HTTP, reports bought:     {percentiles(cold)}")
        print(
            f"  data cost {costs.format()} CNY for {m} decisions ({(costs.amount / m).quantize(Money('0.01').amount)} each)"
        )
        again = [make_applicant(i, "R") for i in range(m)]
        warm = []
        for person in again:
            start = time.perf_counter()
            engine.decide(person, ON)
            warm.append(time.perf_counter() - start)
        print(f"full decision over HTTP, reports cached:     {percentiles(warm)}")
        usage = sources["bureau"].meter.snapshot()
        print(
            "  calls / cache hits: "
            + ", ".join(f"{k} {u.calls}/{u.cache_hits}" for k, u in sorted(usage.items()))
        )
    finally:
        server.terminate()
        server.wait(timeout=10)


def batch_scoring(scorer: Any) -> None:
    if not hasattr(scorer, "score_frame"):
        return
    from mobilend.risk.model.features import read_csv_frame

    frame = read_csv_frame(DATA)
    start = time.perf_counter()
    scorer.score_frame(frame)
    elapsed = time.perf_counter() - start
    print(
        f"batch scoring with reasons: {len(frame) / elapsed:,.0f} rows/s ({len(frame)} rows, {elapsed:.2f} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=10_000, help="in-process decisions")
    parser.add_argument("--http", type=int, default=300, help="decisions over HTTP (0 to skip)")
    parser.add_argument("--model-dir", default=None)
    args = parser.parse_args()
    started = time.perf_counter()
    scorer = load_default_scorer(args.model_dir)
    print(f"model {scorer.version[:16]}… ready in {time.perf_counter() - started:.1f} s")
    records = in_process(scorer, args.n)
    references(scorer, next(r for r in records if "features" in r["workings"]))
    if args.http:
        over_http(scorer, args.http)
    batch_scoring(scorer)


if __name__ == "__main__":
    main()
