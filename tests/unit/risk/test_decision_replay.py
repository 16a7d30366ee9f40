"""Decision replay from the console: a stored record replayed with its own policy and
model rebuilds it exactly; replayed with another champion model it shows what would be
decided now and where it differs; every replay is audited; only the roles that may
replay can."""

from __future__ import annotations

import datetime as dt

import pytest
from risk_helpers import DECISION_DATE, ConstantScorer, RuleScorer, applicant, stub_sources

from mobilend.adapters.auth import AuditLog, InMemoryAuditStore
from mobilend.app.operations.ports import StaffActor
from mobilend.app.operations.replay import replay_decision
from mobilend.domain.errors import NotFound
from mobilend.domain.staff import Forbidden
from mobilend.risk.engine import RiskDecisionEngine
from mobilend.risk.fraud import InMemoryFraudSignalStore
from mobilend.risk.records import InMemoryDecisionRecordStore

RISK = StaffActor("r1", "risk-1", frozenset({"risk"}))
AUDITOR = StaffActor("a1", "auditor-1", frozenset({"auditor"}))
OPERATIONS = StaffActor("o1", "ops-1", frozenset({"operations"}))
NOW = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


def engine(
    scorer: object, records: InMemoryDecisionRecordStore | None = None
) -> RiskDecisionEngine:
    return RiskDecisionEngine(
        scorer=scorer,  # type: ignore[arg-type]
        sources=stub_sources(),
        fraud_store=InMemoryFraudSignalStore(),
        records=records,
    )


@pytest.fixture
def stored() -> tuple[InMemoryDecisionRecordStore, str]:
    records = InMemoryDecisionRecordStore()
    decision = engine(RuleScorer(), records).decide(
        applicant(7, product="cash", region="310104", income="9000",
                  declared={"requested_amount": "8000", "term_months": 12}),
        DECISION_DATE,
    )  # fmt: skip
    assert decision.outcome.value == "approve"
    return records, decision.decision_id


def test_replay_with_the_recorded_versions_matches_and_is_audited(stored) -> None:  # type: ignore[no-untyped-def]
    records, decision_id = stored
    store = InMemoryAuditStore()
    replayer = engine(RuleScorer())
    report = replay_decision(
        RISK, records, lambda: replayer, AuditLog(store), lambda: NOW, decision_id, current=False
    )
    assert report.identical and report.differences == [] and report.error == ""
    [entry] = store.records()
    assert (entry.action, entry.target, entry.actor) == (
        "decision.replayed", f"decision:{decision_id}", RISK.actor,
    )  # fmt: skip
    assert entry.details["mode"] == "recorded" and entry.details["identical"] is True


def test_replay_with_todays_champion_model_shows_what_differs(stored) -> None:  # type: ignore[no-untyped-def]
    records, decision_id = stored
    store = InMemoryAuditStore()
    risky = engine(ConstantScorer(0.9))  # today's champion thinks far worse of everyone
    report = replay_decision(
        AUDITOR, records, lambda: risky, AuditLog(store), lambda: NOW, decision_id, current=True
    )
    assert not report.identical and report.error == ""
    changed = {d.path: d for d in report.differences}
    assert changed["result.outcome"].stored == "approve"
    assert changed["result.outcome"].replayed == "decline"
    assert changed["model_version"].replayed == "const-0.9"
    assert report.differences[0].path.startswith("result.")  # the outcome comes first
    # The recorded versions cannot be replayed by an engine without the recorded model.
    failed = replay_decision(
        AUDITOR, records, lambda: risky, AuditLog(store), lambda: NOW, decision_id, current=False
    )
    assert not failed.identical and "model version" in failed.error
    assert [e.details["mode"] for e in store.records()] == ["current", "recorded"]


def test_only_roles_that_may_replay_can_and_unknown_records_are_not_found(stored) -> None:  # type: ignore[no-untyped-def]
    records, decision_id = stored
    replayer = engine(RuleScorer())
    audit = AuditLog(InMemoryAuditStore())
    with pytest.raises(Forbidden):
        replay_decision(OPERATIONS, records, lambda: replayer, audit, lambda: NOW, decision_id,
                        current=False)  # fmt: skip
    with pytest.raises(NotFound):
        replay_decision(RISK, records, lambda: replayer, audit, lambda: NOW, "DEC-NOPE",
                        current=False)  # fmt: skip
