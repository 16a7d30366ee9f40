"""What a borrower does in the web app, step by step, for the browser tests.

Every screen passed to ``Journey.shot`` is checked for sideways scrolling at 390 px and
photographed into ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import io
import re
from decimal import Decimal

from playwright.sync_api import Page, expect
from pypdf import PdfReader
from tests.browser.conftest import PHONE_WIDTH, Screens, Service, national_id

from mobilend.adapters.db.unit_of_work import SqlUnitOfWorkFactory

PHONE = "13812345678"
CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef]")
#: Latin words a Chinese page may show: the rate and checksum names the law and the
#: contract use, the currency code and the lender's brand.
ALLOWED_LATIN = frozenset({"APR", "IRR", "SHA", "CNY", "mobilend", "PDF", "JSON"})
CARD = "6222021234567890128"  # Luhn-valid


def yuan(text: str) -> Decimal:
    """A displayed amount (``¥ 1,234.56``) as a Decimal."""
    return Decimal(re.sub(r"[^\d.\-]", "", text))


def percent(text: str) -> Decimal:
    return Decimal(text.strip().rstrip("%")) / 100


def column(page: Page, table: str, css: str) -> list[Decimal]:
    return [yuan(cell) for cell in page.locator(f"{table} tbody td{css}").all_inner_texts()]


def pdf_text(page: Page, link_testid: str) -> str:
    """Download the PDF a link points to (with the page's session) and read its text back."""
    href = page.get_by_test_id(link_testid).get_attribute("href") or ""
    origin = re.match(r"https?://[^/]+", page.url)
    assert origin is not None
    response = page.request.get(origin.group(0) + href)
    assert response.ok and response.headers["content-type"] == "application/pdf", response.status
    reader = PdfReader(io.BytesIO(response.body()))
    return "\n".join(p.extract_text() for p in reader.pages)


def english_words(page: Page) -> list[str]:
    """Latin words in a page's title and main area that a Chinese page must not show."""
    text = page.locator(".topbar h1").inner_text() + "\n" + page.locator("main").inner_text()
    return [w for w in re.findall(r"[A-Za-z]{2,}", text) if w not in ALLOWED_LATIN]


def page_width(page: Page) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth"))


def ledger_balanced(service: Service) -> bool:
    """Every currency's postings sum to zero over the whole ledger (and there are some)."""
    with SqlUnitOfWorkFactory(service.engine)() as uow:
        balances = uow.lending.ledger.trial_balance()
    totals: dict[str, Decimal] = {}
    for (_account, currency), money in balances.items():
        totals[currency] = totals.get(currency, Decimal(0)) + money.amount
    return bool(balances) and all(total == 0 for total in totals.values())


class Journey:
    """Steps a borrower takes; each screen is photographed and checked for sideways scroll."""

    def __init__(self, page: Page, service: Service, screens: Screens) -> None:
        self.page, self.service, self.screens = page, service, screens
        self.widths: dict[str, int] = {}

    def shot(self, name: str) -> None:
        self.page.wait_for_load_state("networkidle")
        width = page_width(self.page)
        self.widths[name] = width
        assert width <= PHONE_WIDTH, f"{name} is {width}px wide: it scrolls sideways"
        self.screens.shot(self.page, name)

    def open(self, path: str) -> None:
        self.page.goto(self.service.base_url + path)

    def sign_in(self, phone: str = PHONE, start: str = "/", code_sent: str = "138****5678") -> None:
        page = self.page
        self.open(start)
        expect(page).to_have_url(re.compile(r"/login"))
        page.fill("#phone", phone)
        self.shot("login")
        page.locator("[data-testid=phone-form] button").click()
        expect(page.get_by_test_id("code-sent")).to_contain_text(code_sent)
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
        """Submit the application; the decision's outcome (approve / decline / refer)."""
        page = self.page
        page.fill("#monthly_income", monthly_income)
        self.shot("apply")
        page.locator("[data-testid=apply-form] button").click()
        decision = page.get_by_test_id("decision")
        expect(decision).to_be_visible()
        self.shot("decision")
        return decision.get_attribute("data-outcome") or ""

    def choose_offer(self, amount: str, months: int) -> None:
        page = self.page
        page.fill("#amount", amount)
        page.locator(".terms label", has_text=re.compile(rf"^{months}\D")).click()
        expect(page.get_by_test_id("principal")).to_have_text(f"{Decimal(amount):,.2f}")
        expect(page.locator("[data-testid=offer-schedule] tbody tr")).to_have_count(months)

    def sign_contract(self) -> None:
        page = self.page
        page.get_by_test_id("agree").check()
        page.get_by_test_id("sign").click()
        expect(page).to_have_url(re.compile(r"/loans/[^/]+/disbursement$"))
        expect(page.get_by_test_id("disbursement")).to_have_attribute("data-status", "paid")
