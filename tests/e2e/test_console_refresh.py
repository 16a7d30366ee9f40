"""The dashboard's freshness note and its "refresh now" button, over real HTTP on a fresh
install: a newcomer's first paid-out loan, figures never built (the note says so in
words, no shell command), a role without ``analytics.refresh`` refused in either
language, and operations staff rebuilding the figures, audited."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
import sqlalchemy as sa
from tests.e2e.journey_client import Service

from mobilend.adapters.auth import StaffDirectory
from mobilend.adapters.db.analytics_refresh import REFRESH_LOCK_KEY
from mobilend.adapters.db.security_repository import SqlStaffUserStore

pytestmark = pytest.mark.db

PASSWORD = "correct horse battery"
CSRF_COOKIE = "mobilend_console_csrf"


def console_as(service: Service, *roles: str) -> tuple[httpx.Client, str]:
    """A client signed in to the console as a new member holding ``roles``; their id."""
    username = f"u{uuid.uuid4().hex[:10]}"
    user = StaffDirectory(SqlStaffUserStore(service.engine)).create_user(
        username, PASSWORD, roles, service.platform.lending.clock.now()
    )
    http = service.client()
    http.get("/console/login")
    signed_in = http.post(
        "/console/login",
        data={"username": username, "password": PASSWORD, "next": "/console/",
              "csrf_token": http.cookies[CSRF_COOKIE]},
    )  # fmt: skip
    assert signed_in.status_code == 303, signed_in.text
    return http, user.user_id


def refresh(http: httpx.Client, lang: str = "zh") -> httpx.Response:
    return http.post(
        f"/console/analytics/refresh?lang={lang}", data={"csrf_token": http.cookies[CSRF_COOKIE]}
    )


def tile(page: str, name: str) -> str:
    found = re.search(rf'data-testid="tile-{name}"><span>[^<]*</span><strong>([^<]*)<', page)
    assert found, name
    return found.group(1)


def audit_rows(service: Service) -> list[tuple[str, str, dict[str, str]]]:
    with service.engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT actor, target, details FROM audit_log"
                " WHERE action = 'analytics.refreshed' ORDER BY seq"
            )
        ).all()
    return [(r.actor, r.target, r.details) for r in rows]


def test_operations_refresh_the_dashboard_others_are_refused(service: Service) -> None:
    # A newcomer's first loan, paid out; end of day has not run yet.
    me = service.borrower()
    me.onboard()
    line_id = str(me.ok(me.get("/api/v1/lines"))["items"][0]["line_id"])
    me.borrow(line_id, amount_fen=500_000)

    ops, ops_id = console_as(service, "operations")
    auditor, _ = console_as(service, "auditor")
    try:
        page = ops.get("/console/").text
        assert "统计数据尚未生成" in page and "mobilend analytics refresh" not in page
        assert 'data-testid="refresh-analytics"' in page
        english = ops.get("/console/?lang=en").text
        assert "have not been computed yet" in english and "Refresh now" in english
        assert "mobilend analytics refresh" not in english

        # The auditor changes nothing: no button, and the route refuses, in both languages.
        assert 'data-testid="refresh-analytics"' not in auditor.get("/console/").text
        refused = refresh(auditor)
        assert refused.status_code == 403 and "您的角色无权访问此页面或操作" in refused.text
        refused_en = refresh(auditor, "en")
        assert refused_en.status_code == 403 and "Your role may not" in refused_en.text
        # A post without the page's CSRF token does nothing either.
        forged = ops.post("/console/analytics/refresh", data={})
        assert forged.status_code == 403
        assert audit_rows(service) == []

        # While another refresh runs, the button says so instead of waiting behind it.
        with service.engine.connect() as conn, conn.begin():
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": REFRESH_LOCK_KEY})
            busy = refresh(ops)
            busy_en = refresh(ops, "en")
        assert busy.status_code == 409 and "分析数据正在刷新" in busy.text
        assert busy_en.status_code == 409 and "being refreshed" in busy_en.text

        done = refresh(ops)
        assert done.status_code == 303 and done.headers["location"] == "/console/"
        page = ops.get("/console/?lang=zh").text
        assert "数据截至营业日" in page and "统计数据尚未生成" not in page
        assert (tile(page, "active"), tile(page, "outstanding")) == ("1", "¥ 5,000.00")
        assert "Updated after each business day" in ops.get("/console/?lang=en").text
    finally:
        ops.close()
        auditor.close()

    [(actor, target, details)] = audit_rows(service)
    assert (actor, target, details["via"]) == (f"staff:{ops_id}", "analytics:portfolio", "console")
    assert details["as_of"] == "2026-03-01"  # the business date that ended last


def test_admin_may_refresh_too(service: Service) -> None:
    admin, admin_id = console_as(service, "admin")
    try:
        assert 'data-testid="refresh-analytics"' in admin.get("/console/").text
        assert refresh(admin, "en").status_code == 303
    finally:
        admin.close()
    assert [a for a, _, _ in audit_rows(service)] == [f"staff:{admin_id}"]
