"""The staff operations API over real HTTP: sign-in, role refusals, end-of-day progress,
suspense assignment and the audit trail it leaves."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from tests.e2e.journey_client import Service
from typer.testing import CliRunner

from mobilend.adapters.auth import AuditLog, StaffDirectory
from mobilend.adapters.db.security_repository import SqlAuditStore, SqlStaffUserStore
from mobilend.app.servicing.transfers import TransferNotice, receive_transfer
from mobilend.bootstrap.servicing import build_servicing
from mobilend.cli.main import app as cli
from mobilend.domain.money import Money

pytestmark = pytest.mark.db

OPS = "/api/v1/ops"
PASSWORD = "correct horse battery"


def _staff(service: Service, *roles: str) -> str:
    username = f"u{uuid.uuid4().hex[:10]}"
    StaffDirectory(SqlStaffUserStore(service.engine)).create_user(
        username, PASSWORD, roles, service.platform.lending.clock.now()
    )
    return username


def _sign_in(http: httpx.Client, username: str) -> dict[str, str]:
    response = http.post(f"{OPS}/auth/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _audit(service: Service) -> AuditLog:
    return AuditLog(SqlAuditStore(service.engine))


def _records(service: Service) -> list[Any]:
    return SqlAuditStore(service.engine).records()


def test_sign_in_gives_a_staff_token_and_roles_are_enforced(shared_service: Service) -> None:
    service = shared_service
    operator, analyst = _staff(service, "operations"), _staff(service, "finance")
    with service.client() as http:
        wrong = http.post(f"{OPS}/auth/login", json={"username": operator, "password": "nope!"})
        assert wrong.status_code == 401
        assert wrong.json()["error"]["code"] == "unauthenticated"

        login = http.post(f"{OPS}/auth/login", json={"username": operator, "password": PASSWORD})
        assert login.status_code == 200, login.text
        assert login.json()["roles"] == ["operations"]
        as_operator = {"Authorization": f"Bearer {login.json()['access_token']}"}
        as_finance = _sign_in(http, analyst)

        assert http.get(f"{OPS}/suspense").status_code == 401
        assert http.get(f"{OPS}/suspense", headers=as_operator).status_code == 200
        # Finance reads suspense but may not move money out of it.
        assert http.get(f"{OPS}/suspense", headers=as_finance).status_code == 200
        refused = http.post(f"{OPS}/suspense/t1/assign", json={"loan_id": "l1"}, headers=as_finance)
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "forbidden"
        assert http.get(f"{OPS}/reconciliation/2026-03-02", headers=as_operator).status_code == 403
        assert http.get(f"{OPS}/early-warning", headers=as_operator).status_code == 403
        recon = http.get(f"{OPS}/reconciliation/2026-03-02", headers=as_finance)
        assert recon.status_code == 200, recon.text
        assert http.get(f"{OPS}/payouts/dead-letters", headers=as_operator).status_code == 200
        missing = http.post(f"{OPS}/payouts/no-such-loan/retry", headers=as_operator)
        assert missing.status_code == 404

    actions = [(r.actor, r.action) for r in _records(service)]
    assert (f"staff_login:{operator}", "staff.sign_in_refused") in actions
    assert _audit(service).verify().ok


def test_a_borrower_token_is_not_a_staff_token(shared_service: Service) -> None:
    borrower = shared_service.borrower()
    borrower.sign_in()
    response = borrower.get(f"{OPS}/eod/2026-03-02")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    borrower.close()


def test_eod_progress_shows_rows_done_after_a_run(shared_service: Service) -> None:
    service = shared_service
    borrower = service.borrower()
    borrower.borrow(borrower.onboard()["line_id"], 300_000, 3)
    day = service.platform.today()
    collections = _staff(service, "collections")
    with service.client() as http:
        headers = _sign_in(http, collections)
        before = http.get(f"{OPS}/eod/1999-01-01", headers=headers).json()
        assert before["status"] == "not_started"
        assert before["partitions"] == []

        service.platform.lending.eod.run(day)

        after = http.get(f"{OPS}/eod/{day.isoformat()}", headers=headers)
        assert after.status_code == 200, after.text
        body = after.json()
        assert len(body["partitions"]) == 1
        assert body["rows_total"] >= 1
        assert body["rows_done"] == body["rows_total"]
        assert body["partitions"][0]["status"] == "done"
        assert http.get(f"{OPS}/eod/2026-02-30", headers=headers).status_code == 422
    borrower.close()


def test_operator_assigns_suspense_money_to_a_loan_and_the_audit_log_records_it(
    shared_service: Service,
) -> None:
    service = shared_service
    borrower = service.borrower()
    loan = borrower.borrow(borrower.onboard()["line_id"], 300_000, 3)
    desk = build_servicing(service.platform.lending, settings=service.platform.settings)
    transfer = receive_transfer(
        desk,
        TransferNotice(
            f"bank-{uuid.uuid4().hex}",
            Money.of("50.00"),
            service.platform.today(),
            remark="还款",
            payer_name="王小明",
        ),
    )
    assert transfer.status == "suspense"
    operator = _staff(service, "operations")
    with service.client() as http:
        headers = _sign_in(http, operator)
        listed = http.get(f"{OPS}/suspense", headers=headers, params={"limit": 500}).json()
        mine = [t for t in listed["items"] if t["transfer_id"] == transfer.transfer_id]
        assert len(mine) == 1
        assert mine[0]["payer"] == "王**"
        assert mine[0]["amount"]["amount_fen"] == 5000

        path = f"{OPS}/suspense/{transfer.transfer_id}/assign"
        assigned = http.post(path, json={"loan_id": loan["loan_id"]}, headers=headers)
        assert assigned.status_code == 200, assigned.text
        body = assigned.json()
        assert body["status"] == "assigned"
        assert body["loan_id"] == loan["loan_id"]
        assert body["repayment_id"]

        again = http.post(path, json={"loan_id": loan["loan_id"]}, headers=headers)
        assert again.status_code == 409
        unknown = http.post(
            f"{OPS}/suspense/nosuchtransfer/assign",
            json={"loan_id": loan["loan_id"]},
            headers=headers,
        )
        assert unknown.status_code == 404
        listed = http.get(f"{OPS}/suspense", headers=headers, params={"limit": 500}).json()
        assert transfer.transfer_id not in {t["transfer_id"] for t in listed["items"]}

    entries = [r for r in _records(service) if r.action == "suspense.assigned"]
    mine_entries = [r for r in entries if r.target == f"transfer:{transfer.transfer_id}"]
    assert len(mine_entries) == 1
    entry = mine_entries[0]
    assert entry.actor.startswith("staff:")
    assert entry.details["loan_id"] == loan["loan_id"]
    assert entry.details["amount_fen"] == 5000
    assert _audit(service).verify().ok
    borrower.close()


def test_the_cli_creates_an_admin_who_can_sign_in(shared_service: Service) -> None:
    username = f"admin{uuid.uuid4().hex[:8]}"
    runner = CliRunner()
    env = {"MOBILEND_STAFF_PASSWORD": PASSWORD}
    made = runner.invoke(cli, ["staff", "add", username, "--role", "admin"], env=env)
    assert made.exit_code == 0, made.output
    taken = runner.invoke(cli, ["staff", "add", username, "--role", "admin"], env=env)
    assert taken.exit_code == 1
    bad_role = runner.invoke(cli, ["staff", "add", "x" + username, "--role", "boss"], env=env)
    assert bad_role.exit_code == 1
    with shared_service.client() as http:
        login = http.post(f"{OPS}/auth/login", json={"username": username, "password": PASSWORD})
        assert login.status_code == 200, login.text
        assert login.json()["roles"] == ["admin"]
    created = [r for r in _records(shared_service) if r.action == "staff.created"]
    assert any(r.details["username"] == username for r in created)


def test_a_large_refund_waits_for_finance_to_approve_it(shared_service: Service) -> None:
    """Money held for a borrower above the threshold is refunded only once someone in
    finance approves it; operations cannot; the approval is in the audit log."""
    from mobilend.app.servicing.payments import refund_credit
    from mobilend.app.servicing.transfers import repayment_reference

    service = shared_service
    borrower = service.borrower()
    loan = borrower.borrow(borrower.onboard()["line_id"], 300_000, 3)
    desk = build_servicing(service.platform.lending, settings=service.platform.settings)
    receive_transfer(
        desk,
        TransferNotice(
            f"bank-{uuid.uuid4().hex}",
            Money.of("4000.00"),  # more than the payoff: the rest is held
            service.platform.today(),
            remark=repayment_reference(loan["loan_id"]),
        ),
    )
    held = borrower.ok(borrower.get(f"/api/v1/loans/{loan['loan_id']}"))["credit_balance"]
    assert held["amount_fen"] > 50_000
    waiting = refund_credit(desk, loan["loan_id"], on=service.platform.today(), send=False)
    assert waiting.status == "awaiting_approval"
    operator, finance = _staff(service, "operations"), _staff(service, "finance")
    with service.client() as http:
        listed = http.get(f"{OPS}/refunds", headers=_sign_in(http, finance)).json()["items"]
        assert waiting.refund_id in [r["refund_id"] for r in listed]
        path = f"{OPS}/refunds/{waiting.refund_id}/approve"
        refused = http.post(path, headers=_sign_in(http, operator))
        assert refused.status_code == 403
        approved = http.post(path, headers=_sign_in(http, finance))
        assert approved.status_code == 200, approved.text
        body = approved.json()
        assert body["status"] == "pending" and body["approved_by"].startswith("staff:")
        assert body["amount"]["amount_fen"] == held["amount_fen"]
        again = http.post(path, headers=_sign_in(http, finance))
        assert again.status_code == 409
    after = borrower.ok(borrower.get(f"/api/v1/loans/{loan['loan_id']}"))
    assert after["credit_balance"]["amount_fen"] == 0
    assert any(r.action == "refund.approved" for r in _records(service))
