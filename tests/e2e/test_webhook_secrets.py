"""One secret per counterparty, over real HTTP: the payment rail signs with its own
secret (and, during a rotation, its previous one until the overlap ends); callbacks
signed with the old published default, or with another counterparty's secret, are
refused and change nothing — a forged ``payout.failed`` can no longer cancel a loan
the rail paid. A partner's decision binds only the requests made to that partner."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from tests.e2e.conftest import FixedDayClock
from tests.e2e.journey_client import Service
from tests.e2e.test_callbacks import rail_event
from tests.integration.sandbox_fixtures import ServerThread

from mobilend.adapters.notify.http_gateway import HttpMessageGateway
from mobilend.adapters.rails.http_rail import HttpPaymentRail
from mobilend.adapters.webhook_signature import SecretRing, signed_headers
from mobilend.asgi import create_app
from mobilend.bootstrap.platform import build_platform
from mobilend.bootstrap.service import start_background_work
from mobilend.config import Settings
from mobilend.sandbox import messaging_gateway, payment_gateway

pytestmark = pytest.mark.db

RAIL = "/api/v1/callbacks/rail"
PARTNER = "/api/v1/callbacks/partner"
OLD_DEFAULT = "dev-only-gateway-secret"
RAIL_NEW = "rail-current-" + "r" * 32
RAIL_OLD = "rail-previous-" + "o" * 32
SMS_SECRET = "sms-gateway-" + "s" * 32
BANK_A = "bank-a-" + "a" * 32
BANK_B = "bank-b-" + "b" * 32


@pytest.fixture(scope="module")
def service(db_engine: sa.Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    # The sandboxes sign as the real counterparties would: each with its own secret.
    sms = ServerThread(messaging_gateway.create_app(SMS_SECRET, receipt_delay_ms=5)).start()
    pay = ServerThread(payment_gateway.create_app(RAIL_NEW, settle_delay_ms=5)).start()
    settings = Settings(
        database_url=db_engine.url.render_as_string(hide_password=False),
        var_dir=tmp_path_factory.mktemp("var"),
        decision_engine="basic",
        rail_secret=RAIL_NEW,
        rail_secret_previous=RAIL_OLD,
        rail_secret_previous_until=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
        sms_gateway_secret=SMS_SECRET,
        partner_secrets={"bank_a": BANK_A, "bank_b": BANK_B},
    )  # type: ignore[arg-type]
    rail = HttpPaymentRail(pay.base_url, SecretRing(RAIL_NEW), timeout=5, retries=1)
    messages = HttpMessageGateway(sms.base_url, SecretRing(SMS_SECRET), timeout=3, retries=1)
    platform = build_platform(
        engine=db_engine, settings=settings, clock=FixedDayClock(), rail=rail, messages=messages
    )
    server = ServerThread(create_app(platform))
    platform.set_public_url(server.base_url)
    start_background_work(platform)
    server.start()
    try:
        yield Service(server.base_url, sms.base_url, pay.base_url, platform, db_engine)
    finally:
        server.stop()
        platform.close()
        rail.close()
        messages.close()
        sms.stop()
        pay.stop()


def post(service: Service, path: str, event: dict[str, Any], secret: str) -> httpx.Response:
    body = json.dumps(event).encode()
    headers = {"Content-Type": "application/json", **signed_headers(secret, body)}
    return httpx.post(service.base_url + path, content=body, headers=headers, timeout=10)


def rail_events_for(service: Service, key: str) -> list[str]:
    with service.engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT outcome FROM rail_events WHERE idempotency_key = :k ORDER BY 1"),
            {"k": key},
        ).all()
    return [outcome for (outcome,) in rows]


def test_a_forged_payout_failure_cannot_cancel_a_paid_loan(service: Service) -> None:
    me = service.borrower()
    loan = me.borrow(me.onboard()["line_id"], 300_000, 3)
    # Paid through the rail's own signed webhook (the sandbox signs with RAIL_NEW).
    assert loan["disbursement_status"] == "paid"
    key = f"payout-{loan['loan_id']}"
    before = rail_events_for(service, key)
    for forger in (OLD_DEFAULT, SMS_SECRET, BANK_A):
        forged = post(service, RAIL, rail_event(key, "failed", sequence=99), forger)
        assert forged.status_code == 401, forger
        assert forged.json()["error"]["code"] == "invalid_signature"
    after = me.ok(me.get(f"/api/v1/loans/{loan['loan_id']}"))
    assert (after["disbursement_status"], after["status"]) == ("paid", "active")
    assert rail_events_for(service, key) == before
    me.close()


def test_the_rails_previous_secret_is_accepted_during_the_overlap(service: Service) -> None:
    key = f"payout-{uuid.uuid4().hex}"
    response = post(service, RAIL, rail_event(key), RAIL_OLD)
    assert response.status_code == 200 and response.json() == {"outcome": "unknown_payout"}
    assert rail_events_for(service, key) == ["unknown_payout"]


def _partner_decision(request_id: str) -> dict[str, Any]:
    return {
        "event_id": f"evt-{uuid.uuid4().hex}",
        "type": "approval.decided",
        "data": {
            "request_id": request_id,
            "loan_id": "loan-x",
            "partner_code": "bank_b",
            "partner_reference": "P-1",
            "status": "declined",
            "approved_amount_fen": 0,
            "currency": "CNY",
            "reason_code": "policy",
        },
    }


def test_a_partner_decides_only_its_own_requests(service: Service) -> None:
    me = service.borrower()
    loan = me.borrow(me.onboard()["line_id"], 300_000, 3)
    me.close()
    # A request to bank_a that timed out: a late decision is recorded, nothing moves.
    request_id = f"req-{uuid.uuid4().hex[:12]}"
    with service.engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO partner_approvals (request_id, loan_id, borrower_id, funder_code, "
                "amount, currency, status) VALUES (:r, :l, :b, 'bank_a', 300000, 'CNY', "
                "'timed_out')"
            ),
            {"r": request_id, "l": loan["loan_id"], "b": me.borrower_id},
        )

    def decision() -> str:
        with service.engine.connect() as conn:
            return str(
                conn.execute(
                    sa.text("SELECT partner_decision FROM partner_approvals WHERE request_id = :r"),
                    {"r": request_id},
                ).scalar_one()
            )

    for forger in (OLD_DEFAULT, RAIL_NEW):
        assert post(service, PARTNER, _partner_decision(request_id), forger).status_code == 401
    other = post(service, PARTNER, _partner_decision(request_id), BANK_B)
    assert other.status_code == 200 and other.json() == {"outcome": "unknown_request"}
    assert decision() == ""
    own = post(service, PARTNER, _partner_decision(request_id), BANK_A)
    assert own.status_code == 200 and own.json() == {"outcome": "recorded_late_declined"}
    assert decision() == "declined"


def test_development_has_no_published_secret(tmp_path: Path) -> None:
    from mobilend.adapters.counterparty_secrets import counterparty_secrets

    secrets = counterparty_secrets(Settings(var_dir=tmp_path))  # type: ignore[call-arg]
    assert OLD_DEFAULT not in (secrets.rail.current, secrets.sms_gateway.current)
