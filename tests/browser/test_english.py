"""The web app in English: ``?lang=en`` switches every screen, the choice is remembered,
and the toggle brings Chinese back."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from tests.browser.conftest import Screens, Service
from tests.browser.steps import Journey

CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef]")


def chinese_in(page: Page) -> list[str]:
    """Chinese characters left in the page's main area (none on an English screen)."""
    return CJK.findall(page.locator("main").inner_text())


def test_the_journey_reads_in_english(page: Page, service: Service) -> None:
    journey = Journey(page, service, Screens("en"))
    journey.sign_in(start="/login?lang=en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_test_id("next-step")).to_have_text("Verify your identity")
    assert chinese_in(page) == []

    journey.verify_identity()  # no ?lang= from here on: the cookie remembers English
    expect(page.locator(".topbar h1")).to_have_text("Consents")
    journey.consent()
    assert journey.apply("12000") == "approve"
    expect(page.get_by_test_id("decision")).to_contain_text("Approved")
    assert chinese_in(page) == []

    page.get_by_test_id("borrow-now").click()
    journey.choose_offer("2000", 3)
    expect(page.get_by_test_id("offer")).to_contain_text("APR (annual percentage rate)")
    expect(page.get_by_test_id("offer")).to_contain_text("Calculated by IRR")
    assert chinese_in(page) == []
    journey.shot("offer")

    page.get_by_test_id("to-contract").click()
    key_terms = page.get_by_test_id("key-terms")
    for label in (
        "Amount",
        "APR",
        "Total cost",
        "Repayment",
        "If you pay late",
        "personal information",
    ):
        expect(key_terms).to_contain_text(label)
    assert CJK.findall(key_terms.inner_text()) == []
    page.locator(".contract summary").click()
    contract_body = page.get_by_test_id("contract-body")
    expect(contract_body).to_contain_text("Article 1 The loan")
    # Only the borrower's own (masked) name is in Chinese characters.
    assert set(CJK.findall(contract_body.inner_text())) <= {"张"}
    expect(page.get_by_test_id("contract-original")).to_contain_text("signed text")
    journey.shot("contract")
    journey.sign_contract()
    expect(page.get_by_test_id("disbursement")).to_contain_text("Paid out")
    journey.shot("disbursed")
    page.get_by_test_id("view-loan").click()
    expect(page.get_by_test_id("loan-status")).to_have_text("Repaying")
    assert chinese_in(page) == []
    journey.shot("loan")

    journey.open("/messages")
    expect(page.locator("[data-testid=notice][data-kind=loan_disbursed]")).to_contain_text(
        "Loan paid out"
    )
    assert chinese_in(page) == []
    journey.shot("inbox")

    page.get_by_test_id("lang-toggle").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator(".topbar h1")).to_have_text("消息中心")
    journey.open("/loans")
    expect(page.locator(".topbar h1")).to_have_text("我的借款")
