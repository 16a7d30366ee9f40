"""Every validation message and error page a borrower can meet, in Chinese and in
English, with no English word on a Chinese page (and no Chinese on an English one);
then the borrower's own data and consents, and a proposed higher limit accepted in the
app. Each screen is photographed at 390×844."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect
from tests.browser.conftest import Screens, Service, national_id
from tests.browser.steps import CARD, CJK, PHONE, english_words, page_width

from mobilend.adapters.db.servicing_contacts import SqlContactDirectory
from mobilend.adapters.db.unit_of_work import SqlUnitOfWork
from mobilend.app.reviews.ports import LineReviewRecord
from mobilend.domain.decisions import ProposalStatus, ReviewAction
from mobilend.domain.money import Money

#: (field or test id, Chinese text, English text) each check expects.
EXPECTED = {
    "phone": ("请输入有效的中国大陆手机号", "Enter a valid mainland China mobile number"),
    "code_format": ("请输入6位数字验证码", "Enter the 6-digit code"),
    "code_wrong": ("验证码错误，还可尝试 4 次", "Wrong verification code. 4 tries left"),
    "resend": ("秒后可重新获取", "You can ask for a new code in"),
    "real_name": (
        "2至30个汉字，或2至60个英文字母",
        "2 to 30 Chinese characters, or 2 to 60 Latin letters",
    ),
    "national_id": ("身份证号校验码不正确", "Resident ID check character does not match"),
    "underage": ("申请人须年满", "Applicant must be at least"),
    "bank_card": ("银行卡号有误，请核对", "Card number fails its check digit"),
    "consents": ("请勾选必选的授权", "Please tick the required consents"),
    "income": ("请输入正确的金额", "Enter an amount with at most 2 decimals"),
    "amount_format": ("请输入正确的金额", "Enter an amount with at most 2 decimals"),
    "amount_range": ("可借金额为 500.00 – 24,000.00 元", "You can borrow 500.00 – 24,000.00 CNY"),
    "amount_above_line": ("借款金额超出可用额度", "The amount is more than your available credit"),
    "agree": ("请先阅读并勾选同意", "Please read and tick to accept"),
    "not_found": ("没有找到这条记录", "We could not find that record"),
    "method": ("需要从应用内的按钮打开", "This page opens from a button in the app"),
    "server": ("系统开小差了", "Something went wrong on our side"),
}


class Checker:
    def __init__(self, page: Page, lang: str, screens: Screens) -> None:
        self.page, self.lang, self.screens = page, lang, screens
        self.seen: list[str] = []

    def expect_text(self, name: str, locator_css: str = "main") -> None:
        zh, en = EXPECTED[name]
        expect(self.page.locator(locator_css).first).to_contain_text(
            zh if self.lang == "zh" else en
        )
        self.language()
        assert page_width(self.page) <= 390, name
        self.screens.shot(self.page, name)
        self.seen.append(name)

    def language(self) -> None:
        if self.lang == "zh":
            assert english_words(self.page) == [], english_words(self.page)
        else:
            text = (
                self.page.locator(".topbar h1").inner_text()
                + self.page.locator("main").inner_text()
            )
            assert CJK.findall(text) == [], text


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_message_in_both_languages(
    page: Page, service: Service, lang: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = service.base_url
    check = Checker(page, lang, Screens(f"messages-{lang}"))
    submit: Callable[[str], None] = lambda form: page.locator(  # noqa: E731
        f"[data-testid={form}] button[type=submit]"
    ).first.click()

    # -- sign-in ------------------------------------------------------------------------
    page.goto(f"{base}/login?lang={lang}")
    page.fill("#phone", "12345")
    submit("phone-form")
    check.expect_text("phone", "[data-field=phone]")
    page.fill("#phone", PHONE)
    submit("phone-form")
    first_code = service.latest_code(PHONE)
    page.fill("#code", "12")
    submit("code-form")
    check.expect_text("code_format", "[data-field=code]")
    page.fill("#code", "000000" if first_code != "000000" else "111111")
    submit("code-form")
    check.expect_text("code_wrong", "[data-field=code]")
    submit("resend-form")  # inside the cool-down: refused, the code box stays
    check.expect_text("resend", "[data-testid=resend]")  # said once, on the button
    expect(page.locator("[data-field=resend]")).to_have_count(0)
    expect(page.get_by_test_id("resend")).to_be_disabled()  # counting down
    expect(page.locator("#code")).to_be_visible()
    page.goto(f"{base}/login/code")  # a reload, or back from the SMS app: still there
    expect(page.locator("#code")).to_be_visible()
    expect(page.get_by_test_id("code-waiting")).to_be_visible()
    check.language()
    page.fill("#code", first_code)
    submit("code-form")
    expect(page.get_by_test_id("next-step")).to_be_visible()

    # -- identity -----------------------------------------------------------------------
    page.goto(f"{base}/kyc")
    expect(page.get_by_test_id("steps")).to_have_attribute("data-current", "0")
    expect(page.locator(".steps li.on")).to_have_count(1)
    page.fill("#real_name", "X")
    page.fill("#national_id", "110101199003071230")  # wrong check character
    page.fill("#bank_card", "6222021234567890123")  # fails Luhn
    submit("kyc-form")
    check.expect_text("real_name", "[data-field=real_name]")
    check.expect_text("national_id", "[data-field=national_id]")
    check.expect_text("bank_card", "[data-field=bank_card]")
    page.fill("#real_name", "张X")  # mixed scripts: the same one-sentence rule
    page.fill("#national_id", national_id(birth=f"{dt.date.today().year - 16}0101"))
    page.fill("#bank_card", CARD)
    submit("kyc-form")
    check.expect_text("real_name", "[data-field=real_name]")
    check.expect_text("underage", "[data-field=national_id]")
    # The borrower's own name is shown back (masked): Latin on the English run, so the
    # page can be checked for Chinese UI text.
    page.fill("#real_name", "李四" if lang == "zh" else "Li Si")
    page.fill("#national_id", national_id(birth="19850615", seq="456"))
    page.fill("#bank_card", CARD)
    submit("kyc-form")

    # -- consents and application ------------------------------------------------------
    expect(page).to_have_url(re.compile(r"/consents$"))
    expect(page.locator("main")).not_to_contain_text("web-")  # no internal version codes
    submit("consent-form")
    check.expect_text("consents")
    for purpose in ("credit_report_query", "data_use", "e_contract", "marketing"):
        page.check(f"input[name=purpose][value={purpose}]")
    submit("consent-form")
    page.fill("#monthly_income", "abc")
    submit("apply-form")
    check.expect_text("income", "[data-field=monthly_income]")
    page.fill("#monthly_income", "8000")
    submit("apply-form")
    expect(page.get_by_test_id("decision")).to_have_attribute("data-outcome", "approve")

    # -- borrowing ------------------------------------------------------------------------
    page.goto(f"{base}/borrow")
    page.fill("#amount", "abc")
    check.expect_text("amount_format", "[data-testid=offer]")
    page.fill("#amount", "100")
    check.expect_text("amount_range", "[data-testid=offer]")
    page.fill("#amount", "99999")
    check.expect_text("amount_above_line", "[data-testid=offer]")
    page.fill("#amount", "3000")
    expect(page.get_by_test_id("principal")).to_have_text("3,000.00")
    page.get_by_test_id("to-contract").click()
    expect(page).to_have_url(re.compile(r"/contracts/[^/]+$"))
    check.language()
    page.get_by_test_id("sign").click()
    expect(page.locator("[data-field=agree]")).to_be_in_viewport()  # not out of sight
    check.expect_text("agree", "[data-field=agree]")

    # -- error pages: the app's own, never bare text --------------------------------------
    page.goto(f"{base}/loans/no-such-loan")
    check.expect_text("not_found", "[data-testid=error-message]")
    page.goto(f"{base}/logout")  # a form's address opened directly
    check.expect_text("method", "[data-testid=error-message]")

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(service.platform.journey, "notifications", broken)
    response = page.goto(f"{base}/messages")
    assert response is not None and response.status == 500
    check.expect_text("server", "[data-testid=error-message]")
    monkeypatch.undo()

    assert sorted(set(check.seen)) == sorted(EXPECTED)  # every message was met


def test_my_data_and_a_higher_limit(page: Page, service: Service) -> None:
    from tests.browser.steps import Journey

    journey = Journey(page, service, Screens("mydata"))
    journey.sign_in()
    journey.verify_identity()
    journey.consent()  # the required consents only: marketing is given later, from my data
    assert journey.apply("8000") == "approve"

    # -- my data: export, then withdraw marketing -----------------------------------------
    journey.open("/me")
    expect(page.get_by_test_id("card")).to_have_text("**** 0128")
    page.get_by_test_id("my-data").click()
    marketing_row = page.locator("[data-testid=consent][data-purpose=marketing]")
    # Never given: said so, with no withdrawal wording or button, and a way to give it.
    expect(marketing_row).to_have_attribute("data-state", "none")
    expect(marketing_row.get_by_test_id("consent-status")).to_have_text("未同意")
    expect(marketing_row.get_by_test_id("withdraw")).to_have_count(0)
    expect(marketing_row).not_to_contain_text("撤回后")
    assert english_words(page) == [], english_words(page)
    journey.shot("my-data-not-given")
    marketing_row.get_by_test_id("grant").click()
    expect(page.get_by_test_id("given")).to_contain_text("营销信息")
    expect(marketing_row).to_have_attribute("data-state", "active")
    expect(marketing_row.get_by_test_id("effect")).to_contain_text("撤回后")
    journey.shot("my-data")
    exported = page.request.get(service.base_url + "/my-data/export")
    assert exported.ok and "attachment" in exported.headers["content-disposition"]
    document = json.loads(exported.body())
    assert set(document) >= {
        "profile",
        "consents",
        "applications",
        "credit_lines",
        "loans",
        "messages",
    }
    assert (
        document["profile"]["national_id"].startswith("110")
        and "*" in document["profile"]["national_id"]
    )
    assert CARD not in exported.text() and document["profile"]["bank_card"].endswith("0128")
    assert document["applications"][0]["outcome"] == "approve"
    assert {c["purpose"] for c in document["consents"]} == {
        "credit_report_query",
        "data_use",
        "e_contract",
        "marketing",
    }

    borrower_id = document_borrower(service)
    contacts = SqlContactDirectory(service.engine, service.platform.vault)
    assert contacts.contact(borrower_id).marketing_allowed
    page.locator("[data-testid=consent][data-purpose=marketing] [data-testid=withdraw]").click()
    expect(page.get_by_test_id("withdrawn")).to_be_visible()
    expect(page.locator("[data-testid=consent][data-purpose=marketing]")).to_have_attribute(
        "data-state", "withdrawn"
    )
    # The message sender checks this when each marketing message leaves: they stop now.
    assert not contacts.contact(borrower_id).marketing_allowed
    journey.shot("my-data-withdrawn")
    again = json.loads(page.request.get(service.base_url + "/my-data/export").body())
    marketing = [c for c in again["consents"] if c["purpose"] == "marketing"]
    assert marketing and marketing[-1]["withdrawn_at"] is not None

    # -- a line review proposed a higher limit: the borrower accepts it in the app ----------
    with SqlUnitOfWork(service.engine) as uow:
        line = uow.lending.lines.for_borrower(borrower_id)[0]
        today = service.platform.today()
        uow.reviews.line_reviews.add(
            LineReviewRecord(
                review_id="LR-1",
                line_id=line.line_id,
                borrower_id=borrower_id,
                reviewed_on=today,
                action=ReviewAction.PROPOSE_INCREASE,
                previous_limit=line.limit,
                new_limit=line.limit,
                decision_id="DEC-LR-1",
                decision_outcome="approve",
                proposed_limit=line.limit + Money("6000"),
                proposal_status=ProposalStatus.PENDING,
                proposal_expires_on=today + dt.timedelta(days=30),
            )
        )
        uow.commit()
    journey.open("/")
    proposal = page.get_by_test_id("proposal")
    expect(proposal).to_contain_text("24,000.00")
    expect(proposal).to_contain_text("30,000.00")
    journey.shot("proposal")
    page.get_by_test_id("accept-proposal").click()
    expect(page.get_by_test_id("proposal-done")).to_contain_text("30,000.00")
    expect(page.get_by_test_id("available")).to_have_text("30,000.00")
    expect(page.get_by_test_id("proposal")).to_have_count(0)
    journey.shot("proposal-accepted")
    journey.open("/messages")
    expect(page.locator("[data-testid=notice][data-kind=line_increased]")).to_contain_text(
        "30,000.00"
    )


def document_borrower(service: Service) -> str:
    with service.engine.connect() as conn:
        from sqlalchemy import text

        return str(conn.execute(text("SELECT id FROM borrowers")).scalar_one())
