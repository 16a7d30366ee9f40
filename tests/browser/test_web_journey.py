"""The borrower's whole journey through the mobile web app, in a phone-sized Chromium:
sign in with an SMS code → KYC → consents → credit line → live offer → e-contract →
payout → repay an installment (pending until the bank confirms the debit, then paid; a
double tap pays once) → pay off → loan closed → inbox.
"""

from __future__ import annotations

import re
from decimal import Decimal

import numpy_financial as npf
from playwright.sync_api import Page, expect
from tests.browser.conftest import Screens, Service
from tests.browser.steps import (
    ALLOWED_LATIN,
    Journey,
    column,
    ledger_balanced,
    pdf_text,
    percent,
    yuan,
)


def latin_words_besides_ids(page: Page) -> list[str]:
    """English words on a Chinese page, ids (contract, customer, template: they hold
    digits or hyphens) and the allowed abbreviations (the contract also says IP) aside."""
    tokens = re.split(r"[\s：（）；，。|]+", page.locator("main").inner_text())
    kept = " ".join(t for t in tokens if not re.search(r"[\d\-*]", t))
    return [w for w in re.findall(r"[A-Za-z]{2,}", kept) if w not in ALLOWED_LATIN | {"IP"}]


def assert_apr_most_prominent(page: Page) -> None:
    """The APR is shown, and no other rate on the screen is set in a larger font."""
    rates = page.eval_on_selector_all(
        ".rate",
        "els => els.map(e => [e.classList.contains('apr'), parseFloat(getComputedStyle(e).fontSize)])",
    )
    apr_sizes = [size for is_apr, size in rates if is_apr]
    others = [size for is_apr, size in rates if not is_apr]
    assert apr_sizes and others, rates
    assert max(others) <= min(apr_sizes), rates


