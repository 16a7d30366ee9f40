"""Disbursement under every fault the payment gateway can inject, over real HTTP and on
real PostgreSQL: each loan ends paid exactly once or cancelled, the ledger balances (in
total and loan by loan), the rail agrees, and reconciliation is clean.

The default run takes ``N_DEFAULT`` disbursements per fault mode; the full-size run
(1,000 per mode) is marked slow.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from disbursement_fixtures import (
    Batch,
    CallbackEndpoint,
    Gateway,
    Workers,
    check_outcome,
    rail_for,
)
from sandbox_fixtures import *  # noqa: F403  (fixtures)
from sandbox_fixtures import wait_until

from mobilend.adapters.db.engine import create_engine

pytestmark = pytest.mark.db

N_DEFAULT = 100
N_FULL = 1000

#: Each mode as switched on at the gateway (rates < 1 mix faulty and clean traffic).
FAULTS: dict[str, dict[str, Any]] = {
    "latency": {"mode": "latency", "latency_ms": 40, "rate": 0.5},
    # the answer is lost after the payout was taken: the retry must not pay twice
    "timeout": {"mode": "timeout", "hang_ms": 1200, "rate": 0.15, "paths": ["/payouts"]},
    "5xx": {"mode": "error_5xx", "status": 503, "phase": "after", "rate": 0.3},
    "duplicate_callbacks": {"mode": "duplicate_callbacks", "copies": 3, "rate": 0.5},
    "out_of_order_callbacks": {"mode": "out_of_order_callbacks", "delay_ms": 30, "rate": 0.5},
    "unknown_callbacks": {"mode": "unknown_callbacks", "rate": 0.3},
    "never_confirm": {"mode": "never_confirm", "rate": 0.3},
}

#: What shows the fault really struck (beyond the gateway's own count of firings).
EVIDENCE = {
    "duplicate_callbacks": "duplicate",
    "out_of_order_callbacks": "not_final",
    "unknown_callbacks": "unknown_payout",
}


@pytest.fixture
def engine(database_url: str, db: sa.Engine) -> Iterator[sa.Engine]:
    """The test database (emptied by ``db``) with a pool big enough for workers and
    concurrent callbacks."""
    wide = create_engine(database_url, pool_size=20, max_overflow=10)
    yield wide
    wide.dispose()


def run_fault_mode(engine: sa.Engine, gateway_url: str, fault: str, count: int) -> None:
    batch = Batch.prepare(engine, count)
    gateway = Gateway(gateway_url)
    rail = rail_for(gateway_url)
    desk = batch.desk(rail)
    endpoint = CallbackEndpoint(lambda: desk)
    try:
        gateway.reset(endpoint.url)
        gateway.admin("POST", "/admin/faults", json=FAULTS[fault])
        with Workers(desk, threads=4):
            for i in range(count):
                batch.accept(i)
            wait_until(lambda: batch.open_payouts() == 0, timeout=60 + count * 0.2, interval=0.1)
        gateway.admin("DELETE", "/admin/faults")
        stats = wait_until(
            lambda: (s := gateway.stats())["callbacks_in_flight"] == 0 and s, timeout=30
        )
        assert stats["faults_fired"].get(FAULTS[fault]["mode"], 0) > 0, stats
        assert stats["transactions"] == count  # one transaction per payout key, ever
        evidence = EVIDENCE.get(fault)
        if evidence is not None:
            assert endpoint.outcomes[evidence] > 0, endpoint.outcomes
        assert not any(k.startswith(("error", "invalid")) for k in endpoint.outcomes), (
            endpoint.outcomes
        )
        result = check_outcome(batch, gateway, desk)
        assert 0 < result["paid"] < count
        print(
            f"\n{fault}: {count} payouts, {result['paid']} paid, {count - result['paid']} cancelled;"
            f" gateway faults fired {stats['faults_fired']}; callbacks {dict(endpoint.outcomes)}"
        )
    finally:
        endpoint.stop()
        rail.close()


@pytest.mark.parametrize("fault", list(FAULTS))
def test_disbursements_survive_fault(
    fault: str,
    engine: sa.Engine,
    payment_gateway_server: str,
) -> None:
    run_fault_mode(engine, payment_gateway_server, fault, N_DEFAULT)


@pytest.mark.slow
@pytest.mark.timeout(1800)
@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_thousand_disbursements_survive_fault(
    fault: str,
    engine: sa.Engine,
    payment_gateway_server: str,
) -> None:
    run_fault_mode(engine, payment_gateway_server, fault, N_FULL)
