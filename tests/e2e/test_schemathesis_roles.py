"""Schemathesis per role, over the live OpenAPI document: at least 1,000 generated
requests for each of the borrower, every staff role and the callers of the signed
callbacks, with zero 5xx and zero answers the schema does not promise. Full-size, so
marked slow (``make test`` runs the 500-case borrower pass in ``test_schemathesis.py``):

    .venv/bin/pytest -m slow tests/e2e/test_schemathesis_roles.py

Staff roles run the operations API with their own token; callbacks go through a small
proxy that signs each raw body as the rail or a partner bank would, so generated events
reach the service's parsing and rules instead of stopping at the signature.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from tests.e2e.journey_client import Service
from tests.integration.sandbox_fixtures import SANDBOX_SECRET, ServerThread

from mobilend.adapters.auth import StaffDirectory
from mobilend.adapters.db.security_repository import SqlStaffUserStore
from mobilend.adapters.webhook_signature import signed_headers

pytestmark = [pytest.mark.db, pytest.mark.slow]

MIN_CASES = 1000
PASSWORD = "correct horse battery"
STAFF_ROLES = ("admin", "risk", "operations", "collections", "finance", "auditor")
#: Examples per operation and phase, sized so each role's operations reach MIN_CASES.
MAX_EXAMPLES = {"borrower": 45, "staff": 140, "callbacks": 450}
_HOP_BY_HOP = {"host", "content-length", "connection", "transfer-encoding", "content-encoding"}


@pytest.fixture(scope="module")
def service(shared_service: Service) -> Service:
    return shared_service


def signing_proxy(target: str) -> Starlette:
    """Forwards every request to ``target`` with the body signed by the counterparty."""

    async def forward(request: Request) -> Response:
        body = await request.body()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        headers.update(signed_headers(SANDBOX_SECRET, body))
        async with httpx.AsyncClient(base_url=target, timeout=30) as client:
            answer = await client.request(
                request.method,
                request.url.path,
                params=list(request.query_params.multi_items()),
                content=body,
                headers=headers,
            )
        kept = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP_BY_HOP}
        return Response(answer.content, answer.status_code, headers=kept)

    route = Route("/{path:path}", forward, methods=None)
    route.methods = None  # every method, as generated
    return Starlette(routes=[route])


@pytest.fixture(scope="module")
def proxy(service: Service) -> Iterator[str]:
    server = ServerThread(signing_proxy(service.base_url)).start()  # type: ignore[arg-type]
    yield server.base_url
    server.stop()


def staff_token(service: Service, role: str) -> str:
    username = f"st-{role}-{uuid.uuid4().hex[:6]}"
    StaffDirectory(SqlStaffUserStore(service.engine)).create_user(
        username, PASSWORD, [role], service.platform.lending.clock.now()
    )
    response = httpx.post(
        f"{service.base_url}/api/v1/ops/auth/login",
        json={"username": username, "password": PASSWORD},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def run_schemathesis(
    service: Service, tmp_path: Path, options: list[str], examples: int, url: str = ""
) -> dict[str, Any]:
    """Run ``st`` with ``options``; fail on any error, failure or too few cases."""
    report = tmp_path / "schemathesis.json"
    command = [
        str(Path(sys.executable).parent / "st"),
        "run",
        f"{service.base_url}/openapi.json",
        *(["--url", url] if url else []),
        "--checks", "all",
        "--exclude-checks", "positive_data_acceptance",
        "--max-examples", str(examples),
        "--seed", "20260302",
        "--workers", "1",
        "--request-timeout", "30",
        "--report", "json",
        "--report-json-path", str(report),
        "--warnings", "off",
        *options,
    ]  # fmt: skip
    run = subprocess.run(command, capture_output=True, text=True, timeout=3000, cwd=tmp_path)
    summary: dict[str, Any] = json.loads(report.read_text("utf-8"))
    output = run.stdout[-6000:] + run.stderr[-2000:]
    assert summary["complete"], output
    assert summary["errors"] == [], (summary["errors"], output)
    assert summary["failures"] == [], output
    assert summary["operations"]["tested"] == summary["operations"]["selected"] > 0, output
    assert summary["test_cases"]["generated"] >= MIN_CASES, summary["test_cases"]
    assert run.returncode == 0, output
    cases = summary["test_cases"]
    print(f"\nschemathesis {options[-1]}: {cases['generated']} cases, {cases}")
    return summary


def test_borrower(service: Service, tmp_path: Path) -> None:
    me = service.borrower()
    me.borrow(me.onboard()["line_id"], 300_000, 3)
    run_schemathesis(
        service,
        tmp_path,
        ["--header", f"Authorization: Bearer {me.access_token}",
         "--exclude-path-regex", "^/api/v1/(ops|callbacks)/"],
        MAX_EXAMPLES["borrower"],
    )  # fmt: skip


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_staff_role(service: Service, tmp_path: Path, role: str) -> None:
    token = staff_token(service, role)
    run_schemathesis(
        service,
        tmp_path,
        ["--header", f"Authorization: Bearer {token}", "--include-path-regex", "^/api/v1/ops/"],
        MAX_EXAMPLES["staff"],
    )


def test_signed_callbacks(service: Service, proxy: str, tmp_path: Path) -> None:
    run_schemathesis(
        service,
        tmp_path,
        ["--include-path-regex", "^/api/v1/callbacks/"],
        MAX_EXAMPLES["callbacks"],
        url=proxy,
    )
