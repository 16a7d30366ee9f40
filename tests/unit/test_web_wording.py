"""Borrower-facing wording without a browser: refusals in the page's language only,
notices with grouped amounts and no internal codes, one spelling of "installment", and
no English words left in the Chinese catalogue."""

from __future__ import annotations

import re
from pathlib import Path

from mobilend.app.journey.application_limits import TOO_MANY_APPLICATIONS
from mobilend.app.journey.notices import TEMPLATES, render_notice
from mobilend.domain.errors import Problem, ValidationFailed
from mobilend.domain.limits import ApplicationRateLimited
from mobilend.web.formatting import card
from mobilend.web.i18n import Translator
from mobilend.web.kit import in_language, problems_by_field
from mobilend.web.messages import CATALOGUE

SRC = Path(__file__).resolve().parents[2] / "src" / "mobilend"
#: Latin words a Chinese text may hold: rate and checksum names, currency, brand, formats.
ALLOWED = {"APR", "IRR", "SHA", "CNY", "PDF", "JSON", "English", "App"}


def test_a_refusal_written_in_one_language_never_reaches_the_other() -> None:
    zh, en = Translator("zh"), Translator("en")
    english_only = "must be a positive amount exact to the fen"
    assert in_language(english_only, zh, "amount") == "请输入正确的金额，最多两位小数"
    assert in_language(english_only, en, "amount") == "Must be a positive amount exact to the fen"
    assert in_language("只有中文", en, "phone") == "Enter a valid mainland China mobile number"
    assert in_language("验证码错误 (wrong verification code)", en) == "Wrong verification code"
    refusal = ValidationFailed([Problem("national_id", "bad id")])
    assert problems_by_field(refusal, zh) == {"national_id": "请检查填写的内容"}


def test_the_daily_application_limit_is_told_in_the_pages_language() -> None:
    refused = ApplicationRateLimited(TOO_MANY_APPLICATIONS, 3600)
    assert problems_by_field(refused, Translator("zh")) == {"_": "今日申请次数过多，请明天再试"}
    assert problems_by_field(refused, Translator("en")) == {
        "_": "Too many applications today; please try again tomorrow"
    }


def test_notices_group_amounts_and_carry_no_internal_codes() -> None:
    signed = render_notice("contract_signed", {"amount": "30000.00", "apr": "18.25%"})
    assert "30,000.00元" in signed.body_zh and "CNY 30,000.00" in signed.body_en
    paid = render_notice("repayment_received", {"amount": "1234.5", "outstanding": "98765.43"})
    assert "1,234.50" in paid.body_zh and "98,765.43" in paid.body_en
    for template in TEMPLATES.values():
        assert "_ref}" not in template.body_zh + template.body_en


def test_one_spelling_of_installment_everywhere_a_borrower_reads() -> None:
    texts = [en for _zh, en in CATALOGUE.values()]
    texts += [t.body_en + t.title_en for t in TEMPLATES.values()]
    texts += [p.read_text("utf-8") for p in (SRC / "web" / "templates").glob("*.html")]
    texts += [(SRC / "app" / "servicing" / "templates" / "en.json").read_text("utf-8")]
    assert not any(re.search(r"instalment", text, re.I) for text in texts)


def test_the_chinese_catalogue_has_no_english_words() -> None:
    for key, (zh, _en) in CATALOGUE.items():
        if key == "lang.toggle":
            continue
        without_placeholders = re.sub(r"\{[a-z_]+\}", "", zh)
        words = set(re.findall(r"[A-Za-z]{2,}", without_placeholders)) - ALLOWED
        assert not words, (key, zh)


def test_card_numbers_read_as_their_last_four_digits() -> None:
    assert card("***************0128") == "**** 0128"
    assert card(None) == "—"


def test_the_consents_page_names_every_required_consent_and_says_optional_once() -> None:
    from mobilend.web.onboarding import REQUIRED_CONSENTS

    for lang in (0, 1):
        intro = CATALOGUE["consents.intro"][lang]
        for purpose in REQUIRED_CONSENTS:
            name = CATALOGUE[f"consent.{purpose.value}"][lang]
            short = name.removesuffix("授权").lower().split()[0]
            assert short in intro.lower(), (lang, purpose)
        # The badge beside it says 可选 / Optional: the name does not say it again.
        marketing = CATALOGUE["consent.marketing"][lang].lower()
        assert "可选" not in marketing and "optional" not in marketing


def test_the_english_payout_notice_names_the_currency() -> None:
    zh, en = Translator("zh"), Translator("en")
    assert "元" in zh("disbursement.paid_sub", amount="3,000.00", card="0015")
    assert "CNY 3,000.00" in en("disbursement.paid_sub", amount="3,000.00", card="0015")


def test_the_loan_page_names_the_loan_status_once() -> None:
    page = (SRC / "web" / "templates" / "loan.html").read_text("utf-8")
    assert page.count('t("loan.status")') == 1


def test_home_and_apply_make_one_honest_promise_about_decision_speed() -> None:
    zh, en = Translator("zh"), Translator("en")
    for t in (zh, en):
        speed = t("decision.speed")
        assert speed in t("home.no_line_sub", speed=speed)
        assert speed in t("apply.intro", speed=speed)
    # Automated, usually a second or a few: never a flat "1 second" promise.
    assert "1秒审批" not in zh("home.no_line_sub", speed=zh("decision.speed"))
    assert "自动" in zh("decision.speed") and "几秒" in zh("decision.speed")
    assert "automatically" in en("decision.speed") and "a few seconds" in en("decision.speed")
    for page in ("home.html", "apply.html"):
        assert 'speed=t("decision.speed")' in (SRC / "web" / "templates" / page).read_text()


def test_an_approval_shows_its_reasons_the_way_a_decline_does() -> None:
    assert CATALOGUE["apply.approval_reasons"] == (
        "本次审批的主要依据",
        "Main reasons for this decision",
    )
    page = (SRC / "web" / "templates" / "decision.html").read_text("utf-8")
    # One macro for both lists: the approval's reasons read like the decline's.
    assert page.count("decision_reasons(t, a.reasons") == 2
    assert 'decision_reasons(t, a.reasons, "apply.approval_reasons")' in page


def test_my_data_speaks_of_withdrawing_only_a_consent_given() -> None:
    from mobilend.web.onboarding import CONSENT_VERSIONS

    assert CATALOGUE["mydata.not_granted"] == ("未同意", "Not given")
    for purpose in CONSENT_VERSIONS:
        zh, en = CATALOGUE[f"mydata.without.{purpose.value}"]
        assert "撤回" not in zh and "withdraw" not in en.lower(), purpose
        assert zh.startswith("未同意") and en.startswith("Without it")
    page = (SRC / "web" / "templates" / "my_data.html").read_text("utf-8")
    withdrawal, _, not_held = page.partition(
        '{% else %}\n    <p class="small" data-testid="without">'
    )
    assert "mydata.effect." in withdrawal and "mydata.effect." not in not_held
    assert "/grant" in not_held and "/withdraw" not in not_held
