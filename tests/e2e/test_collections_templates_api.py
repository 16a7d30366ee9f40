"""Template management over real HTTP: a collections manager proposes, a banned word is a
422 naming the field, the proposer cannot approve (409), another manager can; agents read
the live versions but cannot propose; the routes are in the OpenAPI schema and every
change is in the audit log."""

from __future__ import annotations

import pytest
from tests.e2e.journey_client import Service
from tests.e2e.test_collections_api import staff

from mobilend.adapters.auth import AuditLog
from mobilend.adapters.db.security_repository import SqlAuditStore

pytestmark = pytest.mark.db

TPL = "/api/v1/ops/collections/templates"


def body(**changes: object) -> dict[str, object]:
    return {
        "code": "overdue_reminder",
        "version": "2026.2",
        "channels": ["sms"],
        "parties": ["borrower"],
        "body_zh": "【移动贷】{name}您好，您的借款（尾号{loan_ref}）已逾期{dpd}天，请致电{callback}。",
        "body_en": "[mobilend] Dear {name}, loan ending {loan_ref} is {dpd} days late; call {callback}.",
        "note": "更温和的措辞",
        **changes,
    }


def test_templates_are_proposed_and_approved_by_two_managers(service: Service) -> None:
    with service.client() as http:
        agent_id, as_agent = staff(service, http, "collections")
        maker_id, as_maker = staff(service, http, "collections_manager")
        checker_id, as_checker = staff(service, http, "collections_manager")

        live = http.get(TPL, headers=as_agent)
        assert live.status_code == 200, live.text
        codes = {t["code"]: t for t in live.json()["items"]}
        assert codes["overdue_reminder"]["version"] == "2026.1"
        assert codes["overdue_reminder"]["status"] == "approved"

        assert http.post(TPL, json=body(), headers=as_agent).status_code == 403
        banned = http.post(TPL, json=body(body_zh="{name}，再不还钱就报警抓你"), headers=as_maker)
        assert banned.status_code == 422, banned.text
        assert "body_zh" in {f["field"] for f in banned.json()["error"]["fields"]}
        unknown = http.post(TPL, json=body(parties=["everyone"]), headers=as_maker)
        assert unknown.status_code == 422

        proposed = http.post(TPL, json=body(), headers=as_maker)
        assert proposed.status_code == 201, proposed.text
        template_id = proposed.json()["template_id"]
        assert proposed.json()["status"] == "proposed"
        again = http.post(TPL, json=body(version="2026.3"), headers=as_maker)
        assert again.status_code == 409

        own = http.post(f"{TPL}/{template_id}/decision", json={"approve": True}, headers=as_maker)
        assert own.status_code == 409, own.text
        assert own.json()["error"]["code"] == "four_eyes_required"
        done = http.post(
            f"{TPL}/{template_id}/decision", json={"approve": True}, headers=as_checker
        )
        assert done.status_code == 200, done.text
        assert done.json()["status"] == "approved"

        live = {t["code"]: t for t in http.get(TPL, headers=as_agent).json()["items"]}
        assert live["overdue_reminder"]["version"] == "2026.2"
        history = http.get(TPL, params={"status": "all", "code": "overdue_reminder"},
                           headers=as_agent).json()["items"]  # fmt: skip
        assert {(t["version"], t["status"]) for t in history} == {
            ("2026.1", "retired"), ("2026.2", "approved"),
        }  # fmt: skip
        assert http.get(TPL, params={"status": "nope"}, headers=as_agent).status_code == 422

        schema = http.get("/openapi.json").json()["paths"]
        assert TPL in schema and f"{TPL}/{{template_id}}/decision" in schema
        assert "post" in schema[TPL] and "get" in schema[TPL]

    actions = {(r.actor, r.action) for r in SqlAuditStore(service.engine).records()}
    assert (f"staff:{maker_id}", "collections.template_proposed") in actions
    assert (f"staff:{checker_id}", "collections.template_approved") in actions
    assert AuditLog(SqlAuditStore(service.engine)).verify().ok
    assert agent_id
