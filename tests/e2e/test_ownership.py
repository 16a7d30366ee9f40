"""A borrower can never read or act on another borrower's resources: every route that
names a resource answers 404 to anyone else — and nothing of the owner's changes.

The table of probes is checked against the live OpenAPI document, so a new route that
names a resource fails this test until it is probed here.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa
from tests.e2e.journey_client import Borrower, Service

pytestmark = pytest.mark.db

ID_IN_BODY = {("post", "/api/v1/offers"), ("post", "/api/v1/contracts")}


def probes(owner: dict[str, str]) -> list[tuple[str, str, dict[str, Any] | None]]:
    """(method, path, body) for every route naming one of ``owner``'s resources."""
    loan, line = owner["loan_id"], owner["line_id"]
    offer = {"line_id": line, "amount_fen": 100_000, "periods": 3}
    return [
        ("get", f"/api/v1/credit-applications/{owner['application_id']}", None),
        ("get", f"/api/v1/lines/{line}", None),
        ("post", "/api/v1/offers", offer),
        ("post", "/api/v1/contracts", offer),
        ("get", f"/api/v1/contracts/{owner['contract_id']}", None),
        (
            "post",
            f"/api/v1/contracts/{owner['draft_id']}/sign",
            {"sha256": owner["draft_sha256"], "accept": True},
        ),
        ("get", f"/api/v1/loans/{loan}", None),
        ("get", f"/api/v1/loans/{loan}/disbursement", None),
        ("get", f"/api/v1/loans/{loan}/payoff-quote", None),
        ("post", f"/api/v1/loans/{loan}/repayments/due", None),
        ("post", f"/api/v1/loans/{loan}/repayments", {"amount_fen": 10_000}),
        ("post", f"/api/v1/loans/{loan}/payoff", {}),
        (
            "post",
            f"/api/v1/loans/{loan}/prepayments",
            {"amount_fen": 10_000, "mode": "shorten_term"},
        ),
        ("get", f"/api/v1/loans/{loan}/repayments", None),
        ("get", f"/api/v1/loans/{loan}/repayments/{owner['repayment_id']}", None),
        ("get", f"/api/v1/loans/{loan}/payments", None),
        ("get", f"/api/v1/loans/{loan}/payments/{owner['payment_id']}", None),
    ]


def template_of(path: str, owner: dict[str, str]) -> str:
    for name, value in owner.items():
        path = path.replace(value, "{" + name + "}")
    return path


def anonymous(template: str) -> str:
    return re.sub(r"\{\w+\}", "{}", template)


def owner_state(service: Service, borrower_id: str) -> tuple[Any, ...]:
    with service.engine.connect() as conn:
        return tuple(
            conn.execute(sa.text(sql), {"b": borrower_id}).all()
            for sql in (
                "SELECT id, used, status FROM credit_lines WHERE borrower_id = :b",
                "SELECT id, status, outstanding_principal, cash_received FROM loans WHERE borrower_id = :b",
                "SELECT id, status, loan_id FROM loan_contracts WHERE borrower_id = :b ORDER BY id",
                "SELECT id, amount FROM repayments WHERE borrower_id = :b",
                "SELECT id, status FROM autodebit_attempts WHERE borrower_id = :b ORDER BY id",
                "SELECT count(*) FROM postings WHERE borrower_id = :b",
            )
        )


def build_owner(owner: Borrower) -> dict[str, str]:
    application = owner.onboard()
    line_id = application["line_id"]
    loan = owner.borrow(line_id, 300_000, 3)
    asked = owner.pay(f"/api/v1/loans/{loan['loan_id']}/repayments/due", key="own-1")
    paid = owner.wait_payment(loan["loan_id"], asked["payment"]["payment_id"])
    assert paid["status"] == "paid"
    draft = owner.draft(line_id, 100_000, 3)
    return {
        "application_id": application["application_id"],
        "line_id": line_id,
        "contract_id": loan["contract_id"],
        "draft_id": draft["contract_id"],
        "draft_sha256": draft["sha256"],
        "loan_id": loan["loan_id"],
        "repayment_id": paid["repayment_id"],
        "payment_id": paid["payment_id"],
    }


def test_every_route_with_someone_elses_id_is_404(service: Service) -> None:
    owner, intruder = service.borrower(), service.borrower()
    ids = build_owner(owner)
    intruder.onboard()  # fully able to borrow: only ownership can stop it
    before = owner_state(service, owner.borrower_id)

    table = probes(ids)
    for method, path, body in table:
        if method == "get":
            response = intruder.get(path)
        else:
            response = intruder.post(path, body, key=f"probe-{len(path)}-{method}")
        assert response.status_code == 404, (method, path, response.status_code, response.text)
        assert response.json()["error"]["code"] == "not_found"

    # Nothing of the owner's changed, and the owner still sees it all.
    assert owner_state(service, owner.borrower_id) == before
    for method, path, _ in table:
        if method == "get":
            assert owner.get(path).status_code == 200, path

    # Every route that names a resource in its path or body is probed above (the
    # borrower's own /me/... routes name nothing of anyone else's; the staff /ops/... routes
    # refuse borrower tokens outright, see test_operations_api).
    schema = owner.get("/openapi.json").json()
    named = {
        (method, path)
        for path, operations in schema["paths"].items()
        for method in operations
        if re.search(r"\{\w+\}", path) and not path.startswith(("/api/v1/me/", "/api/v1/ops/"))
    } | ID_IN_BODY
    probed = {(m, template_of(p, ids)) for m, p, _ in table}
    assert {(m, anonymous(p)) for m, p in probed} == {(m, anonymous(p)) for m, p in named}


def test_a_receipt_is_not_reachable_through_another_loan(service: Service) -> None:
    owner, other = service.borrower(), service.borrower()
    ids = build_owner(owner)
    other_line = other.onboard()["line_id"]
    other_loan = other.borrow(other_line, 200_000, 3)
    response = other.get(f"/api/v1/loans/{other_loan['loan_id']}/repayments/{ids['repayment_id']}")
    assert response.status_code == 404
