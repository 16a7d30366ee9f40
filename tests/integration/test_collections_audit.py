"""The independent conduct audit the simulation relies on finds what the gate would have
refused, had a contact gone out some other way (rows written straight to the log)."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from tests.integration.servicing_fixtures import *  # noqa: F403  (fixtures)

from mobilend.adapters.db.collections_tables import collection_complaints, collection_contacts
from mobilend.sim.collections_checks import audit_conduct

pytestmark = pytest.mark.db

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def contact(i: int, at: dt.datetime, **changes: object) -> dict[str, object]:
    row: dict[str, object] = {
        "id": f"c{i}", "case_id": "case-1", "loan_id": "l-1", "borrower_id": "b-1", "at": at,
        "local_day": at.astimezone(SHANGHAI).date(), "actor": "staff:x", "team": "lender",
        "channel": "call", "party": "borrower", "template": "call_script", "allowed": True,
        "outcome": "connected", "body": "您好，请问何时方便还款？",
    }  # fmt: skip
    row.update(changes)
    return row


def test_the_audit_counts_each_kind_of_violation(db: sa.Engine) -> None:
    day = dt.datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI)
    assert audit_conduct(db).total == 0
    rows = [
        contact(1, day.replace(hour=23, minute=30)),  # out of hours
        *[contact(10 + k, day + dt.timedelta(minutes=k)) for k in range(4)],  # 4 connected
        contact(20, day, channel="sms", template="agent_message", body="再不还钱就报警"),
        contact(
            21,
            day,
            channel="sms",
            party="contact_person",
            template="callback_request",
            body="他欠款500元",
        ),
        contact(22, day, party="third_party", template="callback_request", body="回电"),
        contact(23, day + dt.timedelta(hours=3), outcome="no_answer"),  # during the complaint
    ]
    with db.begin() as conn:
        conn.execute(collection_contacts.insert(), rows)
        conn.execute(
            collection_complaints.insert().values(
                id="q1", case_id="case-1", borrower_id="b-1", received_at=day + dt.timedelta(hours=2),
                channel="phone", summary="x", recorded_by="staff:y", status="dismissed",
                reviewed_by="staff:m", reviewed_at=day + dt.timedelta(hours=4),
            )
        )  # fmt: skip
    audit = audit_conduct(db)
    assert audit.violations["contact_hours"] == 1
    assert audit.violations["daily_call_cap"] == 1
    assert audit.violations["banned_words"] == 1
    assert audit.violations["contact_person_disclosure"] == 1
    assert audit.violations["third_party_contact"] == 1
    assert audit.violations["case_paused"] == 1
    assert audit.violations["unapproved_template"] == 1  # the third-party row's template
