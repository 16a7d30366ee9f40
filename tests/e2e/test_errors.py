"""Bad input gets a 4xx with a machine code, a message and the offending fields — never a
500 — in one shape: ``{"error": {"code", "message", "fields": [{"field", "message"}]}}``."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from tests.e2e.journey_client import Borrower, Service, new_identity

pytestmark = pytest.mark.db


def error_of(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) == {"code", "message", "fields"} and error["code"] and error["message"]
    return error


def fields_of(error: dict[str, Any]) -> set[str]:
    return {f["field"] for f in error["fields"]}


@pytest.fixture
def service(shared_service: Service) -> Service:
    """These tests each bring their own borrowers: one running service serves them all."""
    return shared_service


@pytest.fixture
def signed_in(service: Service) -> Borrower:
    me = service.borrower()
    me.sign_in()
    return me


def test_malformed_json_is_400(service: Service) -> None:
    with service.client() as http:
        response = http.post(
            "/api/v1/auth/otp",
            content=b'{"phone": "138',
            headers={"Content-Type": "application/json"},
        )
    assert error_of(response, 400)["code"] == "malformed_json"


def test_schema_violations_list_every_field(signed_in: Borrower) -> None:
    response = signed_in.post(
        "/api/v1/offers", {"line_id": "a b", "amount_fen": "lots", "periods": 0}
    )
    error = error_of(response, 422)
    assert error["code"] == "validation_failed"
    assert fields_of(error) == {"line_id", "amount_fen", "periods"}
    unknown = signed_in.post(
        "/api/v1/offers", {"line_id": "x", "amount_fen": 1, "periods": 3, "rate": 0}
    )
    assert "rate" in fields_of(error_of(unknown, 422))


def test_identity_checks_report_each_problem(signed_in: Borrower) -> None:
    good = new_identity()
    bad_checksum = good.national_id[:-1] + ("0" if good.national_id[-1] != "0" else "1")
    bad_card = good.bank_card[:-1] + str((int(good.bank_card[-1]) + 1) % 10)
    response = signed_in.http.put(
        "/api/v1/me/kyc",
        json={"real_name": "王小明", "national_id": bad_checksum, "bank_card": bad_card},
        headers=signed_in.headers(),
    )
    error = error_of(response, 422)
    assert fields_of(error) == {"national_id", "bank_card"}
    assert all(f["message"] for f in error["fields"])


def test_duplicate_resident_id_is_refused(service: Service) -> None:
    first = service.borrower()
    first.sign_in()
    first.verify_identity()
    second = service.borrower(new_identity())
    second.sign_in()
    i = first.identity
    response = second.http.put(
        "/api/v1/me/kyc",
        json={
            "real_name": i.real_name,
            "national_id": i.national_id,
            "bank_card": second.identity.bank_card,
        },
        headers=second.headers(),
    )
    error = error_of(response, 409)
    assert error["code"] == "national_id_taken" and "national_id" in fields_of(error)


def test_missing_or_bad_token_is_401(service: Service) -> None:
    with service.client() as http:
        anonymous = http.get("/api/v1/loans")
        forged = http.get("/api/v1/loans", headers={"Authorization": "Bearer not.a.token"})
    assert error_of(anonymous, 401)["code"] == "unauthenticated"
    assert anonymous.headers["WWW-Authenticate"] == "Bearer"
    assert error_of(forged, 401)["code"] == "unauthenticated"


def test_refresh_rotates_and_reuse_revokes_the_family(signed_in: Borrower) -> None:
    old_refresh = signed_in.refresh_token
    pair = signed_in.ok(signed_in.post("/api/v1/auth/refresh", {"refresh_token": old_refresh}))
    assert pair["refresh_token"] != old_refresh
    reused = signed_in.post("/api/v1/auth/refresh", {"refresh_token": old_refresh})
    assert error_of(reused, 401)["code"] == "unauthenticated"
    # Reuse means the token leaked: the newer pair of the same family is revoked too.
    newer = signed_in.post("/api/v1/auth/refresh", {"refresh_token": pair["refresh_token"]})
    assert error_of(newer, 401)["code"] == "unauthenticated"


def test_logout_ends_the_session(signed_in: Borrower) -> None:
    refresh = signed_in.refresh_token
    assert signed_in.post("/api/v1/auth/logout", {"refresh_token": refresh}).status_code == 204
    after = signed_in.post("/api/v1/auth/refresh", {"refresh_token": refresh})
    assert error_of(after, 401)["code"] == "unauthenticated"
    assert error_of(signed_in.get("/api/v1/me"), 401)["code"] == "unauthenticated"


def test_wrong_code_and_too_many_codes(service: Service) -> None:
    me = service.borrower()
    phone = me.identity.phone
    me.ok(me.post("/api/v1/auth/otp", {"phone": phone}), 202)
    real = service.latest_code(phone)
    wrong = "0" * 6 if real != "000000" else "111111"
    error = error_of(me.post("/api/v1/auth/otp/verify", {"phone": phone, "code": wrong}), 422)
    assert error["code"] == "otp_invalid" and fields_of(error) == {"code"}
    again = me.post("/api/v1/auth/otp", {"phone": phone})
    assert error_of(again, 429)["code"] == "otp_rate_limited"
    assert int(again.headers["Retry-After"]) > 0
    not_a_phone = me.post("/api/v1/auth/otp", {"phone": "12345"})
    assert fields_of(error_of(not_a_phone, 422)) == {"phone"}


def test_applying_needs_identity_then_consents(signed_in: Borrower) -> None:
    before_kyc = error_of(
        signed_in.post("/api/v1/credit-applications", {"monthly_income_fen": 900_000}), 409
    )
    assert before_kyc["code"] == "borrower_inactive" and fields_of(before_kyc) == {"kyc"}
    signed_in.verify_identity()
    no_consent = error_of(
        signed_in.post("/api/v1/credit-applications", {"monthly_income_fen": 900_000}), 409
    )
    assert no_consent["code"] == "consent_required"
    assert fields_of(no_consent) == {"consents.credit_report_query", "consents.data_use"}
    stale = signed_in.post(
        "/api/v1/me/consents", {"purpose": "data_use", "text_version": "data-use-2020.1"}
    )
    assert fields_of(error_of(stale, 422)) == {"text_version"}


def test_offer_outside_line_or_product(service: Service) -> None:
    me = service.borrower()
    line_id = me.onboard(monthly_income_fen=1_000_000)["line_id"]  # CNY 30,000 line
    too_much = error_of(
        me.post("/api/v1/offers", {"line_id": line_id, "amount_fen": 4_000_000, "periods": 6}), 409
    )
    assert too_much["code"] == "line_limit_exceeded"
    bad_term = error_of(
        me.post("/api/v1/offers", {"line_id": line_id, "amount_fen": 100_000, "periods": 36}), 422
    )
    assert "periods" in fields_of(bad_term)
    too_small = error_of(
        me.post("/api/v1/offers", {"line_id": line_id, "amount_fen": 100, "periods": 6}), 422
    )
    assert "amount_fen" in fields_of(too_small)
    unknown_line = error_of(
        me.post("/api/v1/offers", {"line_id": "nope", "amount_fen": 100_000, "periods": 6}), 404
    )
    assert unknown_line["code"] == "not_found"


def test_signing_a_contract_other_than_the_one_shown(service: Service) -> None:
    me = service.borrower()
    line_id = me.onboard()["line_id"]
    contract = me.draft(line_id, 200_000, 3)
    tampered = {**contract, "sha256": "0" * 64}
    error = error_of(me.sign(tampered), 422)
    assert fields_of(error) == {"sha256"}
    not_accepted = me.post(
        f"/api/v1/contracts/{contract['contract_id']}/sign",
        {"sha256": contract["sha256"], "accept": False},
        key="k1",
    )
    assert "accept" in fields_of(error_of(not_accepted, 422))


def test_paying_more_than_nothing_due_and_odd_amounts(service: Service) -> None:
    me = service.borrower()
    line_id = me.onboard()["line_id"]
    loan = me.borrow(line_id, 200_000, 3)
    path = f"/api/v1/loans/{loan['loan_id']}"
    zero = me.post(f"{path}/repayments", {"amount_fen": 0}, key="z")
    assert fields_of(error_of(zero, 422)) == {"amount_fen"}
    short = me.post(f"{path}/payoff", {"amount_fen": 1}, key="p")
    assert error_of(short, 422)["code"] == "payoff_insufficient"
    quote = me.ok(me.get(f"{path}/payoff-quote"))["amount_due"]["amount_fen"]
    over = me.post(f"{path}/payoff", {"amount_fen": quote + 1}, key="p2")
    assert error_of(over, 422)["code"] == "amount_above_owed"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/api/v1/auth/otp", {"phone": "138\x0012345678"}),
        ("post", "/api/v1/auth/otp/verify", {"phone": "13812345678", "code": "\x00\x00"}),
        ("post", "/api/v1/offers", {"line_id": "x", "amount_fen": 10**30, "periods": 3}),
        ("post", "/api/v1/offers", {"line_id": "x", "amount_fen": 1.5, "periods": 3}),
        ("post", "/api/v1/credit-applications", {"monthly_income_fen": -1}),
        (
            "post",
            "/api/v1/credit-applications",
            {"monthly_income_fen": 1, "product_code": "\u0000"},
        ),
        ("put", "/api/v1/me/kyc", {"real_name": "x" * 65, "national_id": "1", "bank_card": "1"}),
        ("post", "/api/v1/me/consents", {"purpose": "everything", "text_version": "1"}),
        ("post", "/api/v1/auth/refresh", {"refresh_token": ""}),
        ("post", "/api/v1/offers", []),
        ("post", "/api/v1/offers", "text"),
    ],
)
def test_hostile_input_is_4xx_never_500(
    signed_in: Borrower, method: str, path: str, body: object
) -> None:
    response = signed_in.http.request(method.upper(), path, json=body, headers=signed_in.headers())
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert response.json()["error"]["code"]


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/api/v1/no-such-thing", 404, "not_found"),
        ("DELETE", "/api/v1/loans", 405, "method_not_allowed"),
        ("PATCH", "/api/v1/offers", 405, "method_not_allowed"),
        ("GET", "/api/v1/loans/not%20an%20id", 422, "validation_failed"),
        ("GET", "/api/v1/loans/01abc", 404, "not_found"),
    ],
)
def test_unknown_routes_and_methods(
    signed_in: Borrower, method: str, path: str, status: int, code: str
) -> None:
    response = signed_in.http.request(method, path, headers=signed_in.headers())
    assert error_of(response, status)["code"] == code
    if status == 405:
        assert response.headers["Allow"]
