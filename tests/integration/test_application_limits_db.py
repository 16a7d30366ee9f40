"""Application limits and fraud velocity hold when many applications arrive at once:
the counters on PostgreSQL let exactly the limit through, and two identical
applications can no longer both be counted as the first."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import TypeVar

import pytest
import sqlalchemy as sa
from tests.integration.concurrency import at_once
from tests.integration.risk_fixtures import new_vault

from mobilend.adapters.db.engine import create_engine
from mobilend.adapters.db.rate_limits import SqlRateLimiter
from mobilend.adapters.db.risk_repository import SqlFraudSignalStore
from mobilend.app.journey.application_limits import ApplicationGuard
from mobilend.domain.limits import ApplicationLimits, ApplicationRateLimited
from mobilend.risk.fraud import fraud_hits, observe_and_record, parse_rules
from mobilend.risk.ports import ApplicationSighting

pytestmark = pytest.mark.db

NOW = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
NATIONAL_ID = "110105199005170011"
T = TypeVar("T")


@pytest.fixture
def wide(database_url: str, db: sa.Engine) -> Iterator[sa.Engine]:
    engine = create_engine(database_url, pool_size=30, max_overflow=10)
    yield engine
    engine.dispose()


def test_thirty_applications_of_one_identity_at_once_let_exactly_the_limit_through(
    wide: sa.Engine,
) -> None:
    guard = ApplicationGuard(SqlRateLimiter(wide), new_vault(), ApplicationLimits())
    # Each from its own device: only the identity limit (3 a day) applies.
    outcomes = at_once(30, lambda n: guard.before_apply(NATIONAL_ID, f"dev-{n}", NOW))
    refused = [o for o in outcomes if isinstance(o, ApplicationRateLimited)]
    assert len(refused) == 27 and outcomes.count(None) == 3
    assert refused[0].code == "application_rate_limited"
    assert (
        "今日申请次数过多" in refused[0].message and "too many applications" in refused[0].message
    )
    assert 0 < refused[0].retry_after_seconds <= 86_400
    # The next day the identity may apply again.
    guard.before_apply(NATIONAL_ID, "dev-0", NOW + dt.timedelta(days=1))


def test_thirty_applications_from_one_device_at_once_let_exactly_the_limit_through(
    wide: sa.Engine,
) -> None:
    guard = ApplicationGuard(SqlRateLimiter(wide), new_vault(), ApplicationLimits())
    outcomes = at_once(30, lambda n: guard.before_apply(f"11010519900517{n:04d}", "dev-x", NOW))
    assert outcomes.count(None) == 5
    assert sum(isinstance(o, ApplicationRateLimited) for o in outcomes) == 25


def test_identical_applications_at_the_same_instant_are_not_all_counted_first(
    wide: sa.Engine,
) -> None:
    store = SqlFraudSignalStore(wide, new_vault())
    rules = parse_rules(
        {
            "velocity": [
                {
                    "code": "FRAUD_VELOCITY_ID",
                    "identifier": "national_id",
                    "window_days": 1,
                    "max_applications": 1,
                    "action": "decline",
                }
            ]
        }
    )

    def apply(n: int) -> dict[str, object]:
        sighting = ApplicationSighting(
            f"APP-{n:02d}", NOW.date(), NATIONAL_ID, "13900001111", device_id="dev-1"
        )
        return observe_and_record(store, sighting, rules)

    outcomes = at_once(30, apply)
    counts = sorted(int(o["velocity:national_id:1d"]) for o in outcomes if isinstance(o, dict))
    # Each saw every application recorded before it: counts 1..30, none twice.
    assert counts == list(range(1, 31))
    passed = [o for o in outcomes if isinstance(o, dict) and not fraud_hits(rules, o)]
    assert len(passed) == 1
