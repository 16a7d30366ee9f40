"""The collections workbench in a desktop Chromium, against the whole service:

- an agent opens an overdue loan's case: loan, DPD, bucket, and what the conduct gate
  would allow now; a contact the gate refuses names its rule, in Chinese, and is logged;
- a promise to pay is recorded on the case;
- a settlement asked for by the agent cannot be approved by them, and once a
  collections manager approves it the case holds the approved offer;
- the manager's book shows the case by bucket and strategy and the agency's load; an
  agency's agent opens only the case assigned to them.

Pages are photographed into ``test-artifacts/screenshots/console-workbench-*.png``.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from playwright.sync_api import Browser, Page, expect
from tests.browser.conftest import Service
from tests.browser.console_steps import (
    ConsoleShots,
    add_staff,
    book_of,
    open_case,
    sign_in,
    staff_browser,
)
from tests.browser.test_console import borrow_and_pay_out

from mobilend.app.collections.ports import AgentRecord
from mobilend.app.collections.views import add_agent
from mobilend.bootstrap.collections import build_platform_collections


def test_an_agent_works_a_case_through_the_gate_and_a_manager_approves_the_settlement(
    page: Page, browser: Browser, service: Service
) -> None:
    borrow_and_pay_out(page, service)
    book = book_of(service)
    add_staff(service, "collector-1", "collections")
    add_staff(service, "manager-1", "collections_manager")
    agency_agent = add_staff(service, "agency-1", "agency")
    other_agent = add_staff(service, "agency-2", "agency")
    case = open_case(service, book.loan_id, agency_agent=agency_agent)
    # Another agent of the same agency: the case is not theirs.
    add_agent(
        build_platform_collections(service.platform).desk,
        AgentRecord(other_agent, "Other agent", "ag1"),
    )
    case_url = f"{service.base_url}/console/collections/cases/{case.case_id}"
    today = service.platform.lending.today()
    shots = ConsoleShots("workbench")
    with staff_browser(browser) as context:
        agent = context.new_page()
        sign_in(agent, service, "collector-1")
        agent.goto(case_url)
        expect(agent.get_by_test_id("case-bucket")).to_have_text(re.compile(r"^M\d"))
        expect(agent.get_by_test_id("case-dpd")).to_have_text(re.compile(r"^\d+$"))
        # The case is the agency's: the gate would refuse this agent on every channel.
        preview = agent.locator("[data-testid=gate-preview] tr[data-channel]")
        expect(preview).to_have_count(4)
        expect(agent.locator("[data-testid=gate-preview] tr[data-allowed=true]")).to_have_count(0)
        expect(agent.locator("[data-testid=gate-preview]")).to_contain_text("not_assigned")
        shots.shot(agent, "case")
        form = agent.get_by_test_id("contact-form")
        form.locator("select[name=channel]").select_option("call")
        form.locator("select[name=template]").select_option("call_script")
        form.locator("button").click()
        refusal = agent.get_by_test_id("conduct-refused")
        expect(refusal.locator("li[data-rule=not_assigned]")).to_contain_text("案件未分配")
        expect(refusal).not_to_contain_text("not assigned to this agent")  # no English here
        shots.shot(agent, "refused")
        agent.reload()
        expect(agent.locator("[data-testid=contacts] tr[data-allowed=false]")).to_have_count(1)
        # A promise to pay, three days out.
        promise = agent.get_by_test_id("promise-form")
        promise.locator("input[name=amount]").fill("100")
        promise.locator("input[name=due_on]").fill((today + dt.timedelta(days=3)).isoformat())
        promise.locator("button").click()
        expect(agent).to_have_url(re.compile(rf"/collections/cases/{case.case_id}$"))
        expect(agent.get_by_test_id("promises")).to_contain_text("100.00")
        expect(agent.get_by_test_id("promises")).to_contain_text("待履行")
        # A settlement at 80 % of what is owed, for someone else to approve.
        amount = (Decimal(case.owed_fen) * Decimal("0.008")).quantize(Decimal("0.01"))
        offer = agent.get_by_test_id("settlement-form")
        offer.locator("input[name=amount]").fill(str(amount))
        offer.locator("input[name=reason]").fill("失业，一次性结清 (lost job, one payment)")
        offer.locator("button").click()
        expect(agent).to_have_url(re.compile(r"/console/approvals$"))
        row = agent.locator("[data-testid=approvals] tr[data-kind=settlement]")
        expect(row).to_have_count(1)
        request_id = row.get_attribute("data-request")
        row.get_by_test_id("self-approve").click()
        expect(agent.get_by_test_id("error")).to_contain_text("另一名员工")
        shots.shot(agent, "settlement-refused")
    with staff_browser(browser) as context:
        manager = context.new_page()
        sign_in(manager, service, "manager-1")
        manager.goto(f"{service.base_url}/console/approvals")
        manager.locator(f"tr[data-request='{request_id}']").get_by_test_id(
            "approve-request"
        ).click()
        manager.goto(case_url)
        offers = manager.locator("[data-testid=resolutions] tr[data-kind=settlement]")
        expect(offers).to_have_attribute("data-status", "approved")
        expect(offers).to_contain_text(f"{amount:,.2f}")
        shots.shot(manager, "settlement-approved")
        manager.goto(f"{service.base_url}/console/collections/book")
        expect(manager.locator("[data-testid=by-bucket] tr[data-group]")).to_have_count(1)
        expect(manager.locator("[data-testid=by-strategy] tr[data-group]")).to_have_count(1)
        expect(manager.get_by_test_id("loads")).to_contain_text("Agency One")
        expect(manager.get_by_test_id("book-cases")).to_contain_text(case.case_id)
        shots.shot(manager, "book")
    with staff_browser(browser) as context:
        own = context.new_page()
        sign_in(own, service, "agency-1")
        own.goto(f"{service.base_url}/console/collections")
        expect(own.get_by_test_id("my-cases")).to_contain_text(case.case_id)
        response = own.goto(case_url)
        assert response is not None and response.status == 200
        expect(own.get_by_test_id("case")).to_be_visible()
        shots.shot(own, "agency-case")
        response = own.goto(f"{service.base_url}/console/loans/{book.loan_id}")
        assert response is not None and response.status == 403  # no accounts for agencies
    with staff_browser(browser) as context:
        other = context.new_page()
        sign_in(other, service, "agency-2")
        response = other.goto(case_url)
        assert response is not None and response.status == 404  # never confirm others' cases