def test_borrower_walks_from_sign_in_to_a_closed_loan(page: Page, service: Service) -> None:
    journey = Journey(page, service, Screens("journey"))
    journey.sign_in()
    journey.verify_identity()
    journey.consent()
    assert journey.apply("8000") == "approve"
    expect(page.get_by_test_id("limit")).to_have_text("24,000.00")
    assert_apr_most_prominent(page)

    # -- live offer: change amount and term, the offer follows (HTMX) ------------------
    page.get_by_test_id("borrow-now").click()
    expect(page).to_have_url(re.compile(r"/borrow$"))
    expect(page.get_by_test_id("apr")).to_be_visible()
    page.fill("#amount", "99999")  # above the line: the offer says so instead
    expect(page.locator("[data-testid=offer] .notice.bad")).to_contain_text("借款金额超出可用额度")
    journey.choose_offer("3000", 6)
    journey.shot("offer")

    principals = column(page, "[data-testid=offer-schedule]", ".principal")
    assert sum(principals) == Decimal("3000.00")
    totals = column(page, "[data-testid=offer-schedule]", ".total")
    shown_interest = yuan(page.get_by_test_id("total-interest").inner_text())
    shown_fees = yuan(page.get_by_test_id("total-fees").inner_text())
    assert sum(totals) == Decimal("3000.00") + shown_interest + shown_fees
    assert yuan(page.get_by_test_id("total-repay").inner_text()) == sum(totals)
    # The APR shown is the IRR of what the borrower receives and pays, annualised.
    apr_shown = percent(page.get_by_test_id("apr").inner_text())
    monthly = npf.irr([-3000.0, *(float(x) for x in totals)])
    assert abs(apr_shown - Decimal(str(monthly * 12))) < Decimal("0.0001")
    assert_apr_most_prominent(page)

    # -- e-contract ----------------------------------------------------------------------
    page.get_by_test_id("to-contract").click()
    expect(page).to_have_url(re.compile(r"/contracts/[^/]+$"))
    expect(page.get_by_test_id("key-terms")).to_contain_text("3,000.00")
    expect(page.get_by_test_id("contract-apr")).to_have_text(f"{apr_shown * 100:.2f}%")
    for term in ("amount", "apr", "total_cost", "repayment", "overdue", "personal_information"):
        expect(page.locator(f"[data-term={term}]")).to_be_visible()
    # The fingerprint sits with the full text, out of the way of the key terms.
    sha256 = page.get_by_test_id("contract-sha256").text_content() or ""
    assert re.fullmatch(r"[0-9a-f]{64}", sha256)
    expect(page.get_by_test_id("contract-sha256")).to_be_hidden()
    assert_apr_most_prominent(page)
    journey.shot("contract")
    # The full text in Chinese only (the signed text is bilingual: one link away).
    page.locator(".contract summary").click()
    expect(page.get_by_test_id("contract-body")).to_contain_text("第一条 借款")
    expect(page.get_by_test_id("contract-body")).not_to_contain_text("Article")
    assert latin_words_besides_ids(page) == []
    journey.shot("contract-text")
    page.get_by_test_id("contract-original").click()
    expect(page.get_by_test_id("contract-original-body")).to_contain_text(
        "第一条 借款 Article 1 The loan"
    )
    expect(page.get_by_test_id("contract-sha256")).to_have_text(sha256)
    journey.shot("contract-signed-text")
    page.get_by_test_id("back-to-contract").click()
    contract_pdf = pdf_text(page, "contract-pdf")
    assert "借款合同" in contract_pdf and "3,000.00" in contract_pdf and sha256 in contract_pdf
    sign_url = page.url + "/sign"
    page.get_by_test_id("sign").click()  # without ticking "I agree": refused
    expect(page.locator("[data-field=agree]")).to_be_in_viewport()  # not out of sight at the top
    sign_form = page.get_by_test_id("sign-form")
    signed_fields = {
        name: sign_form.locator(f"input[name={name}]").get_attribute("value") or ""
        for name in ("csrf_token", "idempotency_key", "sha256")
    }
    journey.sign_contract()
    disbursement_url = page.url
    # The same signature sent again (a double tap) draws no second loan.
    again = page.request.post(sign_url, form={**signed_fields, "agree": "yes"})
    assert again.ok and again.url == disbursement_url

    # -- payout ----------------------------------------------------------------------
    journey.shot("disbursed")
    assert ledger_balanced(service)
    page.goto(service.base_url + "/loans")
    expect(page.get_by_test_id("loan-card")).to_have_count(1)
    page.get_by_test_id("loan-card").click()
    loan_url = page.url
    expect(page.get_by_test_id("loan-status")).to_have_attribute("data-status", "active")
    # The payout as funding settled it (the rail's webhook to the service).
    expect(page.get_by_test_id("payout-status")).to_have_attribute("data-status", "paid")
    expect(page.get_by_test_id("loan-apr")).to_have_text(f"{apr_shown * 100:.2f}%")
    assert sum(column(page, "[data-testid=loan-schedule]", ".principal")) == Decimal("3000.00")
    # Interest has its own column, and principal + interest is each row's payment.
    interest = column(page, "[data-testid=loan-schedule]", ".interest")
    assert sum(interest) == shown_interest
    assert column(page, "[data-testid=loan-schedule]", ".total") == totals
    assert_apr_most_prominent(page)
    journey.shot("loan")

    # -- repay the installment due; a double tap pays once ------------------------------
    page.get_by_test_id("repay").click()
    expect(page.get_by_test_id("kind-due")).to_be_checked()
    due = yuan(page.get_by_test_id("due-amount").inner_text())
    # Installment 1 ahead of its date: interest only to today on the principal it brings
    # back early, so less than its scheduled total.
    assert Decimal(0) < due < totals[0]
    journey.shot("repay")
    form = page.get_by_test_id("repay-form")
    fields = {
        name: form.locator(f"input[name={name}]").get_attribute("value") or ""
        for name in ("csrf_token", "idempotency_key")
    }
    # The card is debited through the payment rail: the borrower sees the payment
    # pending until the bank confirms it (the sandbox takes 2 s here), then paid.
    service.payments.admin("POST", "/admin/config", json={"settle_delay_ms": 2000})
    page.get_by_test_id("pay").click()
    status = page.get_by_test_id("payment")
    expect(status).to_have_attribute("data-status", "pending")
    expect(page.get_by_test_id("payment-amount")).to_have_text(f"¥ {due:,.2f}")
    journey.shot("payment-pending")
    payment_url = page.url
    expect(status).to_have_attribute("data-status", "paid", timeout=15_000)
    journey.shot("payment-paid")
    service.payments.admin("POST", "/admin/config", json={"settle_delay_ms": 10})
    replay = page.request.post(loan_url + "/repay", form={**fields, "kind": "due"}, max_redirects=5)
    assert replay.ok and replay.url == payment_url  # the first payment, not a second one
    page.get_by_test_id("view-receipt").click()
    expect(page.get_by_test_id("receipt-amount")).to_have_text(f"¥ {due:,.2f}")
    journey.shot("receipt")
    receipt_pdf = pdf_text(page, "receipt-pdf")
    assert "还款成功" in receipt_pdf and f"{due:,.2f}" in receipt_pdf
    assert ledger_balanced(service)

    page.goto(loan_url)
    expect(page.get_by_test_id("receipt-link")).to_have_count(1)
    expect(page.locator("[data-testid=loan-schedule] [data-status=paid]")).to_have_count(1)

    # -- a chosen amount -----------------------------------------------------------------
    page.get_by_test_id("repay").click()
    before = yuan(page.get_by_test_id("payoff-amount").inner_text())
    page.get_by_test_id("amount-input").fill("100.50")
    expect(page.get_by_test_id("kind-amount")).to_be_checked()
    page.get_by_test_id("pay").click()
    expect(page.get_by_test_id("payment")).to_have_attribute("data-status", "paid")
    page.get_by_test_id("view-receipt").click()
    expect(page.get_by_test_id("receipt-amount")).to_have_text("¥ 100.50")
    receipt_lines = page.locator("[data-component]")
    assert sum(yuan(v) for v in receipt_lines.locator(".v").all_inner_texts()) == Decimal("100.50")
    journey.shot("receipt-amount")
    page.get_by_test_id("back-to-loan").click()
    expect(page.get_by_test_id("receipt-link")).to_have_count(2)

    # -- pay off in full: the loan closes --------------------------------------------
    page.get_by_test_id("repay").click()
    page.get_by_test_id("kind-payoff").check()
    payoff = yuan(page.get_by_test_id("payoff-amount").inner_text())
    # The chosen amount paid installment 2's interest for the rest of its period on the
    # principal that stays out, then principal; a payoff charges interest only to the
    # day: the payoff falls, but by less than the 100.50 paid.
    assert before - Decimal("100.50") < payoff < before
    assert Decimal(0) < payoff < sum(totals[1:])
    journey.shot("payoff")
    page.get_by_test_id("pay").click()
    expect(page.get_by_test_id("payment")).to_have_attribute("data-status", "paid")
    page.get_by_test_id("view-receipt").click()
    expect(page.get_by_test_id("loan-closed")).to_be_visible()
    expect(page.get_by_test_id("receipt-amount")).to_have_text(f"¥ {payoff:,.2f}")
    # What the payoff settled is this payment plus any credit held from the one before.
    settled = [yuan(v) for v in page.locator("[data-component] .v").all_inner_texts()]
    credit = page.get_by_test_id("credit-used")
    used = yuan(credit.locator(".v").inner_text()) if credit.count() else Decimal(0)
    assert sum(settled) == payoff + used
    assert used == 0  # the 100.50 went to the next installment, none was held as credit
    journey.shot("closed")
    page.get_by_test_id("back-to-loan").click()
    expect(page.get_by_test_id("loan-status")).to_have_attribute("data-status", "closed")
    expect(page.get_by_test_id("outstanding")).to_have_text("0.00")
    expect(page.locator("[data-testid=loan-schedule] [data-status=paid]")).to_have_count(6)
    expect(page.get_by_test_id("repay")).to_have_count(0)
    journey.shot("loan-closed")
    assert ledger_balanced(service)

    # -- inbox -------------------------------------------------------------------------
    page.goto(service.base_url + "/messages")
    for kind in (
        "line_approved",
        "contract_signed",
        "loan_disbursed",
        "repayment_received",
        "loan_closed",
    ):
        expect(page.locator(f"[data-testid=notice][data-kind={kind}]").first).to_be_visible()
    journey.shot("inbox")
    page.goto(service.base_url + "/me")
    expect(page.get_by_test_id("masked-id")).to_have_text(re.compile(r"^110\*{11}\d{3}[\dX]$"))
    journey.shot("me")
