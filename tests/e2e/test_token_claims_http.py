"""Over HTTP: a validly signed token without its ``kind`` claim gets 401, not a 500; the
sign-in page keeps ``next`` on this site, also in ``HX-Redirect``."""

from __future__ import annotations

import datetime as dt
import re

import httpx
import jwt
import pytest
from tests.e2e.journey_client import Service

pytestmark = pytest.mark.db


@pytest.fixture
def service(shared_service: Service) -> Service:
    return shared_service


def signing_key(service: Service) -> str:
    path = service.platform.settings.var_path / "secrets" / "jwt_secret"
    return path.read_text(encoding="utf-8").strip()


def test_a_signed_token_without_kind_is_401(service: Service) -> None:
    now = int(dt.datetime.now(dt.UTC).timestamp())
    claims = {"iss": "mobilend", "sub": "someone", "fam": "f", "iat": now, "typ": "access",
              "jti": "j", "roles": ["admin"], "exp": now + 3600}  # fmt: skip
    token = jwt.encode(claims, signing_key(service), algorithm="HS256")
    with httpx.Client(base_url=service.base_url, timeout=10) as http:
        for path in ("/api/v1/me", "/api/v1/ops/eod/status?date=2026-03-02"):
            response = http.get(path, headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 401, (path, response.text)
            assert response.json()["error"]["code"] == "unauthenticated"


def test_the_login_page_drops_a_next_that_leaves_the_site(service: Service) -> None:
    with httpx.Client(base_url=service.base_url, timeout=10) as http:
        page = http.get("/login", params={"next": "/\t/evil.example"})
    assert page.status_code == 200
    values = re.findall(r'name="next" value="([^"]*)"', page.text)
    assert values and set(values) == {"/"}
