"""The console's staff API over real HTTP: analytics endpoints in the OpenAPI schema, CSV
export, no cookie-borne changes, and ``/docs`` served without a CDN."""

from __future__ import annotations

import csv
import io
import re
import uuid

import pytest
from tests.e2e.journey_client import Service

from mobilend.adapters.auth import StaffDirectory
from mobilend.adapters.db.security_repository import SqlStaffUserStore
from mobilend.bootstrap.console import STAFF_ACCESS_COOKIE

pytestmark = pytest.mark.db

PASSWORD = "correct horse battery"
REPORTS = ("funnel", "approvals", "vintage", "roll_rates", "dpd", "recovery", "monitoring",
           "funders", "pnl", "stress")  # fmt: skip


def _token(service: Service, *roles: str) -> str:
    username = f"u{uuid.uuid4().hex[:10]}"
    StaffDirectory(SqlStaffUserStore(service.engine)).create_user(
        username, PASSWORD, roles, service.platform.lending.clock.now()
    )
    with service.client() as http:
        response = http.post(
            "/api/v1/ops/auth/login", json={"username": username, "password": PASSWORD}
        )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def test_every_analytics_report_is_in_the_schema_and_exports_csv(shared_service: Service) -> None:
    service = shared_service
    token = _token(service, "finance", "risk")
    with service.client() as http:
        paths = http.get("/openapi.json").json()["paths"]
        for key in REPORTS:
            assert f"/api/v1/ops/analytics/{key}" in paths
        headers = {"Authorization": f"Bearer {token}"}
        report = http.get("/api/v1/ops/analytics/funnel", headers=headers)
        assert report.status_code == 200, report.text
        stages = next(t for t in report.json()["tables"] if t["name"] == "stages")
        assert stages["columns"] == ["stage", "count", "conversion"]
        exported = http.get(
            "/api/v1/ops/analytics/funnel", params={"format": "csv", "table": "stages"},
            headers=headers,
        )  # fmt: skip
        assert exported.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(exported.text.lstrip("\ufeff"))))
        assert rows[0] == ["stage", "count", "conversion"]
        assert [r[0] for r in rows[1:]] == [r[0] for r in stages["rows"]]
        missing = http.get(
            "/api/v1/ops/analytics/funnel", params={"format": "csv", "table": "nope"},
            headers=headers,
        )  # fmt: skip
        assert missing.status_code == 404
        assert http.get("/api/v1/ops/analytics/funnel").status_code == 401
        bad = http.get("/api/v1/ops/analytics/stress?pd_multiplier=-1", headers=headers)
        assert bad.status_code == 422


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/api/v1/ops/analytics/funnel", {"last": "0"}),
        ("/api/v1/ops/analytics/approvals", {"first": "20260101"}),
        ("/api/v1/ops/analytics/roll_rates", {"period_end": "1"}),
        ("/api/v1/ops/collections/refusals", {"since": "0"}),
        ("/api/v1/ops/collections/refusals", {"since": "1700000000"}),
    ],
)
def test_dates_in_queries_are_iso_or_refused(
    shared_service: Service, path: str, query: dict[str, str]
) -> None:
    # Lax parsing read these as 1970 dates and answered 200; the schema promises ISO 8601.
    token = _token(shared_service, "admin", "finance", "risk", "collections_manager")
    with shared_service.client() as http:
        response = http.get(path, params=query, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 422, response.text
    assert next(iter(query)) in response.text


def test_the_console_cookie_reads_but_never_changes(shared_service: Service) -> None:
    service = shared_service
    token = _token(service, "finance")
    with service.client() as http:
        http.cookies.set(STAFF_ACCESS_COOKIE, token)
        assert http.get("/api/v1/ops/approvals").status_code == 200
        change = http.post(
            "/api/v1/ops/approvals",
            json={"kind": "write_off", "loan_id": "L1", "reason": "forged from another site"},
        )
        assert change.status_code == 401


def test_docs_work_offline(shared_service: Service) -> None:
    with shared_service.client() as http:
        page = http.get("/docs")
        assert page.status_code == 200
        sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert sources and all(s.startswith("/") for s in sources)  # nothing from elsewhere
        for source in sources:
            asset = http.get(source)
            assert asset.status_code == 200, source
            assert len(asset.content) > 100
