"""When a gateway is down: sign-in codes fail cleanly (503, nothing recorded, ask again at
once); a payout waits in funding's outbox, pending, and the disbursement worker sends it
once the rail is back."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from tests.e2e.journey_client import Service
from tests.integration.sandbox_fixtures import wait_until
from tests.lending_scenarios import assert_ledger_consistent

pytestmark = pytest.mark.db


@contextmanager
def down(sandbox_url: str) -> Iterator[None]:
    httpx.post(f"{sandbox_url}/admin/faults", json={"mode": "down"}, timeout=5).raise_for_status()
    try:
        yield
    finally:
        httpx.delete(f"{sandbox_url}/admin/faults", timeout=5).raise_for_status()


def test_sms_gateway_down(service: Service) -> None:
    me = service.borrower()
    with down(service.sms_url):
        refused = me.post("/api/v1/auth/otp", {"phone": me.identity.phone})
    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "otp_delivery_failed"
    me.ok(me.post("/api/v1/auth/otp", {"phone": me.identity.phone}), 202)  # no cool-down
    assert service.latest_code(me.identity.phone)


def test_payout_waits_for_the_rail(service: Service) -> None:
    me = service.borrower()
    line_id = me.onboard()["line_id"]
    contract = me.draft(line_id, 250_000, 3)
    with down(service.payment_url):
        signed = me.ok(me.sign(contract), 201)
        loan_id = signed["loan"]["loan_id"]
        assert me.ok(me.get(f"/api/v1/loans/{loan_id}"))["disbursement_status"] == "pending"
        refused = me.post(f"/api/v1/loans/{loan_id}/repayments/due", key="too-early")
        assert refused.status_code == 409
        assert refused.json()["error"]["code"] == "disbursement_not_paid"

    def paid() -> bool:
        return me.ok(me.get(f"/api/v1/loans/{loan_id}"))["disbursement_status"] == "paid"

    wait_until(paid, timeout=15)
    assert_ledger_consistent(service.platform.lending, loan_id)
    stats = httpx.get(f"{service.payment_url}/admin/stats", timeout=5).json()
    assert stats  # the rail answers again
    me.close()
