"""The edge over real HTTP (uvicorn as ``mobilend serve`` runs it): oversized bodies are
refused unread, every response carries the security headers, and a caller on the same
machine cannot choose the address recorded with its consent."""

from __future__ import annotations

import socket
from pathlib import Path
from urllib.parse import urlsplit

import anyio.to_thread
import httpx
import pytest
import sqlalchemy as sa
from tests.e2e.journey_client import Service

from mobilend.edge.headers import CONTENT_SECURITY_POLICY

pytestmark = pytest.mark.db


@pytest.fixture
def service(shared_service: Service) -> Service:
    return shared_service


def raw_exchange(service: Service, head: bytes, body_part: bytes) -> bytes:
    """Send a request head and part of a body, then read what the server answers."""
    address = urlsplit(service.base_url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(head + body_part)
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    return answer


def test_a_50_mb_body_to_an_unauthenticated_route_is_refused_before_it_is_read(
    service: Service,
) -> None:
    head = (
        b"POST /api/v1/auth/otp HTTP/1.1\r\nHost: localhost\r\n"
        b"Content-Type: application/json\r\nContent-Length: 52428800\r\n\r\n"
    )
    answer = raw_exchange(service, head, b'{"phone": "' + b"1" * 1000)
    assert answer.startswith(b"HTTP/1.1 413")
    assert b'"payload_too_large"' in answer
    assert b"no-store" in answer.lower()


def test_a_chunked_body_past_the_limit_is_refused(service: Service) -> None:
    limit = service.platform.settings.max_body_bytes
    piece = b'{"k": "' + b"x" * (limit + 10_000) + b'"}'
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(piece), piece)
    head = (
        b"POST /api/v1/auth/otp HTTP/1.1\r\nHost: localhost\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    answer = raw_exchange(service, head, chunked)
    assert answer.startswith(b"HTTP/1.1 413")
    assert b'"payload_too_large"' in answer


def test_api_and_pages_carry_the_security_headers(service: Service) -> None:
    with httpx.Client(base_url=service.base_url, timeout=10) as http:
        api = http.get("/health")
        page = http.get("/login")
        static = http.get("/static/app.js")
    assert api.headers["content-type"].startswith("application/json")
    assert api.headers["cache-control"] == "no-store"
    for response in (api, page, static):
        assert response.status_code == 200
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert "strict-transport-security" not in response.headers  # plain http
    assert page.headers["cache-control"] == "no-store"
    assert 'src="/static/app.js"' in page.text or "/static/app.js" in page.text


def test_a_local_caller_cannot_choose_the_address_recorded_with_its_consent(
    service: Service,
) -> None:
    me = service.borrower()
    me.sign_in()
    texts = {t["purpose"]: t for t in me.ok(me.get("/api/v1/consent-texts"))["items"]}
    body = {"purpose": "data_use", "text_version": texts["data_use"]["text_version"]}
    headers = {**me.headers(), "X-Forwarded-For": "203.0.113.9", "X-Real-IP": "203.0.113.9"}
    me.ok(me.http.post("/api/v1/me/consents", json=body, headers=headers), 201)
    with service.engine.connect() as conn:
        recorded = conn.execute(
            sa.text("SELECT ip_address FROM consents WHERE borrower_id = :b"),
            {"b": me.borrower_id},
        ).scalar_one()
    assert "203.0.113" not in recorded
    assert recorded.startswith("127.0.0.")
    me.close()


def test_the_console_address_make_run_prints_leads_to_the_sign_in_page(service: Service) -> None:
    with httpx.Client(base_url=service.base_url, timeout=10, follow_redirects=True) as http:
        page = http.get("/console")
    assert page.status_code == 200
    assert urlsplit(str(page.url)).path == "/console/login"
    assert [r.status_code for r in page.history] == [308, 303]


def test_the_service_runs_its_blocking_work_on_the_configured_number_of_threads(
    db: sa.Engine, tmp_path: Path, gateway_sandboxes: tuple[str, str]
) -> None:
    """``serve_threads`` bounds the worker threads of sync routes, dependencies and
    background tasks (FastAPI's own default is 40): set when the app starts."""
    from tests.e2e.conftest import build_test_platform

    from mobilend.asgi import create_app

    platform = build_test_platform(db, tmp_path / "var", gateway_sandboxes, serve_threads=3)
    app = create_app(platform)

    async def started() -> float:
        async with app.router.lifespan_context(app):
            return anyio.to_thread.current_default_thread_limiter().total_tokens

    try:
        threads = anyio.run(started)
    finally:
        platform.close()
    assert threads == 3
