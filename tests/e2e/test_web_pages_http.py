"""Over real HTTP, the borrower's web pages a newcomer reads first, in Chinese and English:
the approval page gives the main reasons for the limit and price (as the decline page
does), the home and apply pages make one promise about how fast a decision comes, the
contract page shows the signed text's part in the page's language (the signed, bilingual
text one link away, unchanged), and "my data" offers withdrawal only for consents given."""

from __future__ import annotations

import re

import httpx
import pytest
from tests.e2e.journey_client import Borrower, Identity, Service

from mobilend.sandbox.test_identities import IDENTITIES
from mobilend.web.messages import CATALOGUE

pytestmark = pytest.mark.db

CSRF = "c" * 32
CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef]")


def web(me: Borrower, method: str, path: str, lang: str = "zh", **kwargs: object) -> httpx.Response:
    """A page as the web app serves it to this borrower's browser session."""
    cookies = f"mobilend_session={me.access_token}; mobilend_csrf={CSRF}; mobilend_lang={lang}"
    headers = {"Cookie": cookies, "X-Device-Id": me.device_id}
    return me.http.request(method, path, headers=headers, **kwargs)  # type: ignore[arg-type]


def section(html: str, testid: str) -> str:
    """The text of the element with ``data-testid`` (up to its closing tag), tags removed."""
    found = re.search(rf'data-testid="{testid}"[^>]*>(.*?)</(div|ol|p)>', html, re.S)
    assert found, testid
    return re.sub(r"<[^>]+>", "", found.group(1))


# -- 1. an approval gives its reasons -------------------------------------------------------
def test_the_approval_page_gives_the_main_reasons_for_limit_and_price(
    scoring_service: Service,
) -> None:
    sandbox = next(i for i in IDENTITIES if i.key == "approve")
    me = scoring_service.borrower(
        Identity(sandbox.phone, sandbox.name, sandbox.national_id, sandbox.bank_card)
    )
    me.sign_in()
    me.verify_identity()
    me.consent()
    # No income typed, as a newcomer leaves the optional box (the web form's path).
    application, _ = scoring_service.platform.journey.apply_for_line(me.borrower_id)
    assert application.outcome == "approve" and application.reasons, application
    lead = application.reasons[0]
    page = web(me, "GET", f"/apply/{application.application_id}")
    assert page.status_code == 200, page.text
    assert 'data-outcome="approve"' in page.text
    reasons = section(page.text, "reasons")
    assert CATALOGUE["apply.approval_reasons"][0] in page.text
    assert lead.text_zh in reasons and "来源" in reasons
    assert not re.search(r"[A-Za-z]{3,}", reasons), reasons  # the English stays out

    english = web(me, "GET", f"/apply/{application.application_id}", lang="en")
    reasons_en = section(english.text, "reasons")
    assert CATALOGUE["apply.approval_reasons"][1] in english.text
    assert lead.text_en in reasons_en and "source:" in reasons_en
    assert not CJK.search(reasons_en), reasons_en
    me.close()


# -- 2. one honest promise about decision speed ---------------------------------------------
def test_home_and_apply_pages_promise_the_same_decision_speed(service: Service) -> None:
    me = service.borrower()
    me.sign_in()
    me.verify_identity()
    me.consent()
    for lang, index in (("zh", 0), ("en", 1)):
        speed = CATALOGUE["decision.speed"][index]
        home = web(me, "GET", "/", lang=lang)
        apply = web(me, "GET", "/apply", lang=lang)
        assert home.status_code == apply.status_code == 200
        assert speed in home.text and speed in apply.text, lang
        for page in (home, apply):
            assert "1秒审批" not in page.text and "只需几秒钟" not in page.text
    me.close()


# -- 3. the contract in the page's language -------------------------------------------------
def test_the_contract_page_shows_the_text_in_its_language_and_links_the_signed_text(
    service: Service,
) -> None:
    me = service.borrower()
    application = me.onboard(monthly_income_fen=1_000_000)
    contract = me.draft(application["line_id"], 300_000, 6)
    path = f"/contracts/{contract['contract_id']}"

    chinese = web(me, "GET", path)
    assert chinese.status_code == 200, chinese.text
    body = section(chinese.text, "contract-body")
    assert "第一条 借款" in body and "★ 借款金额：3,000.00元" in body
    assert "Article" not in body and "Loan Contract" not in body and "Lender" not in body
    assert 'data-reading="true"' in chinese.text
    assert f'href="{path}/signed-text"' in chinese.text
    assert contract["sha256"] in chinese.text

    english = web(me, "GET", path, lang="en")
    body_en = section(english.text, "contract-body")
    assert "Article 1 The loan" in body_en and "★ Amount: CNY 3,000.00" in body_en
    # Only the borrower's own name is written in Chinese characters.
    name = me.identity.real_name[0]
    assert set(CJK.findall(body_en)) <= {name}, CJK.findall(body_en)

    # The signed text itself: both languages, exactly what the fingerprint is over.
    signed = web(me, "GET", path + "/signed-text")
    assert signed.status_code == 200
    original = section(signed.text, "contract-original-body")
    assert "第一条 借款 Article 1 The loan" in original
    assert contract["sha256"] in signed.text
    stored = me.ok(me.get(f"/api/v1/contracts/{contract['contract_id']}"))
    assert stored["sha256"] == contract["sha256"]
    me.close()


# -- 4. my data: withdrawal only for consents given -----------------------------------------
def test_my_data_offers_withdrawal_only_for_consents_given(service: Service) -> None:
    me = service.borrower()
    me.sign_in()
    me.verify_identity()
    me.consent()  # the required ones; marketing is left out

    def marketing_row(lang: str = "zh") -> str:
        page = web(me, "GET", "/my-data", lang=lang)
        assert page.status_code == 200, page.text
        found = re.search(
            r'data-purpose="marketing"[^>]*data-state="(\w+)"(.*?)</form>', page.text, re.S
        )
        assert found
        return found.group(1) + "|" + found.group(2)

    row = marketing_row()
    assert row.startswith("none|")
    assert "未同意" in row and 'data-testid="withdraw"' not in row
    assert "撤回后" not in row  # no withdrawal wording for a consent never given
    assert CATALOGUE["mydata.without.marketing"][0] in row
    assert CATALOGUE["consent.marketing.text"][0] in row and 'data-testid="grant"' in row
    row_en = marketing_row("en")
    assert "Not given" in row_en and CATALOGUE["mydata.effect.marketing"][1] not in row_en

    given = web(me, "POST", "/my-data/consents/marketing/grant", data={"csrf_token": CSRF})
    assert given.status_code == 303 and given.headers["location"].endswith("?given=marketing")
    row = marketing_row()
    assert row.startswith("active|") and 'data-testid="withdraw"' in row
    assert CATALOGUE["mydata.effect.marketing"][0] in row
    consents = me.ok(me.get("/api/v1/me/consents"))["items"]
    assert any(c["purpose"] == "marketing" and not c.get("withdrawn_at") for c in consents)

    unknown = web(me, "POST", "/my-data/consents/everything/grant", data={"csrf_token": CSRF})
    assert unknown.status_code == 404
    me.close()
