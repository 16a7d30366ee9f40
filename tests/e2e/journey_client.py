"""A borrower's phone, as far as the tests need one: HTTP calls to the running service,
sign-in codes read from the sandbox SMS gateway, and made-up but valid identities."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import random
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import sqlalchemy as sa
from stdnum import luhn
from stdnum.cn import ric
from tests.integration.sandbox_fixtures import wait_until

from mobilend.bootstrap.platform import Platform

_serial = itertools.count(1)
_rng = random.Random(os.getpid() ^ int(uuid.uuid4()))


@dataclass(frozen=True)
class Identity:
    phone: str
    real_name: str
    national_id: str
    bank_card: str


def new_identity(card_suffix: str = "") -> Identity:
    """A fresh phone, resident ID (born 1990-1995, valid check digit) and Luhn-valid card.

    ``card_suffix`` forces the card's last digits (the payment sandbox fails payouts to
    cards ending 0014, 0054, 0062); the number is still Luhn-valid.
    """
    n = next(_serial)
    phone = f"13{_rng.randint(0, 9)}{_rng.randint(10_000_000, 99_999_999)}"
    if phone.endswith("0000"):
        phone = phone[:-1] + "1"
    birth = dt.date(1990, 1, 1) + dt.timedelta(days=_rng.randint(0, 5 * 365))
    body = f"110101{birth:%Y%m%d}{_rng.randint(100, 999)}"
    national_id = body + ric.calc_check_digit(body + "0")
    if card_suffix:
        card = _card_ending(card_suffix)
    else:
        stem = f"622202{_rng.randint(10**11, 10**12 - 1)}"
        card = stem + luhn.calc_check_digit(stem)
    names = ["王小明", "李华", "张伟", "刘洋", "陈静", "欧阳娜娜"]
    return Identity(phone, names[n % len(names)], national_id, card)


def _card_ending(suffix: str) -> str:
    while True:
        stem = f"622202{_rng.randint(10**7, 10**8 - 1)}"
        for middle in range(10):
            candidate = f"{stem}{middle}{suffix}"
            if luhn.is_valid(candidate):
                return candidate


@dataclass
class Service:
    base_url: str
    sms_url: str
    payment_url: str
    platform: Platform
    engine: sa.Engine

    @classmethod
    def with_own_sandboxes(cls, base_url: str, platform: Platform, engine: sa.Engine) -> Service:
        """The service at ``base_url`` whose SMS and payment sandboxes run in its process."""
        sandboxes = platform.sandboxes
        return cls(
            base_url, sandboxes["sms_gateway"], sandboxes["payment_gateway"], platform, engine
        )

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=30)

    def latest_code(self, phone: str) -> str:
        def newest() -> str | None:
            response = httpx.get(
                f"{self.sms_url}/messages", params={"recipient": "+86" + phone}, timeout=5
            )
            response.raise_for_status()
            for message in response.json()["messages"]:  # newest first
                if "验证码" in message["body"] and message["codes"]:
                    return str(message["codes"][0])
            return None

        return wait_until(newest, timeout=10)

    def borrower(self, identity: Identity | None = None) -> Borrower:
        return Borrower(self, identity or new_identity())


CONSENTS_FOR_CREDIT = ("credit_report_query", "data_use", "e_contract")


@dataclass
class Borrower:
    service: Service
    identity: Identity
    http: httpx.Client = field(init=False)
    borrower_id: str = ""
    access_token: str = ""
    refresh_token: str = ""
    device_id: str = field(default_factory=lambda: f"dev-{uuid.uuid4().hex[:12]}")

    def __post_init__(self) -> None:
        self.http = self.service.client()

    # -- raw calls ------------------------------------------------------------------
    def headers(self, key: str | None = None) -> dict[str, str]:
        headers = {"X-Device-Id": self.device_id}
        if self.access_token:
            headers["Authorization"] = f"Bearer {self.access_token}"
        if key is not None:
            headers["Idempotency-Key"] = key
        return headers

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.get(path, headers=self.headers(), **kwargs)

    def post(self, path: str, json: Any = None, *, key: str | None = None) -> httpx.Response:
        return self.http.post(path, json=json, headers=self.headers(key))

    def ok(self, response: httpx.Response, status: int = 200) -> Any:
        assert response.status_code == status, (response.status_code, response.text)
        return response.json() if response.content else None

    # -- journey steps --------------------------------------------------------------
    def sign_in(self) -> dict[str, Any]:
        phone = self.identity.phone
        self.ok(self.post("/api/v1/auth/otp", {"phone": phone}), 202)
        code = self.service.latest_code(phone)
        body = self.ok(self.post("/api/v1/auth/otp/verify", {"phone": phone, "code": code}))
        self.borrower_id = body["borrower_id"]
        self.access_token = body["access_token"]
        self.refresh_token = body["refresh_token"]
        return body

    def verify_identity(self) -> dict[str, Any]:
        i = self.identity
        return self.ok(
            self.http.put(
                "/api/v1/me/kyc",
                json={
                    "real_name": i.real_name,
                    "national_id": i.national_id,
                    "bank_card": i.bank_card,
                },
                headers=self.headers(),
            )
        )

    def consent(self, purposes: tuple[str, ...] = CONSENTS_FOR_CREDIT) -> None:
        texts = {t["purpose"]: t for t in self.ok(self.get("/api/v1/consent-texts"))["items"]}
        for purpose in purposes:
            body = {"purpose": purpose, "text_version": texts[purpose]["text_version"]}
            self.ok(self.post("/api/v1/me/consents", body), 201)

    def apply(self, monthly_income_fen: int = 1_000_000) -> dict[str, Any]:
        return self.ok(
            self.post("/api/v1/credit-applications", {"monthly_income_fen": monthly_income_fen}),
            201,
        )

    def onboard(self, monthly_income_fen: int = 1_000_000) -> dict[str, Any]:
        """Sign in, verify identity, consent and get a line; returns the application."""
        self.sign_in()
        self.verify_identity()
        self.consent()
        application = self.apply(monthly_income_fen)
        assert application["outcome"] == "approve", application
        return application

    def offer(self, line_id: str, amount_fen: int, periods: int) -> dict[str, Any]:
        body = {"line_id": line_id, "amount_fen": amount_fen, "periods": periods}
        return self.ok(self.post("/api/v1/offers", body))

    def draft(self, line_id: str, amount_fen: int, periods: int) -> dict[str, Any]:
        body = {"line_id": line_id, "amount_fen": amount_fen, "periods": periods}
        return self.ok(self.post("/api/v1/contracts", body), 201)

    def sign(self, contract: dict[str, Any], key: str | None = None) -> httpx.Response:
        return self.post(
            f"/api/v1/contracts/{contract['contract_id']}/sign",
            {"sha256": contract["sha256"], "accept": True},
            key=key or uuid.uuid4().hex,
        )

    def borrow(self, line_id: str, amount_fen: int = 500_000, periods: int = 6) -> dict[str, Any]:
        """Draft, sign and wait for the payout; returns the paid-out loan."""
        signed = self.ok(self.sign(self.draft(line_id, amount_fen, periods)), 201)
        return self.wait_paid(signed["loan"]["loan_id"])

    def wait_paid(self, loan_id: str) -> dict[str, Any]:
        """Polls the payout as the app does, then returns the loan."""

        def paid() -> bool:
            payout = self.ok(self.get(f"/api/v1/loans/{loan_id}/disbursement"))
            return bool(payout["status"] != "pending")

        wait_until(paid, timeout=15)
        loan = self.ok(self.get(f"/api/v1/loans/{loan_id}"))
        assert loan["disbursement_status"] != "pending", loan
        return dict(loan)

    def pay(self, path: str, json: Any = None, *, key: str) -> dict[str, Any]:
        """Ask for a payment (``path`` under the loan): 202, ``pending`` until the rail says."""
        accepted = self.ok(self.post(path, json, key=key), 202)
        assert accepted["payment"]["status"] == "pending", accepted
        return dict(accepted)

    def wait_payment(self, loan_id: str, payment_id: str) -> dict[str, Any]:
        """The payment once the rail has confirmed or refused it."""

        def settled() -> dict[str, Any] | None:
            found = self.ok(self.get(f"/api/v1/loans/{loan_id}/payments/{payment_id}"))
            return found if found["status"] != "pending" else None

        return wait_until(settled, timeout=15)

    def close(self) -> None:
        self.http.close()
