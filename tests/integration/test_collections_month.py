"""A small simulated collections month through the real use cases: cases open, agents and
an agency work them through the conduct gate, borrowers pay; afterwards an independent
audit of the contact log finds no conduct violation and the ledger verifies."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from tests.integration.servicing_fixtures import *  # noqa: F403  (fixtures)

from mobilend.app.collections.gate import ConductGate
from mobilend.config import get_settings
from mobilend.sim.collections_month import MonthConfig, run_month

pytestmark = pytest.mark.db


def test_a_small_month_has_no_conduct_violation_and_a_clean_ledger(db: sa.Engine, vault, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # The audit judges contacts by their timestamps: the virtual clock must never run
    # backwards between two contacts, or a contact made before a complaint could carry a
    # later time than the complaint and look like a breach of the pause.
    stamps: list[dt.datetime] = []
    contact = ConductGate.contact

    def stamped(gate, request):  # type: ignore[no-untyped-def]
        stamps.append(gate._now())
        return contact(gate, request)

    monkeypatch.setattr(ConductGate, "contact", stamped)
    config = MonthConfig(
        loans=80, days=6, seed=3, start=dt.date(2026, 6, 1), lender_agents=3, agency_agents=2,
        calls_per_agent=12, challenger_percent=20,
    )  # fmt: skip
    result = run_month(db, vault, get_settings(), config)
    assert result.counts["cases_opened"] >= 80  # a cured loan may fall behind again
    assert result.counts["calls"] > 0 and result.counts["connected"] > 0
    assert result.counts["strategy_messages"] > 0
    assert result.counts["payments"] > 0
    print(dict(result.counts), dict(result.refusals), result.audit, result.ledger.trial_balance)
    assert result.audit.contacts_out > 0
    assert len(stamps) >= result.counts["calls"] and stamps == sorted(stamps)
    assert result.audit.total == 0, result.audit.violations
    assert result.ledger.clean, result.ledger
    assert result.ledger.loans_checked == 80
    buckets = {line.group for line in result.report.by_bucket}
    assert buckets <= {"M1", "M2", "M3", "M4", "M5", "M6", "M6+"} and "M1" in buckets
    total = result.report.total
    assert (
        total is not None
        and total.cases == result.counts["cases_opened"]
        and total.collected.is_positive()
    )
    arms = {line.group.split(":")[0] for line in result.report.by_strategy}
    assert arms == {"champion", "challenger"}
