"""The borrower journey over real HTTP on real PostgreSQL:

register (code read from the sandbox SMS gateway) → identity → consents → credit line →
offer → e-contract → sign → paid out → repay the installment due → pay off in full →
loan closed — with the ledger balanced and the loan's balances rebuilt from its postings
after every step that moves money.

Payouts go through the funding engine: the loan is routed to a funder, booked against the
rail's in-transit account, sent by the disbursement worker and settled (or cancelled) by
the rail's signed webhook to ``/api/v1/callbacks/rail``.
"""

from __future__ import annotations

import hashlib
import logging
import re
from decimal import ROUND_HALF_UP, Decimal

import pytest
import sqlalchemy as sa
from tests.e2e.journey_client import Service
from tests.integration.sandbox_fixtures import wait_until
from tests.lending_scenarios import assert_ledger_consistent

from mobilend.bootstrap.ledger import verify_book

pytestmark = pytest.mark.db


def ledger_total(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                sa.text("SELECT coalesce(sum(amount_minor), 0) FROM postings")
            ).scalar_one()
        )


def assert_ledger_balanced(service: Service, loan_id: str) -> None:
    assert ledger_total(service.engine) == 0
    assert_ledger_consistent(service.platform.lending, loan_id)


def assert_book_verifies(service: Service) -> None:
    """``mobilend ledger verify`` over the whole book: no mismatch."""
    report = verify_book(service.engine)
    assert report.clean, report.mismatches


IN_TRANSIT = "cash:rail:in_transit"


