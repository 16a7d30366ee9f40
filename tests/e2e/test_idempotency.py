"""Money-moving requests are once-only by ``Idempotency-Key``: a replay — even one racing
the first request — returns the first response and moves no money twice; the same key
with a different request is refused with 409; a request without a key is refused."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa
from tests.e2e.journey_client import Borrower, Service

pytestmark = pytest.mark.db


def counts(service: Service, borrower_id: str) -> dict[str, int]:
    queries = {
        "loans": "SELECT count(*) FROM loans WHERE borrower_id = :b",
        "repayments": "SELECT count(*) FROM repayments WHERE borrower_id = :b",
        "entries": "SELECT count(*) FROM journal_entries WHERE borrower_id = :b",
        "cash_in": "SELECT coalesce(sum(cash_received), 0) FROM loans WHERE borrower_id = :b",
        "payouts": "SELECT count(*) FROM loan_payouts WHERE borrower_id = :b",
        "debits": "SELECT count(*) FROM autodebit_attempts WHERE borrower_id = :b",
    }
    with service.engine.connect() as conn:
        return {
            k: int(conn.execute(sa.text(q), {"b": borrower_id}).scalar_one())
            for k, q in queries.items()
        }


@pytest.fixture
def service(shared_service: Service) -> Service:
    """Every count below is per borrower: one running service serves all these tests."""
    return shared_service


@pytest.fixture
def borrower(service: Service) -> Borrower:
    me = service.borrower()
    me.onboard()
    return me


def line_of(me: Borrower) -> str:
    return str(me.ok(me.get("/api/v1/lines"))["items"][0]["line_id"])


def test_signing_twice_with_one_key_draws_one_loan(service: Service, borrower: Borrower) -> None:
    contract = borrower.draft(line_of(borrower), 400_000, 6)
    first = borrower.sign(contract, key="sign-once")
    assert first.status_code == 201 and first.headers["Idempotent-Replayed"] == "false"
    # Let the payout settle first: its settlement entry is the rail's doing, not a replay's.
    borrower.wait_paid(first.json()["loan"]["loan_id"])
    after_first = counts(service, borrower.borrower_id)
    replay = borrower.sign(contract, key="sign-once")
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    assert counts(service, borrower.borrower_id) == after_first
    assert after_first["loans"] == 1 and after_first["payouts"] == 1

    # The same contract under a new key is refused: it is signed already.
    again = borrower.sign(contract, key="sign-twice")
    assert again.status_code == 409 and again.json()["error"]["code"] == "contract_already_signed"


def test_same_key_different_request_is_409(service: Service, borrower: Borrower) -> None:
    loan = borrower.borrow(line_of(borrower), 300_000, 3)
    path = f"/api/v1/loans/{loan['loan_id']}/repayments"
    first = borrower.post(path, {"amount_fen": 5_000}, key="pay-a")
    assert first.status_code == 202
    borrower.wait_payment(loan["loan_id"], first.json()["payment"]["payment_id"])
    before = counts(service, borrower.borrower_id)
    other = borrower.post(path, {"amount_fen": 6_000}, key="pay-a")
    assert other.status_code == 409
    body = other.json()["error"]
    assert body["code"] == "idempotency_key_reused"
    assert body["fields"][0]["field"] == "Idempotency-Key"
    # The same key on another money-moving route is another request, too.
    elsewhere = borrower.post(f"/api/v1/loans/{loan['loan_id']}/repayments/due", key="pay-a")
    assert elsewhere.status_code == 409
    assert counts(service, borrower.borrower_id) == before


def test_racing_replays_move_money_once(service: Service, borrower: Borrower) -> None:
    loan = borrower.borrow(line_of(borrower), 300_000, 3)
    path = f"/api/v1/loans/{loan['loan_id']}/repayments"
    before = counts(service, borrower.borrower_id)
    clients = [service.client() for _ in range(6)]
    headers = borrower.headers("race-1")

    def pay(client: object) -> tuple[int, dict[str, object]]:
        response = client.post(path, json={"amount_fen": 12_345}, headers=headers)  # type: ignore[attr-defined]
        return response.status_code, response.json()

    with ThreadPoolExecutor(len(clients)) as pool:
        results = list(pool.map(pay, clients))
    for client in clients:
        client.close()
    assert {status for status, _ in results} == {202}
    payment_ids = {body["payment"]["payment_id"] for _, body in results}  # type: ignore[index]
    assert len(payment_ids) == 1
    paid = borrower.wait_payment(loan["loan_id"], payment_ids.pop())
    assert paid["status"] == "paid"
    after = counts(service, borrower.borrower_id)
    assert after["debits"] == before["debits"] + 1
    assert after["repayments"] == before["repayments"] + 1
    assert after["cash_in"] == before["cash_in"] + 12_345


def test_replayed_payoff_does_not_pay_twice(service: Service, borrower: Borrower) -> None:
    loan = borrower.borrow(line_of(borrower), 300_000, 3)
    path = f"/api/v1/loans/{loan['loan_id']}/payoff"
    first = borrower.post(path, {}, key="payoff-x")
    assert first.status_code == 202
    paid = borrower.wait_payment(loan["loan_id"], first.json()["payment"]["payment_id"])
    assert paid["status"] == "paid"
    before = counts(service, borrower.borrower_id)
    replay = borrower.post(path, {}, key="payoff-x")
    assert replay.status_code == 202 and replay.json() == first.json()
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert counts(service, borrower.borrower_id) == before
    fresh = borrower.post(path, {}, key="payoff-y")  # a new payment on a closed loan
    assert fresh.status_code == 409
    assert fresh.json()["error"]["code"] == "nothing_owed"
    assert counts(service, borrower.borrower_id) == before


def test_keys_belong_to_their_borrower(service: Service, borrower: Borrower) -> None:
    other = service.borrower()
    other.onboard()
    mine = borrower.borrow(line_of(borrower), 300_000, 3)
    theirs = other.borrow(line_of(other), 300_000, 3)
    a = borrower.post(
        f"/api/v1/loans/{mine['loan_id']}/repayments", {"amount_fen": 1_000}, key="shared"
    )
    b = other.post(
        f"/api/v1/loans/{theirs['loan_id']}/repayments", {"amount_fen": 1_000}, key="shared"
    )
    assert a.status_code == b.status_code == 202
    assert b.headers["Idempotent-Replayed"] == "false"
    assert a.json()["payment"]["payment_id"] != b.json()["payment"]["payment_id"]


@pytest.mark.parametrize(
    ("route", "body"),
    [
        ("repayments/due", None),
        ("repayments", {"amount_fen": 100}),
        ("payoff", {}),
        ("prepayments", {"amount_fen": 100, "mode": "shorten_term"}),
    ],
)
def test_money_moving_post_needs_a_key(
    service: Service, borrower: Borrower, route: str, body: object
) -> None:
    loan = borrower.borrow(line_of(borrower), 200_000, 3)
    before = counts(service, borrower.borrower_id)
    response = borrower.post(f"/api/v1/loans/{loan['loan_id']}/{route}", body, key=None)
    assert response.status_code == 422
    fields = [f["field"] for f in response.json()["error"]["fields"]]
    assert "header.Idempotency-Key" in fields
    assert counts(service, borrower.borrower_id) == before


def test_signing_needs_a_key(service: Service, borrower: Borrower) -> None:
    contract = borrower.draft(line_of(borrower), 200_000, 3)
    response = borrower.post(
        f"/api/v1/contracts/{contract['contract_id']}/sign",
        {"sha256": contract["sha256"], "accept": True},
    )
    assert response.status_code == 422
    assert counts(service, borrower.borrower_id)["loans"] == 0
