"""No page scrolls sideways on a 390 px phone, error states and refusals included (the
journey tests check the same on every screen they photograph). Also: a declined
application shows its reasons in words, and form posts need the CSRF token."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page, expect
from tests.browser.conftest import PHONE_WIDTH, Screens, Service, national_id
from tests.browser.steps import CARD, PHONE, Journey, page_width


def test_every_page_fits_a_390px_screen(page: Page, service: Service) -> None:
    journey = Journey(page, service, Screens("layout"))
    journey.open("/login")
    page.fill("#phone", "12345")  # not a mobile number
    page.locator("[data-testid=phone-form] button").click()
    expect(page.locator("[data-field=phone]")).to_be_visible()
    journey.shot("login-bad-phone")

    page.fill("#phone", PHONE)
    page.locator("[data-testid=phone-form] button").click()
    page.fill("#code", "000000" if service.latest_code(PHONE) != "000000" else "111111")
    page.locator("[data-testid=code-form] button[type=submit]").click()
    expect(page.locator("[data-field=code]")).to_be_visible()
    journey.shot("login-wrong-code")
    page.fill("#code", service.latest_code(PHONE))
    page.locator("[data-testid=code-form] button[type=submit]").click()
    expect(page.get_by_test_id("next-step")).to_be_visible()

    journey.open("/kyc")
    page.fill("#real_name", "X")
    page.fill("#national_id", "110101199003071230")  # wrong check digit
    page.fill("#bank_card", "6222021234567890123")  # fails Luhn
    page.locator("[data-testid=kyc-form] button").click()
    expect(page.locator("[data-field=national_id]")).to_be_visible()
    expect(page.locator("[data-field=bank_card]")).to_be_visible()
    journey.shot("kyc-errors")
    page.fill("#real_name", "李四")
    page.fill("#national_id", national_id(birth="19850615", seq="456"))
    page.fill("#bank_card", CARD)
    page.locator("[data-testid=kyc-form] button").click()

    page.locator("[data-testid=consent-form] button").click()  # nothing ticked: refused
    expect(page.locator("main .notice.bad")).to_be_visible()
    journey.shot("consents-missing")
    for purpose in ("credit_report_query", "data_use", "e_contract", "marketing"):
        page.check(f"input[name=purpose][value={purpose}]")
    page.locator("[data-testid=consent-form] button").click()

    assert journey.apply("2000") == "decline"
    reasons = page.locator("[data-testid=reasons] li").all_inner_texts()
    assert reasons and all(re.search(r"[\u4e00-\u9fff]", r) for r in reasons), reasons
    assert any("3000" in r for r in reasons), reasons  # the policy's income floor, in words

    for path in ("/", "/loans", "/messages", "/me", "/consents", "/no-such-page", "/loans/xyz"):
        journey.open(path)
        journey.shot(path.strip("/").replace("/", "-") or "home")
    expect(page.get_by_test_id("error-message")).to_be_visible()  # /loans/xyz: not found

    assert journey.widths and all(w <= PHONE_WIDTH for w in journey.widths.values())
    assert page_width(page) <= PHONE_WIDTH


def test_form_posts_without_the_csrf_token_are_refused(page: Page, service: Service) -> None:
    page.goto(service.base_url + "/login")
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    assert token

    forged = page.request.post(
        service.base_url + "/login/code", form={"phone": PHONE}, max_redirects=0
    )
    assert forged.status == 403
    wrong = page.request.post(
        service.base_url + "/login/code",
        form={"phone": PHONE, "csrf_token": token[::-1]},
        max_redirects=0,
    )
    assert wrong.status == 403
    # Another site's page has no cookie of ours at all (the cookie is SameSite=Lax).
    outside = httpx.post(
        service.base_url + "/login/code", data={"phone": PHONE, "csrf_token": token}, timeout=10
    )
    assert outside.status_code == 403
    assert httpx.get(f"{service.sms.base_url}/messages", timeout=10).json()["messages"] == []

    accepted = page.request.post(
        service.base_url + "/login/code", form={"phone": PHONE, "csrf_token": token}
    )
    assert accepted.ok and "code-sent" in accepted.text()
