"""Locust users for ``bench/bench_load.py``: borrowers on the borrower API.

Each user signs in (code read from the SMS sandbox), verifies identity, consents, gets a
credit line, then mixes what a borrower's app does: profile, lines, loans, inbox, live
drawdown quotes, and once per user a signed contract (a loan paid out) that it then
follows. Any answer other than the expected 2xx counts as a failure.
"""

from __future__ import annotations

import os
import random
import uuid

import httpx
from locust import FastHttpUser, between, task
from stdnum import luhn
from stdnum.cn import ric

SMS_URL = os.environ["LOAD_SMS_URL"]
NAMES = ("王小明", "李华", "张伟", "刘洋", "陈静")


def identity() -> tuple[str, str, str]:
    phone = f"13{random.randint(0, 9)}{random.randint(10_000_000, 99_999_999)}"
    if phone.endswith("0000"):
        phone = phone[:-1] + "7"
    born = f"{random.randint(1975, 2000)}{random.randint(1, 12):02d}{random.randint(1, 28):02d}"
    body = f"110101{born}{random.randint(100, 999)}"
    stem = f"622202{random.randint(10**11, 10**12 - 1)}"
    return phone, body + ric.calc_check_digit(body + "0"), stem + luhn.calc_check_digit(stem)


class Borrower(FastHttpUser):
    wait_time = between(0.2, 1.0)

    def ok(
        self, method: str, path: str, status: int = 200, *, name: str = "", **kwargs: object
    ) -> dict:
        with self.client.request(
            method, path, name=name or path, catch_response=True, **kwargs
        ) as response:
            if response.status_code != status:
                response.failure(f"{response.status_code}: {(response.text or '')[:200]}")
                return {}
            return response.json() if response.text else {}

    def on_start(self) -> None:
        self.loan_id = ""
        phone, national_id, card = identity()
        self.ok("POST", "/api/v1/auth/otp", 202, json={"phone": phone})
        code = ""
        with httpx.Client(timeout=10) as sms:
            while not code:
                found = sms.get(
                    f"{SMS_URL}/messages", params={"recipient": "+86" + phone, "limit": 1}
                ).json()
                code = found["messages"][0]["codes"][0] if found["messages"] else ""
        tokens = self.ok("POST", "/api/v1/auth/otp/verify", json={"phone": phone, "code": code})
        self.headers = {
            "Authorization": f"Bearer {tokens.get('access_token', '')}",
            "X-Device-Id": f"load-{uuid.uuid4().hex[:10]}",
        }
        identity_body = {"real_name": random.choice(NAMES), "national_id": national_id,
                         "bank_card": card}  # fmt: skip
        self.ok("PUT", "/api/v1/me/kyc", json=identity_body, headers=self.headers)
        texts = self.ok("GET", "/api/v1/consent-texts", headers=self.headers).get("items", [])
        versions = {t["purpose"]: t["text_version"] for t in texts}
        for purpose in ("credit_report_query", "data_use", "e_contract"):
            body = {"purpose": purpose, "text_version": versions.get(purpose, "")}
            self.ok("POST", "/api/v1/me/consents", 201, json=body, headers=self.headers)
        applied = self.ok(
            "POST", "/api/v1/credit-applications", 201,
            json={"monthly_income_fen": 1_200_000}, headers=self.headers,
        )  # fmt: skip
        self.line_id = applied.get("line_id", "")

    def offer_body(self) -> dict[str, object]:
        amount = random.choice((100_000, 200_000, 300_000, 500_000))
        return {"line_id": self.line_id, "amount_fen": amount, "periods": random.choice((3, 6))}

    @task(5)
    def profile(self) -> None:
        self.ok("GET", "/api/v1/me", headers=self.headers)

    @task(4)
    def lines(self) -> None:
        self.ok("GET", "/api/v1/lines", headers=self.headers)

    @task(3)
    def loans(self) -> None:
        self.ok("GET", "/api/v1/loans", headers=self.headers)

    @task(3)
    def inbox(self) -> None:
        self.ok("GET", "/api/v1/notifications", headers=self.headers)

    @task(4)
    def quote(self) -> None:
        self.ok("POST", "/api/v1/offers", json=self.offer_body(), headers=self.headers)

    @task(1)
    def draw_once_then_follow(self) -> None:
        if self.loan_id:
            self.ok("GET", f"/api/v1/loans/{self.loan_id}", name="/api/v1/loans/{id}",
                    headers=self.headers)  # fmt: skip
            return
        contract = self.ok(
            "POST", "/api/v1/contracts", 201, json=self.offer_body(), headers=self.headers
        )
        if not contract:
            return
        signed = self.ok(
            "POST", f"/api/v1/contracts/{contract['contract_id']}/sign", 201,
            name="/api/v1/contracts/{id}/sign",
            json={"sha256": contract["sha256"], "accept": True},
            headers={**self.headers, "Idempotency-Key": uuid.uuid4().hex},
        )  # fmt: skip
        self.loan_id = signed.get("loan", {}).get("loan_id", "")
