"""The service's callback routes over real HTTP: the rail's and partner banks' signed
webhooks. Unsigned or wrongly signed callbacks are refused (401) and change nothing; a
signed one is applied once (a duplicate event id is answered, not applied again); an
event about a payout we never made is answered 200 and recorded for operators."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from tests.e2e.journey_client import Service
from tests.integration.sandbox_fixtures import SANDBOX_SECRET

from mobilend.adapters.webhook_signature import signed_headers

pytestmark = pytest.mark.db

RAIL = "/api/v1/callbacks/rail"
PARTNER = "/api/v1/callbacks/partner"


@pytest.fixture
def service(shared_service: Service) -> Service:
    return shared_service


def rail_event(key: str, status: str = "succeeded", *, sequence: int = 5) -> dict[str, Any]:
    return {
        "event_id": f"evt-{uuid.uuid4().hex}",
        "type": f"payout.{status}",
        "sequence": sequence,
        "attempt": 1,
        "final": True,
        "created_at": "2026-03-02T01:00:00Z",
        "data": {
            "reference": f"ref-{uuid.uuid4().hex[:8]}",
            "idempotency_key": key,
            "direction": "payout",
            "loan_id": key.removeprefix("payout-"),
            "amount_fen": 300_000,
            "currency": "CNY",
            "status": status,
            "failure_code": "invalid_card" if status == "failed" else "",
            "settled_on": "2026-03-02",
        },
    }


def post(
    service: Service, path: str, event: dict[str, Any], secret: str = SANDBOX_SECRET
) -> httpx.Response:
    body = json.dumps(event).encode()
    headers = {"Content-Type": "application/json", **signed_headers(secret, body)}
    return httpx.post(service.base_url + path, content=body, headers=headers, timeout=10)


def ledger_rows(service: Service, loan_id: str) -> int:
    with service.engine.connect() as conn:
        return int(
            conn.execute(
                sa.text("SELECT count(*) FROM postings WHERE loan_id = :l"), {"l": loan_id}
            ).scalar_one()
        )


def test_unsigned_or_wrongly_signed_callbacks_are_refused(service: Service) -> None:
    event = rail_event("payout-nobody")
    unsigned = httpx.post(service.base_url + RAIL, json=event, timeout=10)
    assert unsigned.status_code == 401
    assert unsigned.json()["error"]["code"] == "invalid_signature"
    forged = post(service, RAIL, event, secret="not-the-secret")
    assert forged.status_code == 401
    partner = post(service, PARTNER, {"event_id": "x", "data": {}}, secret="not-the-secret")
    assert partner.status_code == 401
    with service.engine.connect() as conn:
        recorded = conn.execute(
            sa.text("SELECT count(*) FROM rail_events WHERE event_id = :e"),
            {"e": event["event_id"]},
        ).scalar_one()
    assert recorded == 0


def test_a_signed_but_malformed_callback_is_400(service: Service) -> None:
    response = post(service, RAIL, {"event_id": "e-bad", "data": {"status": "succeeded"}})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_callback"


def test_unknown_payouts_are_recorded_and_duplicates_answered(service: Service) -> None:
    event = rail_event(f"payout-{uuid.uuid4().hex}")
    first = post(service, RAIL, event)
    assert first.status_code == 200 and first.json() == {"outcome": "unknown_payout"}
    again = post(service, RAIL, event)
    assert again.status_code == 200 and again.json() == {"outcome": "duplicate"}
    with service.engine.connect() as conn:
        outcomes = conn.execute(
            sa.text("SELECT outcome FROM rail_events WHERE event_id = :e"),
            {"e": event["event_id"]},
        ).all()
    assert [o for (o,) in outcomes] == ["unknown_payout"]


def test_a_paid_payout_is_not_undone_by_a_later_failure(service: Service) -> None:
    me = service.borrower()
    loan = me.borrow(me.onboard()["line_id"], 300_000, 3)
    assert loan["disbursement_status"] == "paid"
    before = ledger_rows(service, loan["loan_id"])
    contrary = post(service, RAIL, rail_event(f"payout-{loan['loan_id']}", "failed", sequence=99))
    assert contrary.status_code == 200
    assert contrary.json() == {"outcome": "conflicting_outcome"}
    after = me.ok(me.get(f"/api/v1/loans/{loan['loan_id']}"))
    assert after["disbursement_status"] == "paid" and after["status"] == "active"
    assert ledger_rows(service, loan["loan_id"]) == before
    me.close()


def test_partner_decisions_for_unknown_requests_are_answered(service: Service) -> None:
    decision = {
        "event_id": f"evt-{uuid.uuid4().hex}",
        "type": "approval.decided",
        "data": {
            "request_id": "no-such-request",
            "loan_id": "no-such-loan",
            "partner_code": "bank_a",
            "partner_reference": "P-1",
            "status": "approved",
            "approved_amount_fen": 100_000,
            "currency": "CNY",
            "reason_code": "",
        },
    }
    response = post(service, PARTNER, decision)
    assert response.status_code == 200 and response.json() == {"outcome": "unknown_request"}
