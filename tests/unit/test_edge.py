"""The edge middleware in process (httpx over ASGI, the peer address chosen per test):
forwarded headers only from trusted proxies, the body-size limit, security headers, the
structured access log with personal data redacted."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse

from mobilend.api.errors import install_error_handlers
from mobilend.config import Settings, get_settings
from mobilend.domain.privacy import reduce_ip
from mobilend.edge import install_edge
from mobilend.edge.headers import CONTENT_SECURITY_POLICY
from mobilend.edge.proxies import TrustedProxies, client_from

WEB_TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "mobilend" / "web" / "templates"


def echo_app(settings: Settings) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.state.bodies_read = 0

    @app.get("/api/v1/whoami")
    def whoami(request: Request) -> dict[str, Any]:
        client = request.client.host if request.client else ""
        return {"client": client, "scheme": request.url.scheme}

    @app.post("/api/v1/echo")
    async def echo(request: Request) -> dict[str, Any]:
        body = await request.json()
        app.state.bodies_read += 1
        return {"keys": len(body)}

    @app.get("/page")
    def page() -> HTMLResponse:
        return HTMLResponse("<p>hello</p>")

    install_edge(app, settings)
    return app


def settings(**overrides: Any) -> Settings:
    return Settings(_env_file=None, **overrides)  # type: ignore[call-arg]


def call(app: FastAPI, method: str, path: str, *, peer: str = "127.0.0.1", **kwargs: Any) -> Any:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, client=(peer, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            return await c.request(method, path, **kwargs)

    # A thread of its own: the caller may already run an event loop (e.g. Playwright's).
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, go()).result()


# --------------------------------------------------------------------------- forwarded headers


def test_forwarded_for_from_a_local_client_is_ignored_without_trusted_proxies() -> None:
    app = echo_app(settings())
    response = call(
        app, "GET", "/api/v1/whoami", headers={"X-Forwarded-For": "203.0.113.9",
                                               "X-Forwarded-Proto": "https"},
    )  # fmt: skip
    assert response.json() == {"client": "127.0.0.1", "scheme": "http"}
    assert "strict-transport-security" not in response.headers


def test_a_trusted_proxy_names_the_client_and_the_scheme() -> None:
    app = echo_app(settings(trusted_proxies="10.0.0.0/8"))
    headers = {
        "X-Forwarded-For": "198.51.100.1, 203.0.113.9, 10.1.2.3",
        "X-Forwarded-Proto": "https",
    }
    response = call(app, "GET", "/api/v1/whoami", peer="10.0.0.2", headers=headers)
    # The client wrote 198.51.100.1 itself; the first untrusted hop from the right is real.
    assert response.json() == {"client": "203.0.113.9", "scheme": "https"}
    assert response.headers["strict-transport-security"].startswith("max-age=31536000")
    # The same headers from a peer that is not a proxy change nothing.
    direct = call(app, "GET", "/api/v1/whoami", peer="192.0.2.50", headers=headers)
    assert direct.json() == {"client": "192.0.2.50", "scheme": "http"}
    assert "strict-transport-security" not in direct.headers


def test_client_parsing_refuses_garbage() -> None:
    trusted = TrustedProxies.parse("127.0.0.1, ::1")
    assert client_from("evil, 203.0.113.9", trusted) == "203.0.113.9"
    assert client_from("not-an-ip", trusted) is None
    assert client_from("127.0.0.1", trusted) is None
    with pytest.raises(ValueError, match="not an IP"):
        TrustedProxies.parse("10.0.0.0/8, proxy.example")


# --------------------------------------------------------------------------- body size


def test_a_declared_oversized_body_is_refused_unread() -> None:
    app = echo_app(settings(max_body_bytes=64 * 1024))
    body = json.dumps({f"k{i}": i for i in range(200_000)}).encode()  # ~3.3 MB of keys
    response = call(
        app, "POST", "/api/v1/echo", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert response.json()["error"]["fields"] == []
    assert app.state.bodies_read == 0


def test_a_streamed_oversized_body_is_refused_without_parsing() -> None:
    app = echo_app(settings(max_body_bytes=64 * 1024))

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"a": "'
        for _ in range(100):
            yield b"x" * 4096
        yield b'"}'

    response = call(
        app, "POST", "/api/v1/echo", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert app.state.bodies_read == 0
    small = call(app, "POST", "/api/v1/echo", json={"a": 1, "b": 2})
    assert small.status_code == 200 and small.json() == {"keys": 2}


# --------------------------------------------------------------------------- headers


def test_api_json_is_never_stored_nor_sniffed_and_pages_get_the_policy() -> None:
    app = echo_app(settings())
    api = call(app, "GET", "/api/v1/whoami")
    assert api.headers["cache-control"] == "no-store"
    assert api.headers["x-content-type-options"] == "nosniff"
    assert api.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    error = call(app, "GET", "/api/v1/nowhere")
    assert error.headers["cache-control"] == "no-store"
    page = call(app, "GET", "/page")
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert page.headers["x-frame-options"] == "DENY"
    assert "script-src 'self';" in CONTENT_SECURITY_POLICY
    assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY


def test_the_web_templates_need_no_inline_script_or_style() -> None:
    """What the policy forbids: inline <script>/<style>, style attributes, on* handlers."""
    from html.parser import HTMLParser

    class Finder(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.found: list[str] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            names = {name for name, _ in attrs}
            if tag == "style":
                self.found.append("<style>")
            if tag == "script" and "src" not in names:
                self.found.append("inline <script>")
            self.found += [f"{tag} {n}=" for n in names if n == "style" or n.startswith("on")]

    templates = sorted(WEB_TEMPLATES.glob("*.html"))
    assert len(templates) > 10
    for template in templates:
        finder = Finder()
        finder.feed(template.read_text(encoding="utf-8"))
        assert finder.found == [], template.name


# --------------------------------------------------------------------------- access log


def test_one_redacted_line_per_request(caplog: pytest.LogCaptureFixture) -> None:
    app = echo_app(settings())
    logger = logging.getLogger("mobilend.access")
    logger.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.INFO, logger="mobilend.access"):
            response = call(
                app,
                "GET",
                "/api/v1/whoami?phone=13812345678&id=110101199003071234",
                peer="203.0.113.77",
                headers={"User-Agent": "app/1 13912345678", "X-Request-ID": "req-12345678"},
            )
    finally:
        logger.removeHandler(caplog.handler)
    assert response.headers["x-request-id"] == "req-12345678"
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "mobilend.access"]
    assert len(lines) == 1
    line = lines[0]
    assert line["event"] == "http_request" and line["status"] == 200
    assert (line["method"], line["path"], line["request_id"]) == (
        "GET",
        "/api/v1/whoami",
        "req-12345678",
    )
    assert line["client"] == "203.0.113.0/24"
    text = json.dumps(line)
    for secret in ("13812345678", "110101199003071234", "13912345678", "203.0.113.77"):
        assert secret not in text
    assert line["bytes_out"] > 0


def test_ip_reduction() -> None:
    assert reduce_ip("203.0.113.77") == "203.0.113.0/24"
    assert reduce_ip("203.0.113.0/24") == "203.0.113.0/24"
    assert reduce_ip("2001:db8:1:2::5") == "2001:db8:1::/48"
    assert reduce_ip("::ffff:198.51.100.9") == "198.51.100.0/24"
    assert reduce_ip("") == reduce_ip("testclient") == ""


def test_serve_leaves_forwarded_headers_and_the_access_log_to_the_service(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from typer.testing import CliRunner

    from mobilend.cli import serve
    from mobilend.cli.main import app

    seen: dict[str, Any] = {}
    monkeypatch.setattr(serve.uvicorn, "run", lambda target, **options: seen.update(options))
    monkeypatch.delenv("MOBILEND_ENV", raising=False)
    monkeypatch.setenv("MOBILEND_PUBLIC_URL", "http://127.0.0.1:8000")
    monkeypatch.setenv("MOBILEND_ACCESS_LOG", "true")  # serve sets it; restored after
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["serve", "--port", "8000"])
    get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert seen["proxy_headers"] is False
    assert seen["access_log"] is False  # the service's own redacted log replaces uvicorn's
