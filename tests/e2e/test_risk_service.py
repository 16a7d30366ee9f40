"""The service as ``mobilend serve`` builds it with no outside URLs configured: it starts
the sandbox SMS, payment and credit data services in-process, and decides applications
with the scoring engine (policy rules → fraud → PD model → limit and price) on
PostgreSQL stores. Each decision is stored sealed with its arm and market version, and
``mobilend decision replay ID`` rebuilds it from the database byte for byte.

The PD model is a small one trained once per test process from the shipped data."""

from __future__ import annotations

import httpx
import pytest
import sqlalchemy as sa
from tests.e2e.journey_client import Service
from typer.testing import CliRunner

pytestmark = pytest.mark.db


def test_the_default_service_decides_with_the_scoring_engine_and_replays_from_the_database(
    scoring_service: Service,
) -> None:
    health = httpx.get(f"{scoring_service.base_url}/health", timeout=10).json()
    assert set(health["sandboxes"]) == {"sms_gateway", "payment_gateway", "credit_data"}
    applications = []
    for _ in range(3):
        borrower = scoring_service.borrower()
        borrower.sign_in()
        borrower.verify_identity()
        borrower.consent()
        applications.append(borrower.apply(monthly_income_fen=1_500_000))
    with scoring_service.engine.connect() as conn:
        stored = {
            row.application_id: row
            for row in conn.execute(
                sa.text(
                    "SELECT a.id AS application_id, a.outcome AS journey_outcome, "
                    "a.versions AS journey_versions, d.* FROM credit_applications a "
                    "JOIN decisions d ON d.id = a.decision_id"
                )
            )
        }
        sightings = conn.execute(sa.text("SELECT count(*) FROM fraud_sightings")).scalar()
        bought = conn.execute(sa.text("SELECT count(*) FROM credit_reports")).scalar()
    assert set(stored) == {a["application_id"] for a in applications}
    assert sightings == 3 and bought >= 3  # every applicant's telco check at least
    runner = CliRunner()
    from mobilend.cli.main import app

    for application in applications:
        row = stored[application["application_id"]]
        assert row.outcome == application["outcome"] == row.journey_outcome
        assert (row.arm, row.market) == ("champion", row.versions["market"])
        assert row.journey_versions["arm"] == "champion"
        assert row.journey_versions["market"] == row.market
        assert row.journey_versions["model"] == row.model_version != "basic"
        if application["outcome"] == "decline":
            assert 1 <= len(application["reasons"]) <= 4
        result = runner.invoke(app, ["decision", "replay", row.id])
        assert result.exit_code == 0, result.output
        assert "identical" in result.output and f"arm {row.arm}" in result.output
