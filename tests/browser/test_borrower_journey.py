"""The borrower's whole journey through the mobile web app, in a phone-sized Chromium:
sign in with an SMS code → KYC → consents → credit line → live offer → e-contract →
payout → repay an installment (a double tap pays once) → pay off → loan closed → inbox.
"""

from __future__ import annotations

import re
from decimal import Decimal

import numpy_financial as npf
from playwright.sync_api import Page, expect

from mobilend.adapters.db.lending_repository import SqlLendingUnitOfWorkFactory
from tests.browser.conftest import Screens, Service, horizontal_overflow, national_id

PHONE = "13812345678"
CARD = "6222021234567890128"  # Luhn-valid


def yuan(text: str) -> Decimal:
    """A displayed amount (``¥ 1,234.56``) as a Decimal."""
    return Decimal(re.sub(r"[^\d.\-]", "", text))


def percent(text: str) -> Decimal:
    return Decimal(text.strip().rstrip("%")) / 100


def column(page: Page, table: str, css: str) -> list[Decimal]:
    return [yuan(cell) for cell in page.locator(f"{table} tbody td{css}").all_inner_texts()]


def ledger_balanced(service: Service) -> bool:
    with SqlLendingUnitOfWorkFactory(service.engine)() as uow:
        balances = uow.ledger.trial_balance()
    totals: dict[str, Decimal] = {}
    for (_account, currency), money in balances.items():
        totals[currency] = totals.get(currency, Decimal(0)) + money.amount
    return bool(balances) and all(total == 0 for total in totals.values())


class Journey:
    """Steps a borrower takes; each screen is photographed and checked for sideways scroll."""

    def __init__(self, page: Page, service: Service, screens: Screens) -> None:
        self.page, self.service, self.screens = page, service, screens

    def shot(self, name: str) -> None:
        self.page.wait_for_load_state("networkidle")
        assert horizontal_overflow(self.page) <= 0, f"{name} scrolls sideways"
        self.screens.shot(self.page, name)

    def sign_in(self, phone: str = PHONE, query: str = "") -> None:
        page = self.page
        page.goto(self.service.base_url + "/" + query)
        expect(page).to_have_url(re.compile(r"/login"))
        page.fill("#phone", phone)
        self.shot("login")
        page.locator("[data-testid=phone-form] button").click()
        expect(page.get_by_test_id("code-sent")).to_contain_text("138****5678")
        page.fill("#code", self.service.latest_code(phone))
        self.shot("otp")
        page.locator("[data-testid=code-form] button[type=submit]").click()
        expect(page.get_by_test_id("next-step")).to_be_visible()
        self.shot("home-new")

    def verify_identity(self, birth: str = "19900307") -> None:
        page = self.page
        page.get_by_test_id("next-step").click()
        expect(page).to_have_url(re.compile(r"/kyc$"))
        page.fill("#real_name", "张三")
        page.fill("#national_id", national_id(birth=birth))
        page.fill("#bank_card", CARD)
        self.shot("kyc")
        page.locator("[data-testid=kyc-form] button").click()
        expect(page).to_have_url(re.compile(r"/consents$"))

    def consent(self) -> None:
        page = self.page
        for purpose in ("credit_report_query", "data_use", "e_contract"):
            page.check(f"input[name=purpose][value={purpose}]")
        self.shot("consents")
        page.locator("[data-testid=consent-form] button").click()
        expect(page).to_have_url(re.compile(r"/apply$"))

    def apply(self, monthly_income: str) -> str:
        page = self.page
        page.fill("#monthly_income", monthly_income)
        self.shot("apply")
        page.locator("[data-testid=apply-form] button").click()
        decision = page.get_by_test_id("decision")
        expect(decision).to_be_visible()
        self.shot("decision")
        return decision.get_attribute("data-outcome") or ""


def rate_font_sizes(page: Page) -> dict[str, float]:
    """Computed font size (px) of every displayed rate, keyed by its text."""
    return page.eval_on_selector_all(
        ".rate",
        "els => Object.fromEntries(els.map(e => [e.className + ':' + e.innerText,"
        " parseFloat(getComputedStyle(e).fontSize)]))",
    )


