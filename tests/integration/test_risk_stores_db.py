"""The risk engine's PostgreSQL stores against real PostgreSQL and the sandbox credit data
service over HTTP: the report cache reused within its TTL by another process saves the
cost; fraud counts equal the in-memory checks and see other processes' applications;
blacklist and ring queries; decision records sealed, append-only and replayed from the
database (also by ``mobilend decision replay ID``)."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
import os
import random
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from mobilend.adapters.datasources import build_http_sources
from mobilend.adapters.db.decision_record_repository import rotate_decision_records
from mobilend.adapters.db.risk_repository import (
    DecisionRecordConflict,
    DecisionRecordTampered,
    SqlDecisionRecordStore,
    SqlFraudSignalStore,
    SqlReportCache,
)
from mobilend.adapters.vault import FieldVault, KeyRing
from mobilend.domain.money import Money
from mobilend.risk.engine import RiskDecisionEngine
from mobilend.risk.fraud import InMemoryFraudSignalStore, observe, parse_rules
from mobilend.risk.policy import PolicyBook
from mobilend.risk.ports import ApplicationSighting
from mobilend.risk.records import canonical_json
from mobilend.risk.scoring import Challenger, MarketCondition, MarketOverlay
from mobilend.sandbox.credit_data import create_app

sys.path.append(str(Path(__file__).resolve().parent))
sys.path.append(str(Path(__file__).resolve().parents[1] / "unit" / "risk"))
from risk_fixtures import DATA_FILE, new_vault, small_model_dir
from risk_helpers import ConstantScorer, RuleScorer, applicant
from sandbox_fixtures import ServerThread

pytestmark = pytest.mark.db

ON = dt.date(2026, 11, 2)
INDEX_KEY = b"\x5a" * 32


@pytest.fixture(scope="module")
def credit_server() -> Iterator[str]:
    thread = ServerThread(create_app(DATA_FILE)).start()
    yield thread.base_url
    thread.stop()


@pytest.fixture
def sandbox(credit_server: str) -> str:
    httpx.post(f"{credit_server}/admin/reset", json={"seed": 7}, timeout=10).raise_for_status()
    return credit_server


def sandbox_calls(url: str) -> dict[str, int]:
    return httpx.get(f"{url}/admin/stats", timeout=10).json()["calls"]


@pytest.fixture
def ring() -> KeyRing:
    return KeyRing.generate("k1")


@pytest.fixture
def vault(ring: KeyRing) -> FieldVault:
    return new_vault(ring)


def engine_on(db: sa.Engine, vault: FieldVault, url: str, **options: Any) -> RiskDecisionEngine:
    """A fresh engine with its own adapters and stores, as another process would have."""
    options.setdefault("scorer", RuleScorer())
    return RiskDecisionEngine(
        sources=build_http_sources(
            url, cache=SqlReportCache(db, vault), retries=1, sleep=lambda _: None
        ),
        fraud_store=SqlFraudSignalStore(db, vault),
        records=SqlDecisionRecordStore(db, vault),
        **options,
    )


def table_text(db: sa.Engine, table: str) -> str:
    with db.connect() as conn:
        rows = conn.execute(sa.text(f"SELECT t::text FROM {table} t")).scalars().all()
    return "\n".join(rows)


# --------------------------------------------------------------------------- report cache


def test_a_report_is_reused_within_its_ttl_by_another_process_and_costs_nothing(
    db: sa.Engine, vault: FieldVault, sandbox: str
) -> None:
    person = applicant(11, region="310104")
    _, rec1 = engine_on(db, vault, sandbox).decide_with_record(person, ON)
    assert rec1["costs"]["by_source"]["bureau"]["amount"] == "2.00"
    bought = sandbox_calls(sandbox)
    assert bought["bureau"] == 1 and bought["telco"] == 1

    def again(days: int, suffix: str) -> dict[str, Any]:
        later = dataclasses.replace(person, application_id=f"APP-11-{suffix}")
        return engine_on(db, vault, sandbox).decide_with_record(later, ON + dt.timedelta(days))[1]

    within = again(5, "b")  # telco lives 7 days, the bureau report 30
    assert within["costs"]["total"] == {"amount": "0.00", "currency": "CNY"}
    assert all(e["cached"] for e in within["inputs"]["sources"])
    assert sandbox_calls(sandbox) == bought
    telco_expired = again(8, "c")["costs"]["by_source"]
    assert (telco_expired["telco"]["amount"], telco_expired["bureau"]["amount"]) == ("0.50", "0.00")
    bureau_expired = again(30, "d")
    assert bureau_expired["costs"]["by_source"]["bureau"]["amount"] == "2.00"

    spend = {s.source: s for s in SqlReportCache(db, vault).spend(ON, ON + dt.timedelta(60))}
    # One row per report: the newer bureau purchase replaced the old one (reuses start over).
    assert (spend["bureau"].purchases, spend["bureau"].spent) == (1, Money("2.00"))
    assert spend["telco"].spent == Money("0.50") and spend["telco"].reuses == 0
    text = table_text(db, "credit_reports")
    for secret in (person.national_id, person.full_name, person.phone):
        assert secret not in text
    assert SqlReportCache(db, vault).purge_expired(ON + dt.timedelta(days=59)) == len(spend) - 1
    assert SqlReportCache(db, vault).purge_expired(ON + dt.timedelta(days=60)) == 1  # the bureau


def test_reuse_counts_show_what_the_cache_saved(
    db: sa.Engine, vault: FieldVault, sandbox: str
) -> None:
    person = applicant(12, region="310104")
    for day in range(3):  # a fourth application on the same card would be declined
        later = dataclasses.replace(person, application_id=f"APP-12-{day}")
        engine_on(db, vault, sandbox).decide(later, ON + dt.timedelta(days=day))
    spend = {s.source: s for s in SqlReportCache(db, vault).spend(ON, ON)}
    assert (spend["bureau"].purchases, spend["bureau"].reuses) == (1, 2)
    assert spend["bureau"].saved == Money("4.00") and spend["telco"].saved == Money("1.00")
    assert sandbox_calls(sandbox)["bureau"] == 1


# --------------------------------------------------------------------------- fraud signals

CASH_RULES = parse_rules(PolicyBook().get("cash").fraud_rules)


def test_counted_fraud_signals_equal_the_in_memory_checks(db: sa.Engine, vault: FieldVault) -> None:
    rng = random.Random(20261102)
    pools = {
        "national_id": [f"11010519900517{n:04d}" for n in range(6)],
        "phone": [f"1390000{n:04d}" for n in range(5)],
        "device_id": [f"dev-{n}" for n in range(4)] + [""],
        "ip_address": [f"10.0.0.{n}" for n in range(3)] + [""],
        "bank_card": [f"62220000{n:08d}" for n in range(5)] + [""],
    }

    def sighting(app_id: str, day: int) -> ApplicationSighting:
        return ApplicationSighting(
            application_id=app_id,
            on=ON - dt.timedelta(days=day),
            **{name: rng.choice(values) for name, values in pools.items()},
        )

    memory = InMemoryFraudSignalStore(blacklist={"phone": [pools["phone"][0]]})
    sql = SqlFraudSignalStore(db, vault)
    sql.add_to_blacklist("phone", pools["phone"][0], "test")
    for n in range(60):
        past = sighting(f"A{n:03d}", rng.randint(0, 200))
        memory.record(past)
        sql.record(past)
    probes = [sighting(f"NEW{n}", 0) for n in range(12)] + [sighting("A007", 0)]
    probes.append(dataclasses.replace(probes[0], application_id="NEWX", phone=pools["phone"][0]))
    observed = []
    for probe in probes:
        expected = observe(memory, probe, CASH_RULES)
        assert observe(sql, probe, CASH_RULES) == expected
        observed.append(expected)
    assert max(o["shared:device_id:90d"] for o in observed) >= 3  # the pools did collide
    assert any(o["blacklisted"] == ["phone"] for o in observed)


RECORDER = textwrap.dedent(
    """
    import base64, datetime as dt, sys
    from mobilend.adapters.db.engine import create_engine
    from mobilend.adapters.db.risk_repository import SqlFraudSignalStore
    from mobilend.adapters.vault import FieldVault, KeyRing
    from mobilend.risk.ports import ApplicationSighting
    url, key, seq, device = sys.argv[1:5]
    vault = FieldVault(KeyRing((("k1", base64.b64decode(key)),)), b"\\x5a" * 32)
    store = SqlFraudSignalStore(create_engine(url, pool_size=1), vault)
    store.record(ApplicationSighting(
        application_id=f"PROC-{seq}", on=dt.date(2026, 11, 2), national_id=f"ID-{seq}",
        phone=f"1380000{seq}", device_id=device))
    """
)


def test_velocity_counts_applications_made_in_other_processes(db: sa.Engine, sandbox: str) -> None:
    key = os.urandom(32)
    vault = FieldVault(KeyRing((("k1", key),)), INDEX_KEY)
    url = db.url.render_as_string(hide_password=False)
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", RECORDER, url, base64.b64encode(key).decode(), str(n), "ring-1"]
        )
        for n in range(3)
    ]
    assert [w.wait(timeout=120) for w in workers] == [0, 0, 0]
    engine = engine_on(db, vault, sandbox, scorer=ConstantScorer(0.01))
    decision, record = engine.decide_with_record(applicant(21, device_id="ring-1"), ON)
    fraud = record["inputs"]["fraud"]
    assert (fraud["velocity:device_id:1d"], fraud["shared:device_id:90d"]) == (4, 4)
    assert decision.outcome == "decline"
    assert {"FRAUD_DEVICE_VELOCITY", "FRAUD_DEVICE_SHARED"} <= {r.code for r in decision.reasons}
    alone = engine.decide(applicant(22, device_id="own-phone"), ON)
    assert not {r.code for r in alone.reasons} & {"FRAUD_DEVICE_VELOCITY", "FRAUD_DEVICE_SHARED"}


def test_a_blacklisted_phone_is_declined_and_only_its_index_is_stored(
    db: sa.Engine, vault: FieldVault, sandbox: str
) -> None:
    listed, clean = applicant(31, region="310104"), applicant(32, region="310104")
    store = SqlFraudSignalStore(db, vault)
    store.add_to_blacklist("phone", listed.phone, "confirmed fraud")
    engine = engine_on(db, vault, sandbox, scorer=ConstantScorer(0.01))
    hit = engine.decide(listed, ON)
    assert (hit.outcome, [r.code for r in hit.reasons]) == ("decline", ["KO_BLACKLIST"])
    assert "KO_BLACKLIST" not in [r.code for r in engine.decide(clean, ON).reasons]
    assert listed.phone not in table_text(db, "fraud_blacklist")
    assert store.remove_from_blacklist("phone", listed.phone)
    assert not store.is_blacklisted("phone", listed.phone)
    sightings = table_text(db, "fraud_sightings")
    for secret in (listed.national_id, listed.phone, listed.device_id, listed.bank_card):
        assert secret not in sightings


def test_ring_queries_find_shared_devices_and_linked_applications(
    db: sa.Engine, vault: FieldVault
) -> None:
    store = SqlFraudSignalStore(db, vault)
    for app_id, nid, phone, device in [
        ("A", "ID-A", "13800000001", "dev-1"),
        ("B", "ID-B", "13800000002", "dev-1"),
        ("C", "ID-C", "13800000002", "dev-3"),
        ("D", "ID-D", "13800000004", "dev-4"),
        ("E", "ID-E", "13800000005", "dev-1"),
    ]:
        store.record(ApplicationSighting(app_id, ON, nid, phone, device_id=device))
    shared = store.shared_identifiers("device_id", ON, ON)
    assert [(s.value_bidx, s.people) for s in shared] == [
        (vault.blind_index("device_id", "dev-1"), 3)
    ]
    assert store.linked_applications("A", ON, ON, hops=1).application_ids == ("A", "B", "E")
    ring = store.linked_applications("A", ON, ON, hops=2)
    assert (ring.application_ids, ring.people) == (("A", "B", "C", "E"), 4)
    assert store.linked_applications("D", ON, ON).application_ids == ("D",)
    assert len(store.sightings("device_id", "dev-1", ON, ON)) == 3
    store.read_only().record(ApplicationSighting("F", ON, "ID-F", "138", device_id="dev-1"))
    assert len(store.sightings("device_id", "dev-1", ON, ON)) == 3


# --------------------------------------------------------------------------- decision records


def test_decision_records_are_sealed_summarised_and_replayed_byte_for_byte(
    db: sa.Engine, ring: KeyRing, vault: FieldVault, sandbox: str
) -> None:
    engine = engine_on(db, vault, sandbox)
    people = [applicant(40 + i, product=("cash", "phone")[i % 2], region="310104",
                        declared={"requested_amount": "6000", "purchase_price": "4999"})
              for i in range(8)]  # fmt: skip
    results = [engine.decide_with_record(p, ON) for p in people]
    assert {d.outcome for d, _ in results} >= {"approve"}
    store = SqlDecisionRecordStore(db, vault)
    with db.connect() as conn:
        rows = {r.id: r for r in conn.execute(sa.text("SELECT * FROM decisions"))}
    for (decision, record), person in zip(results, people, strict=True):
        row = rows[decision.decision_id]
        assert (row.outcome, row.application_id, row.borrower_id) == (
            decision.outcome, person.application_id, person.borrower_id,
        )  # fmt: skip
        assert row.limit_minor == (decision.limit.to_minor() if decision.limit else None)
        assert (Decimal(row.annual_rate) if row.annual_rate is not None else None) == (
            Decimal(decision.annual_rate) if decision.annual_rate is not None else None
        )
        assert (row.arm, row.market, row.policy_id) == ("champion", decision.versions["market"],
                                                        decision.versions["policy"])  # fmt: skip
        assert row.versions == dict(decision.versions)
        assert row.cost_minor == Money(record["costs"]["total"]["amount"]).to_minor()
        sealed = json.dumps(row.record, ensure_ascii=False)
        for secret in (person.national_id, person.full_name, person.phone, person.bank_card):
            assert secret not in sealed
        assert store.raw(decision.decision_id) == canonical_json(record)
        assert engine.replay(store.get(decision.decision_id)) == decision
    spent: dict[str, Decimal] = {}
    for _, record in results:
        for source, cost in record["costs"]["by_source"].items():
            spent[source] = spent.get(source, Decimal(0)) + Decimal(cost["amount"])
    with db.connect() as conn:  # the spend-by-source query of docs/risk.md
        by_source = conn.execute(
            sa.text(
                "SELECT s.key, sum((s.value->>'amount')::numeric) FROM decisions d, "
                "jsonb_each(d.record->'costs'->'by_source') s "
                "WHERE d.decided_on BETWEEN :since AND :until GROUP BY 1"
            ),
            {"since": ON, "until": ON},
        ).all()
    assert dict(by_source) == spent and spent["bureau"] > 0
    decision, record = results[0]
    store.save(decision.decision_id, record)  # the same record again: harmless
    other = {**record, "decided_on": "2026-11-03"}
    with pytest.raises(DecisionRecordConflict):
        store.save(decision.decision_id, other)
    new_key = ("k2", os.urandom(32))
    rotated = FieldVault(KeyRing((new_key, *ring.keys)), INDEX_KEY)
    assert SqlDecisionRecordStore(db, rotated).get(decision.decision_id) == record
    assert rotate_decision_records(db, rotated, batch_size=3) == len(results)
    assert rotate_decision_records(db, rotated) == 0
    retired = FieldVault(KeyRing((new_key,)), INDEX_KEY)  # the old key is gone
    for decision, record in results:
        assert SqlDecisionRecordStore(db, retired).raw(decision.decision_id) == canonical_json(
            record
        )


def test_decision_rows_are_append_only_and_tampering_is_detected(
    db: sa.Engine, vault: FieldVault, sandbox: str
) -> None:
    decision = engine_on(db, vault, sandbox).decide(applicant(50, region="310104"), ON)
    for statement in (
        "UPDATE decisions SET outcome = 'approve', limit_minor = 99999900",
        "DELETE FROM decisions",
    ):
        with pytest.raises(sa.exc.DBAPIError, match="is a record"), db.begin() as conn:
            conn.execute(sa.text(statement))
    flipped = "decline" if decision.outcome != "decline" else "approve"
    with db.begin() as conn:  # the sealed record may be rewritten (key rotation) ...
        conn.execute(
            sa.text(
                "UPDATE decisions SET record = "
                "jsonb_set(record, '{result,outcome}', CAST(:v AS jsonb))"
            ),
            {"v": json.dumps(flipped)},
        )
    with pytest.raises(DecisionRecordTampered):  # ... but must still open to what was saved
        SqlDecisionRecordStore(db, vault).get(decision.decision_id)


def test_the_challenger_arm_and_market_overlay_are_stored_and_replayed(
    db: sa.Engine, vault: FieldVault, sandbox: str
) -> None:
    stress = MarketCondition(
        "stress-2026-11", dt.date(2026, 11, 1), Decimal("1.5"), 5, Decimal("0.8"), "压力", "stress"
    )
    engine = engine_on(
        db, vault, sandbox,
        overlay=MarketOverlay([MarketCondition("base", dt.date(2020, 1, 1)), stress]),
        challenger=Challenger("const-trial", Decimal("0.5"), scorer=ConstantScorer(0.02)),
    )  # fmt: skip
    decisions = [engine.decide(applicant(60 + i, region="310104"), ON) for i in range(12)]
    store = SqlDecisionRecordStore(db, vault)
    counts = store.outcomes_by_arm(ON, ON)
    assert {arm for arm, _ in counts} == {"champion", "challenger"}
    assert sum(counts.values()) == 12
    assert counts == {
        (arm, outcome): sum(
            1 for d in decisions if (d.versions["arm"], d.outcome) == (arm, outcome)
        )
        for arm, outcome in counts
    }
    with db.connect() as conn:
        markets = set(conn.execute(sa.text("SELECT DISTINCT market FROM decisions")).scalars())
    assert markets == {"stress-2026-11"}
    for decision in decisions:
        assert engine.replay(store.get(decision.decision_id)) == decision


def test_cli_replays_a_decision_from_the_database(
    db: sa.Engine, sandbox: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mobilend.bootstrap.risk import build_risk_engine
    from mobilend.cli.main import app
    from mobilend.config import get_settings

    monkeypatch.setenv("MOBILEND_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("MOBILEND_MODEL_DIR", str(small_model_dir()))
    get_settings.cache_clear()
    try:
        settings = get_settings()
        engine = build_risk_engine(settings, db=db, credit_data_url=sandbox)
        people = [applicant(70 + i, product=("cash", "phone", "sme")[i % 3], region="310104",
                            declared={"requested_amount": "6000", "purchase_price": "4999"})
                  for i in range(6)]  # fmt: skip
        decisions = [engine.decide(p, ON) for p in people]
        runner = CliRunner()
        for decision in decisions[:3]:
            result = runner.invoke(app, ["decision", "replay", decision.decision_id])
            assert result.exit_code == 0, result.output
            assert decision.outcome in result.output and "identical" in result.output
        assert runner.invoke(app, ["decision", "replay", "DEC-NOPE"]).exit_code == 2
        with db.begin() as conn:
            conn.execute(
                sa.text("UPDATE decisions SET record = jsonb_set(record, '{decided_on}', "
                        "'\"2026-11-03\"') WHERE id = :id"),
                {"id": decisions[0].decision_id},
            )  # fmt: skip
        tampered = runner.invoke(app, ["decision", "replay", decisions[0].decision_id])
        assert tampered.exit_code == 1 and "cannot read record" in tampered.output
    finally:
        get_settings.cache_clear()


def test_the_service_wiring_reads_the_challenger_from_the_policy_files(
    db: sa.Engine, sandbox: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mobilend.bootstrap.risk import build_risk_engine
    from mobilend.config import get_settings
    from mobilend.risk.policy import FILES_DIR
    from mobilend.risk.policy.loader import PolicyError

    files = tmp_path / "policy"
    shutil.copytree(FILES_DIR, files)
    for scenario in ("cash", "phone", "sme"):
        shutil.copytree(files / scenario / "v1", files / scenario / "v1-tight")
        manifest = json.loads((files / scenario / "v1-tight" / "policy.json").read_text("utf-8"))
        manifest.update(version="v1-tight", product_max="2000")
        (files / scenario / "v1-tight" / "policy.json").write_text(json.dumps(manifest), "utf-8")
    index = json.loads((files / "active.json").read_text("utf-8"))
    index["challenger"] = {"name": "tight-max", "share": "0.5", "policy_version": "v1-tight"}
    (files / "active.json").write_text(json.dumps(index), "utf-8")
    monkeypatch.setenv("MOBILEND_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("MOBILEND_MODEL_DIR", str(small_model_dir()))
    monkeypatch.setenv("MOBILEND_POLICY_DIR", str(files))
    get_settings.cache_clear()
    try:
        engine = build_risk_engine(get_settings(), db=db, credit_data_url=sandbox)
        decisions = [engine.decide(applicant(80 + i, region="310104"), ON) for i in range(16)]
        arms = {d.versions["arm"] for d in decisions}
        assert arms == {"champion", "challenger"}
        for d in decisions:
            tight = d.versions["arm"] == "challenger"
            assert d.versions["policy"] == ("cash/v1-tight" if tight else "cash/v1")
            assert d.versions["challenger"] == ("tight-max" if tight else "")
            if tight and d.limit is not None:
                assert d.limit <= Money("2000")
        with db.connect() as conn:
            stored = dict(conn.execute(sa.text("SELECT id, arm FROM decisions")).all())
        assert stored == {d.decision_id: d.versions["arm"] for d in decisions}
        shutil.rmtree(files / "sme" / "v1-tight")  # a challenger version some scenario lacks
        with pytest.raises(PolicyError):
            build_risk_engine(get_settings(), db=db, credit_data_url=sandbox)
    finally:
        get_settings.cache_clear()


def test_a_promotion_takes_effect_at_the_next_decision_of_the_running_service(
    db: sa.Engine, sandbox: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mobilend.adapters.risk_versions import FileRiskVersions, ReloadingDecisionEngine
    from mobilend.bootstrap.platform import build_decision_engine
    from mobilend.config import get_settings
    from mobilend.risk.policy import FILES_DIR

    files = tmp_path / "policy"
    shutil.copytree(FILES_DIR, files)
    shutil.copytree(files / "cash" / "v1", files / "cash" / "v2")
    manifest = json.loads((files / "cash" / "v2" / "policy.json").read_text("utf-8"))
    manifest.update(version="v2")
    (files / "cash" / "v2" / "policy.json").write_text(json.dumps(manifest), "utf-8")
    monkeypatch.setenv("MOBILEND_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("MOBILEND_MODEL_DIR", str(small_model_dir()))
    monkeypatch.setenv("MOBILEND_POLICY_DIR", str(files))
    monkeypatch.setenv("MOBILEND_CREDIT_DATA_URL", sandbox)
    monkeypatch.setenv("MOBILEND_DECISION_ENGINE", "risk")
    get_settings.cache_clear()
    try:
        engine = build_decision_engine(get_settings(), db=db)
        assert isinstance(engine, ReloadingDecisionEngine)
        before = engine.decide(applicant(90, region="310104"), ON)
        assert before.versions["policy"] == "cash/v1"
        versions = FileRiskVersions(files, tmp_path / "models", small_model_dir(), writable=True)
        versions.promote_policy("cash", "v2")  # what an approved promotion does
        after = engine.decide(applicant(91, region="310104"), ON)
        assert after.versions["policy"] == "cash/v2"
        assert engine.rebuilds == 1
        engine.decide(applicant(92, region="310104"), ON)
        assert engine.rebuilds == 1  # nothing changed: the engine is kept
        (files / "active.json").write_text("{not json", "utf-8")  # a broken hand edit
        kept = engine.decide(applicant(93, region="310104"), ON)
        assert kept.versions["policy"] == "cash/v2"
    finally:
        get_settings.cache_clear()
