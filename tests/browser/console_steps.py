"""What staff do in the operations console, for the browser tests: staff accounts, a
desktop browser signed in as one of them, a small book to look at, screenshots."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from playwright.sync_api import Browser, BrowserContext, Page, expect
from tests.browser.conftest import SCREENSHOTS, Service

from mobilend.adapters.auth import StaffDirectory
from mobilend.adapters.db.analytics_refresh import SqlAnalyticsRefresher
from mobilend.adapters.db.security_repository import SqlStaffUserStore
from mobilend.domain.business_day import business_today

PASSWORD = "correct-horse-battery-staple"
DESKTOP = {"width": 1366, "height": 900}


def add_staff(service: Service, username: str, *roles: str) -> str:
    directory = StaffDirectory(SqlStaffUserStore(service.engine))
    return directory.create_user(username, PASSWORD, roles, dt.datetime.now(dt.UTC)).user_id


def refresh_analytics(service: Service) -> None:
    SqlAnalyticsRefresher(service.engine).refresh(business_today())


class ConsoleShots:
    """Full-page screenshots of console pages, numbered in the order taken."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.count = 0
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def shot(self, page: Page, name: str) -> Path:
        self.count += 1
        safe = re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-")
        path = SCREENSHOTS / f"console-{self.prefix}-{self.count:02d}-{safe}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


@contextmanager
def staff_browser(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN", timezone_id="Asia/Shanghai")
    context.set_default_timeout(15_000)
    try:
        yield context
    finally:
        context.close()


def sign_in(page: Page, service: Service, username: str) -> None:
    page.goto(service.base_url + "/console/")
    expect(page).to_have_url(re.compile(r"/console/login"))
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.locator("[data-testid=login-form] button").click()
    expect(page.get_by_test_id("who")).to_contain_text(username)


@dataclass
class Book:
    """Ids of the records one borrower's approved and paid-out loan left behind."""

    borrower_id: str
    line_id: str
    loan_id: str
    contract_id: str
    application_id: str
    product_code: str


def book_of(service: Service, borrower_phone_bidx_free: bool = True) -> Book:
    with service.engine.connect() as conn:
        row = conn.execute(
            sa.text(
                "SELECT l.borrower_id, l.line_id, l.id AS loan_id, c.id AS contract_id,"
                " a.id AS application_id, l.product_code FROM loans l"
                " JOIN loan_contracts c ON c.loan_id = l.id"
                " JOIN credit_applications a ON a.line_id = l.line_id"
                " ORDER BY l.created_at LIMIT 1"
            )
        ).one()
    return Book(*row)


@dataclass
class OpenCase:
    case_id: str
    owed_fen: int


def open_case(service: Service, loan_id: str, agency_agent: str, days: int = 45) -> OpenCase:
    """Age the loan ``days`` past today with the domain's own end of day, open its collection
    case, and give the case to ``agency_agent`` of agency ``ag1`` (registered here)."""
    import dataclasses

    from mobilend.app.collections.cases import sync_cases
    from mobilend.app.collections.ports import AgencyRecord, AgentRecord
    from mobilend.app.collections.views import add_agency, add_agent
    from mobilend.bootstrap.collections import build_platform_collections
    from mobilend.domain.collections import Placement

    lending = service.platform.lending
    on = lending.today() + dt.timedelta(days=days)
    with lending.uow_factory() as uow:
        loan = uow.lending.loans.get(loan_id, for_update=True)
        entries = loan.accrue_to(on, lending.new_id)
        uow.lending.loans.save(loan)
        uow.lending.ledger.append(entries, loan.borrower_id)
        uow.commit()
    desk = build_platform_collections(service.platform).desk
    assert sync_cases(desk, on).opened == 1
    add_agency(desk, AgencyRecord("ag1", "委外机构一 Agency One"))
    add_agent(desk, AgentRecord(agency_agent, "Agency agent", "ag1"))
    with desk.uow_factory() as uow:
        case = uow.collections.cases.open_for_loan(loan_id, for_update=True)
        assert case is not None
        uow.collections.cases.save(
            dataclasses.replace(
                case, agency="ag1", agent_id=agency_agent, placement=Placement.AGENCY,
                version=case.version + 1,
            )
        )  # fmt: skip
        uow.commit()
    return OpenCase(case.case_id, case.owed.round().to_minor())
