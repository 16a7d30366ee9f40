"""MOBILEND_ENV: production refuses defaults, missing secrets and development parts; each
counterparty signs with its own secret, rotated with an overlap window."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mobilend.adapters.counterparty_secrets import ANY_PARTNER, counterparty_secrets
from mobilend.adapters.webhook_signature import (
    InvalidWebhook,
    SecretRing,
    signed_headers,
    signers,
    verify_signed_body,
)
from mobilend.config import (
    Settings,
    UnsafeConfiguration,
    ensure_production_ready,
    production_problems,
)

OLD_DEFAULT = "dev-only-gateway-secret"
NOW = 1_780_000_000.0


@pytest.fixture(autouse=True)
def _no_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # Other tests in the same process put e.g. MOBILEND_DATABASE_URL in the environment.
    for name in [n for n in os.environ if n.startswith("MOBILEND_")]:
        monkeypatch.delenv(name)


def strong(tag: str) -> str:
    return f"{tag}-" + "x" * 40


def production(**overrides: Any) -> Settings:
    """Production settings with every secret and outside service configured."""
    values: dict[str, Any] = {
        "env": "production",
        "database_url": "postgresql+psycopg://app:pw@db.internal/mobilend",
        "jwt_secret": strong("jwt"),
        "pii_keys": "k1:" + "A" * 43,
        "pii_index_key": "B" * 43,
        "rail_secret": strong("rail"),
        "sms_gateway_secret": strong("sms"),
        "partner_bank_urls": {"bank_a": "https://bank-a.example/api"},
        "partner_secrets": {"bank_a": strong("bank-a")},
        "sms_gateway_url": "https://sms.example",
        "payment_gateway_url": "https://pay.example",
        "credit_data_url": "https://credit.example",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_a_fully_configured_production_service_has_no_problems() -> None:
    assert production_problems(production()) == []
    ensure_production_ready(production())  # does not raise


def test_production_with_defaults_lists_every_problem() -> None:
    settings = Settings(_env_file=None, env="production")  # type: ignore[call-arg]
    problems = "\n".join(production_problems(settings))
    for expected in (
        "MOBILEND_DATABASE_URL is not set",
        "MOBILEND_JWT_SECRET is not set",
        "MOBILEND_PII_KEYS is not set",
        "MOBILEND_PII_INDEX_KEY is not set",
        "MOBILEND_RAIL_SECRET is not set",
        "MOBILEND_SMS_GATEWAY_SECRET is not set",
        "MOBILEND_SMS_GATEWAY_URL is not set",
        "MOBILEND_PAYMENT_GATEWAY_URL is not set",
        "MOBILEND_CREDIT_DATA_URL is not set",
    ):
        assert expected in problems
    with pytest.raises(UnsafeConfiguration, match="MOBILEND_ENV=production"):
        ensure_production_ready(settings)


def test_development_starts_with_the_same_settings() -> None:
    ensure_production_ready(Settings(_env_file=None))  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"rail_secret": OLD_DEFAULT}, "MOBILEND_RAIL_SECRET is a published default value"),
        ({"rail_secret": "short"}, "MOBILEND_RAIL_SECRET is shorter than 32"),
        ({"jwt_secret": "test-sandbox-secret"}, "MOBILEND_JWT_SECRET is a published default"),
        ({"gateway_secret": strong("shared")}, "one secret may not serve every counterparty"),
        ({"sms_gateway_secret": strong("rail")}, "share a secret"),
        ({"partner_secrets": {}}, "partner bank_a has a URL but no secret"),
        ({"rail_secret_previous": strong("old")}, "needs the end of its overlap"),
        ({"partner_secrets": {"bank_a": {"current": "tiny"}}}, "[bank_a] is shorter than"),
    ],
)
def test_each_unsafe_production_setting_is_named(overrides: dict[str, Any], problem: str) -> None:
    problems = production_problems(production(**overrides))
    assert any(problem in p for p in problems), problems


def test_production_serve_with_a_default_secret_exits_non_zero_with_a_clear_message(
    tmp_path: Path,
) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("MOBILEND_") and key != "PYTHONPATH"
    }
    env.update(
        {
            "PYTHONPATH": os.pathsep.join(sys.path),
            "MOBILEND_ENV": "production",
            "MOBILEND_VAR_DIR": str(tmp_path / "var"),
            "MOBILEND_RAIL_SECRET": OLD_DEFAULT,
        }
    )
    result = subprocess.run(
        [sys.executable, "-c", "from mobilend.cli.main import app; app()", "serve"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "refusing to start" in result.stderr
    assert "MOBILEND_RAIL_SECRET is a published default value" in result.stderr
    assert "embedded PostgreSQL under var/ is for development only" in result.stderr
    assert not (tmp_path / "var" / "pg").exists()  # nothing was started


# --------------------------------------------------------------------------- secrets


def test_development_secret_is_random_per_machine_never_the_old_default(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, var_dir=tmp_path / "var")  # type: ignore[call-arg]
    secrets = counterparty_secrets(settings)
    assert secrets.rail.current not in (OLD_DEFAULT, "")
    assert len(secrets.rail.current) >= 32
    path = tmp_path / "var" / "secrets" / "gateway_secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # The same machine agrees with itself (service, worker and sandbox read one file).
    assert counterparty_secrets(settings).rail == secrets.rail
    other = counterparty_secrets(
        Settings(_env_file=None, var_dir=tmp_path / "other")  # type: ignore[call-arg]
    )
    assert other.rail.current != secrets.rail.current


def test_each_counterparty_gets_its_own_ring() -> None:
    until = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
    settings = production(
        rail_secret_previous=strong("rail-old"),
        rail_secret_previous_until=until,
        partner_bank_urls={"bank_a": "https://a", "bank_b": "https://b"},
        partner_secrets={
            "bank_a": strong("bank-a"),
            "bank_b": {"current": strong("bank-b"), "previous": strong("bank-b-old"),
                       "previous_until": "2026-05-01T00:00:00Z"},
        },
    )  # fmt: skip
    secrets = counterparty_secrets(settings)
    assert secrets.rail == SecretRing(strong("rail"), strong("rail-old"), until.timestamp())
    assert secrets.sms_gateway == SecretRing(strong("sms"))
    assert secrets.partners == {
        "bank_a": SecretRing(strong("bank-a")),
        "bank_b": SecretRing(strong("bank-b"), strong("bank-b-old"), until.timestamp()),
    }
    assert ANY_PARTNER not in secrets.partners  # production: no wildcard partner


def test_partner_secrets_parse_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "MOBILEND_PARTNER_SECRETS",
        json.dumps({"bank_a": "plain-" + "a" * 40, "bank_b": {"current": "c-" + "b" * 40}}),
    )
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.partner_secrets["bank_a"].current.get_secret_value() == "plain-" + "a" * 40
    assert settings.partner_secrets["bank_b"].previous.get_secret_value() == ""


def _signed(secret: str, body: bytes = b'{"event_id":"e1"}') -> tuple[dict[str, str], bytes]:
    return signed_headers(secret, body, timestamp=int(NOW)), body


def test_rotation_accepts_the_previous_secret_only_until_the_end_of_the_overlap() -> None:
    ring = SecretRing("new-secret", "old-secret", previous_until=NOW + 3600)
    headers, body = _signed("old-secret")
    assert verify_signed_body(headers, body, ring, now=NOW) == {"event_id": "e1"}
    later = signed_headers("old-secret", body, timestamp=int(NOW + 3600))
    with pytest.raises(InvalidWebhook, match="bad_signature"):
        verify_signed_body(later, body, ring, now=NOW + 3600)
    fresh = signed_headers("new-secret", body, timestamp=int(NOW + 3600))
    assert verify_signed_body(fresh, body, ring, now=NOW + 3600) == {"event_id": "e1"}


def test_the_old_default_secret_no_longer_verifies() -> None:
    headers, body = _signed(OLD_DEFAULT)
    with pytest.raises(InvalidWebhook, match="bad_signature"):
        verify_signed_body(headers, body, SecretRing("a-" + "z" * 40), now=NOW)


def test_signers_tell_which_partner_signed() -> None:
    rings = {"bank_a": SecretRing("secret-a"), "bank_b": SecretRing("secret-b")}
    headers, body = _signed("secret-b")
    assert signers(headers, body, rings, now=NOW) == {"bank_b"}
    forged, _ = _signed("secret-c")
    assert signers(forged, body, rings, now=NOW) == frozenset()
    assert signers({}, body, rings, now=NOW) == frozenset()


@pytest.mark.parametrize(
    "event",
    [
        {"event_id": "e", "type": "payout.succeeded", "sequence": 1, "final": True, "data": [1]},
        {"event_id": "e", "type": "t", "sequence": 2**40, "final": True,
         "data": {"idempotency_key": "k", "reference": "r", "direction": "payout",
                  "amount_fen": 1, "status": "succeeded"}},
        {"event_id": "e", "type": "t", "sequence": 1, "final": True,
         "data": {"idempotency_key": "k", "reference": "r", "direction": "payout",
                  "amount_fen": -5, "status": "succeeded"}},
    ],
)  # fmt: skip
def test_a_signed_but_odd_rail_event_is_malformed_not_a_crash(event: dict[str, Any]) -> None:
    from mobilend.adapters.funders.http_partner import verify_partner_webhook
    from mobilend.adapters.rails.http_rail import verify_webhook

    body = json.dumps(event).encode()
    headers = signed_headers("s" * 40, body, timestamp=int(NOW))
    with pytest.raises(InvalidWebhook, match="bad_payload"):
        verify_webhook(headers, body, "s" * 40, now=NOW)
    with pytest.raises(InvalidWebhook, match="bad_payload"):
        verify_partner_webhook(headers, body, "s" * 40, now=NOW)
