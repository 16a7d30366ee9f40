"""The service as a developer first runs it: no gateway URLs configured, so it starts the
sandbox SMS and payment gateways in-process (``asgi.build_service``), runs the
disbursement worker in its own background thread, and the payment sandbox calls the
service's ``/api/v1/callbacks/rail`` back — the same webhook path as production."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from tests.e2e.journey_client import Service
from tests.integration.sandbox_fixtures import ServerThread

from mobilend.asgi import create_app
from mobilend.bootstrap.service import build_service
from mobilend.config import Settings

pytestmark = pytest.mark.db


class _Deferred:
    """An ASGI app filled in later: the server's port (and so the service's public URL,
    which the sandbox gateway is configured with) is known before the service is built."""

    app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


@pytest.fixture
def embedded(db: sa.Engine, tmp_path: Path) -> Iterator[Service]:
    deferred = _Deferred()
    server = ServerThread(deferred)  # type: ignore[arg-type]
    settings = Settings(
        database_url=db.url.render_as_string(hide_password=False),
        var_dir=tmp_path / "var",
        decision_engine="basic",
        public_url=server.base_url,
    )
    platform = build_service(settings, migrate_schema=False)
    deferred.app = create_app(platform)
    server.start()
    try:
        yield Service.with_own_sandboxes(server.base_url, platform, db)
    finally:
        server.stop()
        platform.close()


def test_a_payout_settles_by_webhook_from_the_in_process_sandbox(embedded: Service) -> None:
    assert set(embedded.platform.sandboxes) == {"sms_gateway", "payment_gateway"}
    me = embedded.borrower()
    loan = me.borrow(me.onboard()["line_id"], 300_000, 3)
    assert loan["disbursement_status"] == "paid"
    with embedded.engine.connect() as conn:
        resolved_by, status = conn.execute(
            sa.text("SELECT resolved_by, status FROM loan_payouts WHERE loan_id = :l"),
            {"l": loan["loan_id"]},
        ).one()
        outcomes = conn.execute(
            sa.text("SELECT outcome FROM rail_events WHERE idempotency_key = :k"),
            {"k": f"payout-{loan['loan_id']}"},
        ).all()
    assert (resolved_by, status) == ("webhook", "paid")
    assert ("paid",) in outcomes
    kinds = [n["kind"] for n in me.ok(me.get("/api/v1/notifications"))["items"]]
    assert "loan_disbursed" in kinds
    me.close()