def postings_by_account(engine: sa.Engine, loan_id: str) -> dict[str, list[int]]:
    """Every posting of the loan, by account, in the order they were made."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT account, amount_minor FROM postings WHERE loan_id = :l ORDER BY id"),
            {"l": loan_id},
        ).all()
    found: dict[str, list[int]] = {}
    for account, amount in rows:
        found.setdefault(account, []).append(int(amount))
    return found


def entries_of(engine: sa.Engine, loan_id: str) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT e.kind, e.memo FROM journal_entries e WHERE e.loan_id = :l "
                "ORDER BY e.created_at, e.id"
            ),
            {"l": loan_id},
        ).all()
    return [(kind, memo) for kind, memo in rows]


def payout_row(engine: sa.Engine, loan_id: str) -> sa.Row[tuple[str, str, str, str]]:
    with engine.connect() as conn:
        return conn.execute(
            sa.text(
                "SELECT status, resolved_by, failure_code, settlement_entry_id "
                "FROM loan_payouts WHERE loan_id = :l"
            ),
            {"l": loan_id},
        ).one()


def fen(money: dict[str, object]) -> int:
    value = money["amount_fen"]
    assert isinstance(value, int)
    return value


def test_register_to_loan_closed(service: Service, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    me = service.borrower()
    identity = me.identity

    # -- register with phone + code from the sandbox SMS gateway
    signed_in = me.sign_in()
    assert signed_in["is_new"] is True
    profile = me.ok(me.get("/api/v1/me"))
    assert profile["phone"] == identity.phone[:3] + "****" + identity.phone[-4:]
    assert profile["national_id"] is None

    # -- identity: every field masked on the way out
    profile = me.verify_identity()
    assert profile["status"] == "kyc_passed"
    assert profile["national_id"] == identity.national_id[:3] + "*" * 11 + identity.national_id[-4:]
    assert profile["bank_card"] == "*" * (len(identity.bank_card) - 4) + identity.bank_card[-4:]
    assert profile["real_name"][0] == identity.real_name[0] and "*" in profile["real_name"]

    # -- consents with the text version shown
    me.consent()
    consents = me.ok(me.get("/api/v1/me/consents"))["items"]
    assert {c["purpose"] for c in consents} == {"credit_report_query", "data_use", "e_contract"}

    # -- credit line: CNY 10,000 a month → 3 months' income at the 15 % tier
    application = me.apply(monthly_income_fen=1_000_000)
    assert application["outcome"] == "approve"
    assert fen(application["limit"]) == 3_000_000
    assert application["annual_rate"]["rate"] == "0.15"
    assert application["price_band"] == "B"
    low, high = application["apr_range"]["low"], application["apr_range"]["high"]
    assert 0.15 <= float(low["rate"]) <= float(high["rate"]) < 0.24
    line_id = application["line_id"]
    lines = me.ok(me.get("/api/v1/lines"))["items"]
    assert [line["line_id"] for line in lines] == [line_id]
    assert fen(lines[0]["available"]) == 3_000_000

    # -- a live offer: every installment, totals, the APR first
    offer = me.offer(line_id, amount_fen=600_000, periods=6)
    assert next(iter(offer)) == "apr"
    installments = offer["installments"]
    assert len(installments) == 6
    assert sum(fen(i["principal"]) for i in installments) == 600_000
    assert sum(fen(i["interest"]) for i in installments) == fen(offer["total_interest"])
    assert fen(offer["total_repayment"]) == 600_000 + fen(offer["total_cost"])
    assert float(offer["apr"]["rate"]) > 0.15 * 0.99
    assert offer["apr"]["percent"] in offer["rate_disclosure_zh"]

    # -- the e-contract: key terms highlighted, hash over exactly the text
    contract = me.draft(line_id, amount_fen=600_000, periods=6)
    assert contract["status"] == "draft"
    assert contract["sha256"] == hashlib.sha256(contract["body"].encode("utf-8")).hexdigest()
    keys = [t["key"] for t in contract["key_terms"]]
    assert keys == [
        "amount",
        "apr",
        "annual_rate",
        "total_cost",
        "repayment",
        "overdue",
        "personal_information",
    ]
    assert contract["body"].count("★") == len(keys)
    assert (
        identity.national_id not in contract["body"] and identity.bank_card not in contract["body"]
    )
    assert contract["terms"]["apr"] == offer["apr"]

    # -- sign: the loan is drawn, routed to the own pool and its payout queued
    signed = me.ok(me.sign(contract), 201)
    loan_id = signed["loan"]["loan_id"]
    assert signed["contract"]["status"] == "signed"
    assert signed["disbursement"]["status"] == "pending"
    assert signed["disbursement"]["stage"] == "queued"
    assert [(f["funder_code"], fen(f["amount"])) for f in signed["disbursement"]["funders"]] == [
        ("own_pool", 600_000)
    ]
    assert signed["loan"]["status"] == "active"
    # Booked against the rail's in-transit account until the rail confirms.
    assert postings_by_account(service.engine, loan_id)[IN_TRANSIT][0] == -600_000
    assert_ledger_balanced(service, loan_id)
    with service.engine.connect() as conn:
        stored = conn.execute(
            sa.text(
                "SELECT sha256, body, signed_at, ip_address, device_id FROM loan_contracts WHERE id = :id"
            ),
            {"id": contract["contract_id"]},
        ).one()
    assert (
        stored.sha256
        == hashlib.sha256(stored.body.encode("utf-8")).hexdigest()
        == contract["sha256"]
    )
    assert stored.signed_at is not None and stored.ip_address == "127.0.0.0/24"
    assert stored.device_id == me.device_id

    # -- paid out to the card, settled by the rail's signed webhook
    loan = me.wait_paid(loan_id)
    assert loan["disbursement_status"] == "paid"
    assert loan["disbursement"]["status"] == "paid"
    assert loan["disbursement"]["stage"] == "paid"
    assert loan["disbursement"]["funders"][0]["funder_code"] == "own_pool"
    assert fen(loan["outstanding_principal"]) == 600_000
    status, resolved_by, _, settlement_entry = payout_row(service.engine, loan_id)
    assert (status, resolved_by) == ("paid", "webhook") and settlement_entry
    # The settlement moved the money from in transit to the own pool's cash: in transit
    # is back to zero for this loan.
    postings = postings_by_account(service.engine, loan_id)
    assert postings[IN_TRANSIT] == [-600_000, 600_000]
    assert postings["cash:own_pool"] == [-600_000]

    # The notice the settlement left goes out by SMS, naming the card's last four digits.
    def disbursed_notice() -> dict[str, str] | None:
        items = me.ok(me.get("/api/v1/notifications"))["items"]
        found = [n for n in items if n["kind"] == "loan_disbursed" and n["status"] == "sent"]
        return found[0] if found else None

    notice = wait_until(disbursed_notice, timeout=10)
    assert identity.bank_card[-4:] in notice["body_zh"]
    regular = [s for s in loan["schedule"] if s["kind"] == "regular"]
    assert [fen(s["principal"]) for s in regular] == [fen(i["principal"]) for i in installments]
    assert_ledger_balanced(service, loan_id)

    # -- repay the installment due (the first, ahead of its date): collected from the card
    # through the rail, pending until the rail's webhook confirms it. Paid on the day of
    # the payout, its interest runs only on the principal that stays out for the period.
    first = installments[0]
    balance = Decimal(600_000)
    charged = (
        Decimal(fen(first["interest"])) * (balance - fen(first["principal"])) / balance
    ).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    due = fen(first["principal"]) + int(charged)
    assert fen(loan["due_now"]) == due < fen(first["total"])
    asked = me.pay(f"/api/v1/loans/{loan_id}/repayments/due", key="repay-1")
    assert fen(asked["payment"]["amount"]) == due and asked["payment"]["kind"] == "due"
    assert fen(asked["loan"]["outstanding_principal"]) == 600_000  # nothing booked yet
    paid = me.wait_payment(loan_id, asked["payment"]["payment_id"])
    assert paid["status"] == "paid" and paid["repayment_id"]
    receipt = me.ok(me.get(f"/api/v1/loans/{loan_id}/repayments/{paid['repayment_id']}"))
    assert fen(receipt["amount"]) == due
    assert sum(fen(a["amount"]) for a in receipt["allocation"]) == due
    loan = me.ok(me.get(f"/api/v1/loans/{loan_id}"))
    assert fen(loan["outstanding_principal"]) == 600_000 - fen(first["principal"])
    assert_ledger_balanced(service, loan_id)

    # -- prepay in full: interest only to today
    quote = me.ok(me.get(f"/api/v1/loans/{loan_id}/payoff-quote"))
    assert fen(quote["principal"]) == 600_000 - fen(first["principal"])
    asked = me.pay(
        f"/api/v1/loans/{loan_id}/payoff", {"amount_fen": fen(quote["amount_due"])}, key="payoff-1"
    )
    closing = me.wait_payment(loan_id, asked["payment"]["payment_id"])
    assert closing["status"] == "paid"
    assert_ledger_balanced(service, loan_id)

    # -- closed, receipts kept, the line whole again
    loan = me.ok(me.get(f"/api/v1/loans/{loan_id}"))
    assert loan["status"] == "closed" and fen(loan["outstanding_principal"]) == 0
    assert all(s["status"] == "paid" for s in loan["schedule"])
    receipts = me.ok(me.get(f"/api/v1/loans/{loan_id}/repayments"))["items"]
    assert [fen(r["amount"]) for r in receipts] == [due, fen(quote["amount_due"])]
    one = me.ok(me.get(f"/api/v1/loans/{loan_id}/repayments/{receipts[0]['repayment_id']}"))
    assert one == receipts[0]
    line = me.ok(me.get(f"/api/v1/lines/{line_id}"))
    assert fen(line["available"]) == 3_000_000

    # -- the inbox tells the story, with no personal data in it
    kinds = [n["kind"] for n in me.ok(me.get("/api/v1/notifications"))["items"]]
    for kind in (
        "line_approved",
        "contract_signed",
        "loan_disbursed",
        "repayment_received",
        "loan_closed",
    ):
        assert kind in kinds
    inbox = me.get("/api/v1/notifications").text
    assert identity.phone not in inbox and identity.national_id not in inbox
    assert identity.bank_card not in inbox

    # -- personal data never reached a log line
    for secret in (identity.phone, identity.national_id, identity.bank_card, identity.real_name):
        assert secret not in caplog.text
    me.close()
    assert_book_verifies(service)


def test_failed_payout_cancels_the_loan_and_restores_the_line(service: Service) -> None:
    # The payment sandbox refuses payouts to cards ending 0014 (invalid card).
    from tests.e2e.journey_client import new_identity

    me = service.borrower(new_identity(card_suffix="0014"))
    application = me.onboard()
    line_id = application["line_id"]
    signed = me.ok(me.sign(me.draft(line_id, 300_000, 3)), 201)
    loan = me.wait_paid(signed["loan"]["loan_id"])
    assert loan["disbursement_status"] == "failed"
    assert loan["status"] == "cancelled"
    assert loan["disbursement"]["failure_code"] == "invalid_card"
    assert_ledger_balanced(service, loan["loan_id"])
    line = me.ok(me.get(f"/api/v1/lines/{line_id}"))
    assert fen(line["available"]) == fen(line["limit"])
    refused = me.post(f"/api/v1/loans/{loan['loan_id']}/repayments/due", key="k-failed")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "disbursement_not_paid"
    kinds = [n["kind"] for n in me.ok(me.get("/api/v1/notifications"))["items"]]
    assert "disbursement_failed" in kinds and "loan_disbursed" not in kinds
    # Through the funding engine: the rail's webhook failed the payout; the cancellation
    # entry reverses the disbursement account by account, in transit included.
    status, resolved_by, failure, settlement_entry = payout_row(service.engine, loan["loan_id"])
    assert (status, resolved_by, failure) == ("failed", "webhook", "invalid_card")
    assert settlement_entry is None
    kinds_booked = [kind for kind, _ in entries_of(service.engine, loan["loan_id"])]
    assert kinds_booked == ["disbursement", "cancellation"]
    postings = postings_by_account(service.engine, loan["loan_id"])
    assert postings[IN_TRANSIT] == [-300_000, 300_000]
    assert postings, "the loan was booked"
    assert all(sum(amounts) == 0 for amounts in postings.values()), postings
    assert loan["disbursement"]["funders"] == []  # the own pool's share was released
    # The payout alone, as the app polls it after signing: the same answer, and only
    # for the loan's own borrower.
    payout = me.ok(me.get(f"/api/v1/loans/{loan['loan_id']}/disbursement"))
    assert payout == loan["disbursement"]
    stranger = service.borrower()
    stranger.sign_in()
    hidden = stranger.get(f"/api/v1/loans/{loan['loan_id']}/disbursement")
    assert hidden.status_code == 404 and hidden.json()["error"]["code"] == "not_found"
    stranger.close()
    me.close()


def test_declined_application_gives_readable_reasons(service: Service) -> None:
    me = service.borrower()
    me.sign_in()
    me.verify_identity()
    me.consent()
    application = me.apply(monthly_income_fen=200_000)  # CNY 2,000 a month
    assert application["outcome"] == "decline"
    assert application["line_id"] is None and application["limit"] is None
    (reason,) = application["reasons"]
    assert reason["code"] == "INCOME_BELOW_MINIMUM"
    assert re.search(r"[\u4e00-\u9fff]", reason["text_zh"]) and reason["text_en"]
    again = me.post("/api/v1/credit-applications", {"monthly_income_fen": 1_000_000})
    assert again.status_code == 409 and again.json()["error"]["code"] == "reapply_too_soon"
    assert me.ok(me.get("/api/v1/lines"))["items"] == []
    me.close()
