"""The collections staff API over real HTTP: roles, agency scoping, the conduct gate's
refusals as 422 with the broken rules, four-eyes write-off through the ledger, the legal
case file, and the routes in the OpenAPI schema; every change in the audit log."""

from __future__ import annotations

import datetime as dt
import uuid
from types import SimpleNamespace

import httpx
import pytest
from tests.e2e.journey_client import Service
from tests.integration.collections_fixtures import age_loan
from tests.integration.servicing_fixtures import LoanSpec, add_borrower, open_loan

from mobilend.adapters.auth import AuditLog, StaffDirectory
from mobilend.adapters.db.security_repository import SqlAuditStore, SqlStaffUserStore
from mobilend.app.collections.cases import sync_cases
from mobilend.bootstrap.collections import build_platform_collections

pytestmark = pytest.mark.db

COL = "/api/v1/ops/collections"
PASSWORD = "correct horse battery"


def staff(service: Service, http: httpx.Client, *roles: str) -> tuple[str, dict[str, str]]:
    username = f"u{uuid.uuid4().hex[:10]}"
    StaffDirectory(SqlStaffUserStore(service.engine)).create_user(
        username, PASSWORD, roles, service.platform.lending.clock.now()
    )
    login = http.post("/api/v1/ops/auth/login", json={"username": username, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return login.json()["user_id"], {"Authorization": f"Bearer {login.json()['access_token']}"}


def overdue(service: Service, loan_id: str, borrower_id: str, dpd: int) -> None:
    wired = SimpleNamespace(lending=service.platform.lending)
    add_borrower(service.engine, service.platform.vault, borrower_id, phone="13800138000")
    today = service.platform.today()
    start = today - dt.timedelta(days=30 + dpd)
    open_loan(wired, loan_id, borrower_id, start, LoanSpec(periods=12))  # type: ignore[arg-type]
    age_loan(wired, loan_id, today)  # type: ignore[arg-type]


def test_collections_staff_api(service: Service) -> None:
    overdue(service, "loan-api-1", "b-api-1", dpd=200)
    desk = build_platform_collections(service.platform).desk
    sync_cases(desk, service.platform.today())
    with service.client() as http:
        agent_id, as_agent = staff(service, http, "collections")
        manager_id, as_manager = staff(service, http, "collections_manager")
        agency_id, as_agency = staff(service, http, "agency")
        _, as_operations = staff(service, http, "operations")

        cases = http.get(f"{COL}/cases", headers=as_agent)
        assert cases.status_code == 200, cases.text
        [case] = cases.json()["items"]
        case_id = case["case_id"]
        assert (case["bucket"], case["placement"]) == ("M6+", "legal")
        assert http.get(f"{COL}/cases", headers=as_operations).status_code == 403

        for body in (
            {"agent_id": agent_id, "name": "李催收", "team": "lender"},
            {"code": "agency-x", "name": "某某资产管理公司"},
            {"agent_id": agency_id, "name": "外包甲", "team": "agency-x"},
        ):
            path = "/agencies" if "code" in body else "/agents"
            saved = http.post(f"{COL}{path}", json=body, headers=as_manager)
            assert saved.status_code == 201, saved.text
        assert (
            http.post(
                f"{COL}/agencies", json={"code": "a-b", "name": "x"}, headers=as_agent
            ).status_code
            == 403
        )
        assigned = http.post(
            f"{COL}/cases/{case_id}/assignment", json={"agent_id": agent_id}, headers=as_manager
        )
        assert assigned.status_code == 200, assigned.text
        queue = http.get(f"{COL}/queue", headers=as_agent).json()["items"]
        assert [c["case_id"] for c in queue] == [case_id]

        # An agency agent never sees a case placed elsewhere.
        assert http.get(f"{COL}/cases/{case_id}", headers=as_agency).status_code == 404
        assert http.get(f"{COL}/cases", headers=as_agency).json()["items"] == []

        refused = http.post(
            f"{COL}/cases/{case_id}/contacts",
            json={
                "channel": "sms",
                "template": "agent_message",
                "free_text": {"note": "再不还钱就报警抓你"},
            },
            headers=as_agent,
        )
        assert refused.status_code == 422, refused.text
        error = refused.json()["error"]
        assert error["code"] == "conduct_refused"
        assert "banned_words" in {f["field"] for f in error["fields"]}
        third = http.post(
            f"{COL}/cases/{case_id}/contacts",
            json={"channel": "call", "template": "call_script", "party": "third_party"},
            headers=as_agent,
        )
        assert third.status_code == 422
        assert "third_party_contact" in {f["field"] for f in third.json()["error"]["fields"]}
        logged = http.get(f"{COL}/refusals", headers=as_manager).json()["items"]
        assert {r["template"] for r in logged} >= {"agent_message", "call_script"}
        assert http.get(f"{COL}/refusals", headers=as_agent).status_code == 403

        proposal = http.post(f"{COL}/cases/{case_id}/write-off", json={}, headers=as_agent)
        assert proposal.status_code == 201, proposal.text
        resolution_id = proposal.json()["resolution_id"]
        assert (
            http.post(
                f"{COL}/resolutions/{resolution_id}/decision",
                json={"approve": True},
                headers=as_agent,
            ).status_code
            == 403
        )
        done = http.post(
            f"{COL}/resolutions/{resolution_id}/decision",
            json={"approve": True},
            headers=as_manager,
        )
        assert done.status_code == 200, done.text
        assert done.json()["status"] == "done" and done.json()["entry_ids"]
        recovered = http.post(
            f"{COL}/cases/{case_id}/recoveries", json={"amount_fen": 50000},
            headers={**as_manager, "Idempotency-Key": "rec-1"},
        )  # fmt: skip
        assert recovered.status_code == 201, recovered.text

        pdf = http.get(f"{COL}/cases/{case_id}/case-file.pdf", headers=as_manager)
        assert pdf.status_code == 200, pdf.text
        assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")

        bad = http.post(
            f"{COL}/cases/{case_id}/promises",
            json={"amount_fen": -1, "due_on": "x"},
            headers=as_agent,
        )
        assert bad.status_code == 422
        assert bad.json()["error"]["code"] == "validation_failed"

        schema = http.get("/openapi.json").json()["paths"]
        for path in ("/cases/{case_id}/contacts", "/resolutions/{resolution_id}/decision",
                     "/cases/{case_id}/case-file.pdf", "/report"):  # fmt: skip
            assert f"{COL}{path}" in schema
        report = http.get(f"{COL}/report", headers=as_manager)
        assert report.status_code == 200
        assert report.json()["by_bucket"][0]["collected"]["amount_fen"] == 50000

    records = SqlAuditStore(service.engine).records()
    actions = {(r.actor, r.action) for r in records}
    assert (f"staff:{agent_id}", "collections.contact_refused") in actions
    assert (f"staff:{manager_id}", "collections.write_off_approved") in actions
    assert AuditLog(SqlAuditStore(service.engine)).verify().ok
