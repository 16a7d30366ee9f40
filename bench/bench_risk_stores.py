"""Credit decisions on the PostgreSQL stores the service uses: latency and throughput.

In a fresh database (on ``MOBILEND_DATABASE_URL``, or the embedded server):

1. N decisions through ``RiskDecisionEngine`` with the default PD model, the reports
   already fetched (in memory), and the PostgreSQL fraud store (velocity / shared /
   spread counts, blacklist, the sighting) and decision record store (record sealed by
   the PII vault, summary row): p50 / p99, against the same decisions on in-memory stores.
2. Report cache: a hit (served again, reuse counted) and a put.
3. Replay from the database: read, open the sealed record, verify its SHA-256, replay.
4. The fraud checks alone once the sightings table holds N applications.

    .venv/bin/python bench/bench_risk_stores.py            # 2 000 decisions
    .venv/bin/python bench/bench_risk_stores.py -n 500 --model-dir var/models/default
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from collections import Counter
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_decision import DATA, ON, Prefetched, make_applicant, percentiles, timed

from mobilend.adapters.db import admin, migrate
from mobilend.adapters.db.engine import database_url
from mobilend.adapters.db.risk_repository import (
    SqlDecisionRecordStore,
    SqlFraudSignalStore,
    SqlReportCache,
)
from mobilend.adapters.vault import FieldVault, KeyRing
from mobilend.domain.money import Money
from mobilend.risk.engine import RiskDecisionEngine, load_default_scorer
from mobilend.risk.fraud import InMemoryFraudSignalStore, observe, parse_rules
from mobilend.risk.policy import PolicyBook
from mobilend.risk.ports import ApplicationSighting, SourceReport
from mobilend.risk.records import InMemoryDecisionRecordStore
from mobilend.sandbox.credit_profiles import (
    CreditDataset,
    bureau_report,
    ecommerce_profile,
    telco_record,
)


def prefetched(people: list) -> dict[str, Prefetched]:  # type: ignore[type-arg]
    dataset = CreditDataset(DATA)
    reports: dict[str, dict[str, dict]] = {"telco": {}, "bureau": {}, "ecommerce": {}}  # type: ignore[type-arg]
    for person in people:
        row = dataset.row_for(person.national_id)
        reports["telco"][person.national_id] = telco_record(row, person.phone, True)
        reports["bureau"][person.national_id] = bureau_report(row, person.national_id, True)
        reports["ecommerce"][person.national_id] = ecommerce_profile(row, person.national_id)
    return {name: Prefetched(name, rep, dataset.data_version) for name, rep in reports.items()}


def run(engine: RiskDecisionEngine, people: list, label: str) -> list[float]:  # type: ignore[type-arg]
    samples, outcomes = [], Counter()
    for person in people:
        start = time.perf_counter()
        decision = engine.decide(person, ON)
        samples.append(time.perf_counter() - start)
        outcomes[decision.outcome] += 1
    print(f"{label}{percentiles(samples)}")
    print(f"  {len(people) / sum(samples):,.0f} decisions/s on one thread; {dict(outcomes)}")
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=2000, help="decisions")
    parser.add_argument("--model-dir", default=None)
    args = parser.parse_args()
    scorer = load_default_scorer(args.model_dir)
    admin_url = database_url()
    name = f"mobilend_bench_risk_{os.getpid()}"
    url = admin.create_database(admin_url, name)
    db = sa.create_engine(url, pool_size=4)
    vault = FieldVault(KeyRing.generate("k1"), os.urandom(32))
    try:
        migrate.upgrade(url)
        people = [make_applicant(i) for i in range(args.n)]
        sources = prefetched([*people, make_applicant(args.n + 1, "W")])
        memory = RiskDecisionEngine(scorer=scorer, sources=sources,
                                    fraud_store=InMemoryFraudSignalStore(),
                                    records=InMemoryDecisionRecordStore())  # fmt: skip
        memory.decide(make_applicant(args.n + 1, "W"), ON)
        run(memory, [make_applicant(i, "M") for i in range(args.n)], "in-memory stores:    ")
        fraud = SqlFraudSignalStore(db, vault)
        records = SqlDecisionRecordStore(db, vault)
        engine = RiskDecisionEngine(scorer=scorer, sources=sources, fraud_store=fraud,
                                    records=records)  # fmt: skip
        engine.decide(make_applicant(args.n + 1, "W"), ON)
        run(engine, people, "PostgreSQL stores:   ")

        cache = SqlReportCache(db, vault)
        report = SourceReport("bureau", sources["bureau"].reports[people[0].national_id],
                              "v", ON, Money("2.00"))  # fmt: skip
        keys = [f"key-{i}" for i in range(500)]
        puts = timed(lambda it=iter(keys): cache.put(next(it), report), len(keys))
        hits = timed(lambda it=iter(keys): cache.get(next(it), ON, 30), len(keys))
        print(f"report cache put:     {percentiles(puts)}")
        print(f"report cache hit:     {percentiles(hits)}")

        ids = [f"DEC-{p.application_id}-{ON:%Y%m%d}" for p in people[:500]]
        replays = timed(lambda it=iter(ids): engine.replay(records.get(next(it))), len(ids))
        print(f"replay from database: {percentiles(replays)}")
        stored = [records.get(i) for i in ids]
        copies = iter([{**r, "decision_id": r["decision_id"] + "-C"} for r in stored])
        saves = timed(lambda: (lambda r: records.save(r["decision_id"], r))(next(copies)), 500)
        print(f"record seal + save:   {percentiles(saves)}")
        with db.begin() as conn:
            conn.execute(sa.text("CREATE TABLE bench_ref (id bigint, body text)"))

        def bare_insert(it=iter(range(500))) -> None:
            with db.begin() as conn:
                conn.execute(sa.text("INSERT INTO bench_ref VALUES (:i, 'x')"), {"i": next(it)})

        print(f"reference: one-row INSERT + durable commit: {percentiles(timed(bare_insert, 500))}")

        rules = parse_rules(PolicyBook().get("cash").fraud_rules)
        probe = make_applicant(3, "P")
        sighting = ApplicationSighting(
            probe.application_id, ON, probe.national_id, probe.phone, probe.device_id,
            probe.ip_address, probe.bank_card,
        )  # fmt: skip
        checks = timed(lambda: observe(fraud, sighting, rules), 500)
        with db.connect() as conn:
            held = conn.execute(sa.text("SELECT count(*) FROM fraud_sightings")).scalar()
        print(f"fraud checks ({len(rules)} rules + blacklist, {held:,} sightings held): "
              f"{percentiles(checks)}")  # fmt: skip
        print(f"(measured {dt.datetime.now(dt.UTC):%Y-%m-%d}, {os.cpu_count()} cores)")
    finally:
        db.dispose()
        admin.drop_database(admin_url, name)


if __name__ == "__main__":
    main()
