"""Repayments from the app over HTTP: each is a debit of the borrower's card through the
payment rail — pending until the rail confirms, booked once when it does, nothing booked
when it fails — and never for more than is owed today. Every test ends with
``mobilend ledger verify`` over the whole book."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from tests.e2e.journey_client import Borrower, Service, new_identity
from tests.integration.sandbox_fixtures import SANDBOX_SECRET, wait_until

from mobilend.adapters.webhook_signature import signed_headers
from mobilend.app.servicing.transfers import TransferNotice, receive_transfer
from mobilend.bootstrap.ledger import verify_book
from mobilend.domain.money import Money

pytestmark = pytest.mark.db

RAIL = "/api/v1/callbacks/rail"


def fen(money: dict[str, Any]) -> int:
    return int(money["amount_fen"])


def book(service: Service, borrower_id: str) -> dict[str, int]:
    """What the database holds for one borrower: repayments, entries, cash in, debits."""
    queries = {
        "repayments": "SELECT count(*) FROM repayments WHERE borrower_id = :b",
        "entries": "SELECT count(*) FROM journal_entries WHERE borrower_id = :b",
        "cash_in": "SELECT coalesce(sum(cash_received), 0) FROM loans WHERE borrower_id = :b",
        "credit": "SELECT coalesce(sum(credit_balance), 0) FROM loans WHERE borrower_id = :b",
    }
    with service.engine.connect() as conn:
        return {
            k: int(conn.execute(sa.text(q), {"b": borrower_id}).scalar_one())
            for k, q in queries.items()
        }


def assert_book_verifies(service: Service) -> None:
    report = verify_book(service.engine)
    assert report.clean, report.mismatches


@pytest.fixture
def gateway(service: Service) -> Iterator[str]:
    """The payment sandbox, put back as it was after the test (settle delay, faults)."""
    yield service.payment_url
    httpx.delete(f"{service.payment_url}/admin/faults", timeout=5)
    httpx.post(f"{service.payment_url}/admin/config", json={"settle_delay_ms": 5}, timeout=5)


def borrower_with_loan(
    service: Service, amount_fen: int = 300_000, card_suffix: str = ""
) -> tuple[Borrower, str]:
    me = service.borrower(new_identity(card_suffix=card_suffix) if card_suffix else None)
    line_id = me.onboard()["line_id"]
    loan = me.borrow(line_id, amount_fen, 3)
    assert loan["disbursement_status"] == "paid"
    return me, loan["loan_id"]


def test_an_amount_above_what_is_owed_today_is_refused_and_nothing_moves(
    service: Service,
) -> None:
    me, loan_id = borrower_with_loan(service, 100_000)  # ¥1,000
    before = book(service, me.borrower_id)
    quote = fen(me.ok(me.get(f"/api/v1/loans/{loan_id}/payoff-quote"))["amount_due"])
    # ¥100,000,000 on a ¥1,000 loan, as a chosen amount, a prepayment and a payoff.
    for path, body in (
        ("repayments", {"amount_fen": 10_000_000_000}),
        ("prepayments", {"amount_fen": 10_000_000_000, "mode": "shorten_term"}),
        ("payoff", {"amount_fen": 10_000_000_000}),
        ("repayments", {"amount_fen": quote + 1}),
    ):
        refused = me.post(f"/api/v1/loans/{loan_id}/{path}", body, key=f"over-{uuid.uuid4()}")
        assert refused.status_code == 422, refused.text
        error = refused.json()["error"]
        assert error["code"] == "amount_above_owed"
        assert error["fields"][0]["field"] == "amount_fen"
        assert "今日应还" in error["fields"][0]["message"]
        assert "owed today" in error["fields"][0]["message"]
    assert me.ok(me.get(f"/api/v1/loans/{loan_id}/payments"))["items"] == []
    assert book(service, me.borrower_id) == before
    # Exactly what is owed is taken, and closes the loan.
    asked = me.pay(f"/api/v1/loans/{loan_id}/repayments", {"amount_fen": quote}, key="exact")
    assert me.wait_payment(loan_id, asked["payment"]["payment_id"])["status"] == "paid"
    loan = me.ok(me.get(f"/api/v1/loans/{loan_id}"))
    assert loan["status"] == "closed" and fen(loan["credit_balance"]) == 0
    # Nothing is owed now: paying off answers 409 with a message, never a 500.
    for path in ("payoff", "repayments/due"):
        refused = me.post(f"/api/v1/loans/{loan_id}/{path}", {}, key=f"after-{path}")
        assert refused.status_code == 409, refused.text
        assert refused.json()["error"]["message"]
    quote_after = me.get(f"/api/v1/loans/{loan_id}/payoff-quote")
    assert quote_after.status_code == 409
    assert_book_verifies(service)


def test_a_credit_balance_comes_only_from_money_that_arrived(service: Service) -> None:
    """A bank transfer above the payoff is real money: what it does not settle is held for
    the borrower and shown on the loan. The payoff quote is then zero, and paying off
    answers 409 with a message (it was a 500 when the app booked money never taken)."""
    me, loan_id = borrower_with_loan(service, 100_000)
    quote = fen(me.ok(me.get(f"/api/v1/loans/{loan_id}/payoff-quote"))["amount_due"])
    desk = service.platform.servicing
    assert desk is not None
    receive_transfer(
        desk,
        TransferNotice(
            f"bank-{uuid.uuid4().hex}",
            Money.from_minor(quote + 5_000),
            service.platform.today(),
            remark=f"HK{loan_id.upper()}",
            payer_name="王小明",
        ),
    )
    # The transfer settles what is due and the next installment; the rest is the
    # borrower's, held and shown, and covers everything still owed.
    loan = me.ok(me.get(f"/api/v1/loans/{loan_id}"))
    assert fen(loan["credit_balance"]) > 5_000
    assert fen(me.ok(me.get(f"/api/v1/loans/{loan_id}/payoff-quote"))["amount_due"]) == 0
    refused = me.post(f"/api/v1/loans/{loan_id}/payoff", {}, key="payoff-after-transfer")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "nothing_owed"
    assert_book_verifies(service)


def test_a_debit_that_fails_books_nothing_and_tells_the_borrower_why(service: Service) -> None:
    # The payment sandbox pays out to cards ending 0051 but cannot debit them.
    me, loan_id = borrower_with_loan(service, card_suffix="0051")
    before = book(service, me.borrower_id)
    asked = me.pay(f"/api/v1/loans/{loan_id}/repayments/due", key="due-1")
    failed = me.wait_payment(loan_id, asked["payment"]["payment_id"])
    assert failed["status"] == "failed"
    assert failed["failure_code"] == "insufficient_funds"
    assert (
        "余额不足" in failed["failure_reason"] and "insufficient funds" in failed["failure_reason"]
    )
    assert failed["repayment_id"] is None
    assert book(service, me.borrower_id) == before
    loan = me.ok(me.get(f"/api/v1/loans/{loan_id}"))
    assert fen(loan["outstanding_principal"]) == 300_000 and fen(loan["payments_pending"]) == 0

    def told() -> dict[str, Any] | None:
        items = me.ok(me.get("/api/v1/notifications"))["items"]
        return next((n for n in items if n["kind"] == "repayment_failed"), None)

    notice = wait_until(told, timeout=10)
    assert "余额不足" in notice["body_zh"] and "insufficient funds" in notice["body_en"]
    assert_book_verifies(service)


def test_a_debit_confirmed_after_a_delay_is_booked_once(service: Service, gateway: str) -> None:
    me, loan_id = borrower_with_loan(service)
    httpx.post(f"{gateway}/admin/config", json={"settle_delay_ms": 1500}, timeout=5)
    before = book(service, me.borrower_id)
    asked = me.pay(f"/api/v1/loans/{loan_id}/repayments", {"amount_fen": 20_000}, key="slow-1")
    payment_id = asked["payment"]["payment_id"]
    # The rail has the debit but has not confirmed it: pending, nothing booked, and the
    # money on its way counts against what may still be asked for.
    pending = me.ok(me.get(f"/api/v1/loans/{loan_id}/payments/{payment_id}"))
    assert pending["status"] == "pending"
    loan = me.ok(me.get(f"/api/v1/loans/{loan_id}"))
    assert fen(loan["payments_pending"]) == 20_000
    assert book(service, me.borrower_id) == before
    refused = me.post(f"/api/v1/loans/{loan_id}/payoff", {}, key="payoff-while-pending")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "payment_in_progress"
    paid = me.wait_payment(loan_id, payment_id)
    assert paid["status"] == "paid"
    after = book(service, me.borrower_id)
    assert after["repayments"] == before["repayments"] + 1
    assert after["cash_in"] == before["cash_in"] + 20_000
    # The background pass polls the rail too; webhook and poll together book it once.
    with service.engine.connect() as conn:
        booked = conn.execute(
            sa.text("SELECT count(*) FROM repayments WHERE loan_id = :l"), {"l": loan_id}
        ).scalar_one()
    assert booked == 1
    assert_book_verifies(service)


def _signed(service: Service, event: dict[str, Any]) -> httpx.Response:
    body = json.dumps(event).encode()
    headers = {"Content-Type": "application/json", **signed_headers(SANDBOX_SECRET, body)}
    return httpx.post(service.base_url + RAIL, content=body, headers=headers, timeout=10)


def _debit_event(
    key: str, loan_id: str, amount_fen: int, status: str, sequence: int, *, final: bool = True
) -> dict[str, Any]:
    return {
        "event_id": f"evt-{uuid.uuid4().hex}",
        "type": f"debit.{status}",
        "sequence": sequence,
        "attempt": 1,
        "final": final,
        "created_at": "2026-03-02T01:00:00Z",
        "data": {
            "reference": "PGTEST",
            "idempotency_key": key,
            "direction": "debit",
            "loan_id": loan_id,
            "amount_fen": amount_fen,
            "currency": "CNY",
            "status": status,
            "failure_code": "insufficient_funds" if status == "failed" else "",
            "settled_on": "2026-03-02",
        },
    }


def _debit_key(service: Service, payment_id: str) -> str:
    with service.engine.connect() as conn:
        return str(
            conn.execute(
                sa.text("SELECT idempotency_key FROM autodebit_attempts WHERE id = :i"),
                {"i": payment_id},
            ).scalar_one()
        )


def test_duplicate_and_out_of_order_rail_events_change_nothing(
    service: Service, gateway: str
) -> None:
    me, loan_id = borrower_with_loan(service)
    # The sandbox sends every final event three times, and a stale, non-final "failed"
    # event of an earlier attempt after the final one.
    httpx.post(f"{gateway}/admin/faults", json={"mode": "duplicate_callbacks", "copies": 3})
    httpx.post(f"{gateway}/admin/faults", json={"mode": "out_of_order_callbacks", "delay_ms": 50})
    asked = me.pay(f"/api/v1/loans/{loan_id}/repayments", {"amount_fen": 15_000}, key="dup-1")
    payment_id = asked["payment"]["payment_id"]
    assert me.wait_payment(loan_id, payment_id)["status"] == "paid"
    key = _debit_key(service, payment_id)

    def events_seen() -> list[tuple[str, str]] | None:
        with service.engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT event_id, outcome FROM rail_events WHERE idempotency_key = :k"),
                {"k": key},
            ).all()
        return [(r[0], r[1]) for r in rows] if len(rows) >= 2 else None

    seen = wait_until(events_seen, timeout=10)
    outcomes = sorted(outcome for _, outcome in seen)
    assert outcomes.count("collected") <= 1  # the poll may have been first
    assert set(outcomes) <= {"collected", "already_applied", "not_final"}
    settled = book(service, me.borrower_id)
    assert settled["cash_in"] == 15_000

    # By hand: the final event again under a new id with a passed sequence, a final
    # "failed" about the same debit, an event about a debit never made.
    stale = _signed(service, _debit_event(key, loan_id, 15_000, "succeeded", sequence=1))
    assert stale.json()["outcome"] in ("stale", "already_applied")
    late_failure = _signed(service, _debit_event(key, loan_id, 15_000, "failed", sequence=9))
    assert late_failure.json()["outcome"] == "already_applied"
    event = _debit_event(key, loan_id, 15_000, "succeeded", sequence=10)
    assert _signed(service, event).json()["outcome"] == "already_applied"
    assert _signed(service, event).json()["outcome"] == "duplicate"
    unknown = _signed(service, _debit_event("pay-never", loan_id, 15_000, "succeeded", 1))
    assert unknown.status_code == 200 and unknown.json()["outcome"] == "unknown_debit"
    assert book(service, me.borrower_id) == settled
    paid = me.ok(me.get(f"/api/v1/loans/{loan_id}/payments/{payment_id}"))
    assert paid["status"] == "paid"
    assert_book_verifies(service)


def test_twenty_concurrent_repayments_and_a_payoff_leave_the_loan_exact(
    service: Service,
) -> None:
    me, loan_id = borrower_with_loan(service, 300_000)
    clients = [service.client() for _ in range(21)]
    today = dt.date(2026, 3, 2).isoformat()
    assert me.ok(me.get(f"/api/v1/loans/{loan_id}"))["as_of"] == today

    def ask(n: int) -> tuple[str, httpx.Response]:
        client = clients[n]
        if n == 20:
            path, body, kind = "payoff", {}, "payoff"
        else:
            path, body, kind = "repayments", {"amount_fen": 12_345}, "amount"
        response = client.post(
            f"/api/v1/loans/{loan_id}/{path}", json=body, headers=me.headers(f"c-{n}")
        )
        return kind, response

    with ThreadPoolExecutor(21) as pool:
        results = list(pool.map(ask, range(21)))
    for client in clients:
        client.close()
    accepted = [(kind, r.json()["payment"]) for kind, r in results if r.status_code == 202]
    refused = [r for _, r in results if r.status_code != 202]
    assert accepted, [r.text for r in refused]
    assert all(r.status_code in (409, 422) for r in refused), [r.text for r in refused]
    assert all(r.json()["error"]["code"] == "payment_in_progress" for r in refused)
    settled = [me.wait_payment(loan_id, p["payment_id"]) for _, p in accepted]
    assert all(p["status"] == "paid" for p in settled)
    collected = sum(fen(p["amount"]) for p in settled)
    loan = me.ok(me.get(f"/api/v1/loans/{loan_id}"))
    if loan["status"] == "active":  # the repayments came first: now pay off the rest
        asked = me.pay(f"/api/v1/loans/{loan_id}/payoff", {}, key="payoff-rest")
        last = me.wait_payment(loan_id, asked["payment"]["payment_id"])
        assert last["status"] == "paid"
        collected += fen(last["amount"])
        loan = me.ok(me.get(f"/api/v1/loans/{loan_id}"))
    assert loan["status"] == "closed"
    assert fen(loan["outstanding_principal"]) == 0
    assert fen(loan["credit_balance"]) == 0  # nothing taken beyond what was owed
    state = book(service, me.borrower_id)
    assert state["cash_in"] == collected and state["credit"] == 0
    receipts = me.ok(me.get(f"/api/v1/loans/{loan_id}/repayments"))["items"]
    assert sum(fen(r["amount"]) for r in receipts) == collected
    line = me.ok(me.get("/api/v1/lines"))["items"][0]
    assert fen(line["available"]) == fen(line["limit"])
    assert_book_verifies(service)
