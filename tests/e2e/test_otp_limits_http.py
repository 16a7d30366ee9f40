"""Sign-in code limits over HTTP, with many requests at once from one client: 200
different phones no longer get 200 text messages."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from tests.e2e.conftest import _serve
from tests.e2e.journey_client import Service

pytestmark = pytest.mark.db

PER_CLIENT = 8


@pytest.fixture
def service(db: sa.Engine, tmp_path: Path, gateway_sandboxes: tuple[str, str]) -> Iterator[Service]:
    yield from _serve(
        db,
        tmp_path / "var",
        gateway_sandboxes,
        otp_sends_per_ip=PER_CLIENT,
        otp_checks_per_ip=PER_CLIENT,
        otp_checks_per_phone=3,
    )


def sms_count(service: Service, phones: list[str]) -> int:
    total = 0
    for phone in phones:
        response = httpx.get(
            f"{service.sms_url}/messages", params={"recipient": "+86" + phone}, timeout=5
        )
        total += len(response.json()["messages"])
    return total


def test_two_hundred_phones_from_one_client_get_at_most_the_limit(service: Service) -> None:
    phones = [f"1370{n:07d}" for n in range(200)]

    def ask(phone: str) -> httpx.Response:
        with httpx.Client(base_url=service.base_url, timeout=30) as http:
            return http.post("/api/v1/auth/otp", json={"phone": phone})

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        responses = list(pool.map(ask, phones))
    statuses = [r.status_code for r in responses]
    assert statuses.count(202) == PER_CLIENT
    assert statuses.count(429) == 200 - PER_CLIENT
    refused = next(r for r in responses if r.status_code == 429)
    assert refused.json()["error"]["code"] == "otp_rate_limited"
    assert 0 < int(refused.headers["Retry-After"]) <= 600
    assert sms_count(service, phones) == PER_CLIENT


def test_code_checks_per_phone_are_limited(service: Service) -> None:
    phone = "13911112222"
    with httpx.Client(base_url=service.base_url, timeout=30) as http:
        assert http.post("/api/v1/auth/otp", json={"phone": phone}).status_code == 202
        statuses = [
            http.post(
                "/api/v1/auth/otp/verify", json={"phone": phone, "code": "000000"}
            ).status_code
            for _ in range(5)
        ]
        # Past the limit even the right code is not looked at.
        code = service.latest_code(phone)
        right = http.post("/api/v1/auth/otp/verify", json={"phone": phone, "code": code})
    assert statuses == [422, 422, 422, 429, 429]
    assert right.status_code == 429