def test_borrower_walks_from_sign_in_to_a_closed_loan(page: Page, service: Service) -> None:
    journey = Journey(page, service, Screens("journey"))
    journey.sign_in()
    journey.verify_identity()
    journey.consent()
    assert journey.apply("8000") == "approve"
    expect(page.get_by_test_id("limit")).to_have_text("24,000.00")

    # -- live offer: change amount and term, the offer follows (HTMX) ------------------
    page.get_by_test_id("borrow-now").click()
    expect(page).to_have_url(re.compile(r"/borrow$"))
    expect(page.get_by_test_id("apr")).to_be_visible()
    page.fill("#amount", "3000")
    page.locator(".terms label", has_text=re.compile(r"^6")).click()
    expect(page.get_by_test_id("principal")).to_have_text("3,000.00")
    expect(page.locator("[data-testid=offer-schedule] tbody tr")).to_have_count(6)
    journey.shot("offer")

    principals = column(page, "[data-testid=offer-schedule]", ".principal")
    assert sum(principals) == Decimal("3000.00")
    totals = [yuan(r.split("\t")[-1]) for r in page.locator("[data-testid=offer-schedule] tbody tr").all_inner_texts()]
    shown_interest = yuan(page.get_by_test_id("total-interest").inner_text())
    shown_fees = yuan(page.get_by_test_id("total-fees").inner_text())
    assert sum(totals) == Decimal("3000.00") + shown_interest + shown_fees
    assert yuan(page.get_by_test_id("total-repay").inner_text()) == sum(totals)
    # The APR shown is the IRR of what the borrower receives and pays, annualised.
    apr_shown = percent(page.get_by_test_id("apr").inner_text())
    monthly = npf.irr([-3000.0, *(float(x) for x in totals)])
    assert abs(apr_shown - Decimal(str(monthly * 12))) < Decimal("0.0001")
    # ...and no rate on the screen is set larger than it.
    sizes = rate_font_sizes(page)
    apr_size = max(size for key, size in sizes.items() if "apr" in key.split(":")[0])
    assert len(sizes) >= 2 and all(size <= apr_size for size in sizes.values())

    # -- e-contract ----------------------------------------------------------------------
    page.get_by_test_id("to-contract").click()
    expect(page).to_have_url(re.compile(r"/contracts/[^/]+$"))
    expect(page.get_by_test_id("key-terms")).to_contain_text("3,000.00")
    expect(page.get_by_test_id("contract-apr")).to_have_text(f"{apr_shown * 100:.2f}%")
    for term in ("amount", "apr", "total_cost", "repayment", "overdue", "personal_information"):
        expect(page.locator(f"[data-term={term}]")).to_be_visible()
    assert re.fullmatch(r"[0-9a-f]{64}", page.get_by_test_id("contract-sha256").inner_text())
    journey.shot("contract")
    page.get_by_test_id("sign").click()  # without ticking "I agree": refused
    expect(page.locator("[data-field=agree]")).to_be_visible()
    page.get_by_test_id("agree").check()
    page.get_by_test_id("sign").click()

    # -- payout ----------------------------------------------------------------------
    expect(page).to_have_url(re.compile(r"/loans/[^/]+/disbursement$"))
    expect(page.get_by_test_id("disbursement")).to_have_attribute("data-status", "paid")
    journey.shot("disbursed")
    assert ledger_balanced(service)
    page.get_by_test_id("view-loan").click()
    loan_url = page.url
    expect(page.get_by_test_id("loan-status")).to_have_attribute("data-status", "active")
    expect(page.get_by_test_id("loan-apr")).to_have_text(f"{apr_shown * 100:.2f}%")
    assert sum(column(page, "[data-testid=loan-schedule]", ".principal")) == Decimal("3000.00")
    journey.shot("loan")

    # -- repay the installment due; a double tap pays once ------------------------------
    page.get_by_test_id("repay").click()
    expect(page.get_by_test_id("kind-due")).to_be_checked()
    due = yuan(page.get_by_test_id("due-amount").inner_text())
    assert due == totals[0]
    journey.shot("repay")
    form = page.get_by_test_id("repay-form")
    fields = {
        name: form.locator(f"input[name={name}]").get_attribute("value") or ""
        for name in ("csrf_token", "idempotency_key")
    }
    page.get_by_test_id("pay").click()
    expect(page.get_by_test_id("receipt-amount")).to_have_text(f"¥ {due:,.2f}")
    receipt_url = page.url
    journey.shot("receipt")
    replay = page.request.post(
        loan_url + "/repay", form={**fields, "kind": "due"}, max_redirects=5
    )
    assert replay.ok and replay.url == receipt_url  # the first receipt, not a second payment
    assert ledger_balanced(service)

    page.goto(loan_url)
    expect(page.get_by_test_id("receipt-link")).to_have_count(1)
    expect(page.locator("[data-testid=loan-schedule] [data-status=paid]")).to_have_count(1)

    # -- pay off in full: the loan closes --------------------------------------------
    page.get_by_test_id("repay").click()
    page.get_by_test_id("kind-payoff").check()
    payoff = yuan(page.get_by_test_id("payoff-amount").inner_text())
    assert Decimal(0) < payoff < sum(totals[1:]) + Decimal("0.01")
    journey.shot("payoff")
    page.get_by_test_id("pay").click()
    expect(page.get_by_test_id("loan-closed")).to_be_visible()
    expect(page.get_by_test_id("receipt-amount")).to_have_text(f"¥ {payoff:,.2f}")
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
    for kind in ("line_approved", "contract_signed", "loan_disbursed", "repayment_received", "loan_closed"):
        expect(page.locator(f"[data-testid=notice][data-kind={kind}]").first).to_be_visible()
    journey.shot("inbox")
    page.goto(service.base_url + "/me")
    expect(page.get_by_test_id("masked-id")).to_have_text(re.compile(r"^110\*{11}\d{3}[\dX]$"))
    journey.shot("me")
