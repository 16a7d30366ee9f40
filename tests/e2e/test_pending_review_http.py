"""Over real HTTP: a borrower whose application waits for manual review cannot apply again
— neither through the API nor through the web app's /apply page, which shows the pending
review instead of the form — and several applications at once change nothing."""

from __future__ import annotations

import concurrent.futures
import re

import httpx
import pytest
from tests.e2e.journey_client import Borrower, Service

pytestmark = pytest.mark.db

APPLY = "/api/v1/credit-applications"
CSRF = "c" * 32
CJK = re.compile(r"[\u4e00-\u9fff]")


def referred(service: Service) -> tuple[Borrower, str]:
    """A verified, consenting borrower whose application (no income) was referred."""
    me = service.borrower()
    me.sign_in()
    me.verify_identity()
    me.consent()
    application, _ = service.platform.journey.apply_for_line(me.borrower_id)  # as /apply does
    assert application.outcome == "refer"
    return me, application.application_id


def web(me: Borrower, method: str, path: str, **kwargs: object) -> httpx.Response:
    cookies = f"mobilend_session={me.access_token}; mobilend_csrf={CSRF}"
    headers = {"Cookie": cookies, "X-Device-Id": me.device_id}
    return me.http.request(method, path, headers=headers, **kwargs)  # type: ignore[arg-type]


def test_the_api_refuses_a_new_application_while_one_is_under_review(service: Service) -> None:
    me, application_id = referred(service)
    refused = me.post(APPLY, {"monthly_income_fen": 1_000_000})
    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert error["code"] == "application_under_review"
    zh, _, en = error["message"].partition(" (")
    assert CJK.search(zh) and "manual review" in en
    assert error["fields"][0]["field"] == "application_id"
    assert me.ok(me.get("/api/v1/lines"))["items"] == []
    (only,) = me.ok(me.get(APPLY))["items"]
    assert only["application_id"] == application_id and only["outcome"] == "refer"
    me.close()


def test_applications_at_once_while_under_review_are_all_refused(service: Service) -> None:
    me, application_id = referred(service)

    def apply(_n: int) -> int:
        return me.post(APPLY, {"monthly_income_fen": 1_000_000}).status_code

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(apply, range(4)))
    # Refused for the review, or past the day's application limit (the referral counted).
    assert set(statuses) <= {409, 429} and 409 in statuses, statuses
    assert [a["application_id"] for a in me.ok(me.get(APPLY))["items"]] == [application_id]
    assert me.ok(me.get("/api/v1/lines"))["items"] == []
    me.close()


def test_the_apply_page_shows_the_review_instead_of_the_form(service: Service) -> None:
    me, application_id = referred(service)
    page = web(me, "GET", "/apply")
    assert page.status_code == 200, page.text
    assert 'data-testid="under-review"' in page.text and "apply-form" not in page.text
    assert "人工审核中" in page.text and f"/apply/{application_id}" in page.text
    english = web(me, "GET", "/apply?lang=en")
    assert "under manual review" in english.text and "apply-form" not in english.text

    posted = web(me, "POST", "/apply", data={"csrf_token": CSRF, "monthly_income": "10000"})
    assert posted.status_code == 409, posted.text
    assert 'data-testid="under-review"' in posted.text
    assert me.ok(me.get("/api/v1/lines"))["items"] == []
    assert len(me.ok(me.get(APPLY))["items"]) == 1
    me.close()
