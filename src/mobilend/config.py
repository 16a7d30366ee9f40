"""Settings, read once from the environment (prefix ``MOBILEND_``) and an optional ``.env``.

Everything has a default that works on a developer's machine: with no database URL the
platform starts its own PostgreSQL server under ``var_dir``, and keys it is not given
are generated once under ``var_dir/secrets``. ``MOBILEND_ENV=production`` turns those
defaults into refusals: ``production_problems`` lists every setting a production
service may not start without, and ``ensure_production_ready`` raises on any of them.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Secrets published in this repository (old defaults, test fixtures): never valid in production.
KNOWN_DEFAULT_SECRETS = frozenset(
    {"dev-only-gateway-secret", "test-sandbox-secret", "changeme", "secret", "password"}
)
#: Shortest counterparty or token secret production accepts (characters).
MIN_PRODUCTION_SECRET_LENGTH = 32


class CounterpartySecret(BaseModel):
    """One counterparty's webhook secret, with the one it replaces during a rotation:
    callbacks signed with ``previous`` are accepted until ``previous_until``."""

    current: SecretStr
    previous: SecretStr = SecretStr("")
    previous_until: dt.datetime | None = None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="MOBILEND_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    #: ``development`` (default: generated keys, embedded database and sandboxes allowed)
    #: or ``production`` (refuses to start on any of those; see ``production_problems``).
    env: Literal["development", "production"] = "development"

    #: SQLAlchemy URL of the PostgreSQL database. Empty: use the embedded server.
    database_url: str | None = None
    #: Where the embedded server, logs and other local state live.
    var_dir: Path = Path("var")
    #: TCP port for the embedded server on 127.0.0.1 (0: pick a free one, then keep it).
    pg_port: int = 0
    #: Database name on the embedded server.
    pg_database: str = "mobilend"
    #: SQLAlchemy connection pool size per process.
    db_pool_size: int = 10
    #: Worker threads per service process for the routes and tasks that wait on the
    #: database (plain functions; FastAPI's default is 40). Past a handful, on a few
    #: cores, more threads only pass Python's interpreter lock around: on 2 cores and 16
    #: clients, 40 threads cost a journey ~45 % more CPU than 8 (docs/performance.md).
    serve_threads: int = Field(default=8, ge=1, le=200)
    #: Optional URL of a read replica for heavy reads; empty: use the primary.
    read_database_url: str | None = None

    #: PII encryption key ring: comma-separated ``key_id:base64key`` pairs, newest first.
    pii_keys: SecretStr = SecretStr("")
    #: Key of the keyed-hash blind indexes over PII (base64, ≥ 32 bytes). With neither this
    #: nor ``pii_keys`` set, a random developer key set is made once under ``var/secrets``.
    pii_index_key: SecretStr = SecretStr("")
    #: HMAC secret for access tokens (≥ 32 bytes). Empty: a random one is made once under
    #: ``var/secrets`` (developer default; production sets it).
    jwt_secret: SecretStr = SecretStr("")
    #: Lifetime of an access token (refresh tokens last 30 days).
    jwt_ttl_seconds: int = 900

    #: Base URL of the SMS gateway. Empty: the service starts the sandbox gateway itself
    #: (it keeps every message, so a developer can read sign-in codes from it).
    sms_gateway_url: str = ""
    #: Base URL of the payment gateway (payouts). Empty: the service starts the sandbox.
    payment_gateway_url: str = ""
    #: Development only: one webhook secret for every counterparty that has none of its own.
    #: Empty: a random one generated once under ``var/secrets/gateway_secret``.
    gateway_secret: SecretStr = SecretStr("")
    #: The payment rail's webhook secret, and the one it replaces until ``…_previous_until``
    #: (callbacks signed with either are accepted during the overlap).
    rail_secret: SecretStr = SecretStr("")
    rail_secret_previous: SecretStr = SecretStr("")
    rail_secret_previous_until: dt.datetime | None = None
    #: The SMS gateway's webhook secret (delivery receipts), with its rotation overlap.
    sms_gateway_secret: SecretStr = SecretStr("")
    sms_gateway_secret_previous: SecretStr = SecretStr("")
    sms_gateway_secret_previous_until: dt.datetime | None = None
    #: Each partner bank's webhook secret by funder code (JSON object): a string, or
    #: ``{"current": …, "previous": …, "previous_until": "2026-05-01T00:00:00Z"}``.
    partner_secrets: dict[str, CounterpartySecret] = Field(default_factory=dict)
    #: Base URL at which the payment gateway and partner banks reach this service's
    #: callbacks (``/api/v1/callbacks/rail`` and ``/partner``). ``mobilend serve`` sets it
    #: from its host and port when empty.
    public_url: str = ""
    #: Partner banks' HTTP APIs by funder code (JSON object), for funders that approve
    #: each loan themselves. Empty: loans go to the funders needing no approval (the own
    #: capital pool unless the registry says otherwise).
    partner_bank_urls: dict[str, str] = Field(default_factory=dict)
    #: Who runs the disbursement worker (``app.disbursement_worker.run_cycle``): ``service``
    #: (a background thread of each service process), ``jobs`` (the job queue, or
    #: ``mobilend disbursement worker``), or ``auto``: the service when it started the
    #: sandbox payment gateway itself (no ``payment_gateway_url``: nothing else can reach
    #: it), else the jobs. Running both is safe (claims are leased), only redundant.
    disbursement_worker: str = Field(default="auto", pattern="^(auto|service|jobs)$")
    #: Base URL of the credit data service (bureau, telco, e-commerce) the scoring engine calls.
    credit_data_url: str = ""
    #: ``auto``: the scoring engine when its model and ``credit_data_url`` are there, else
    #: the basic policy; ``risk`` or ``basic`` to choose.
    decision_engine: str = "auto"
    #: PD model artifact of the scoring engine. Empty: ``<var_dir>/models/default``, where
    #: ``mobilend model ensure-default`` trains it.
    model_dir: Path | None = None
    #: Credit policy files (``active.json``, ``<scenario>/<version>/``…). Empty: the
    #: versions shipped in ``mobilend/risk/policy/files``.
    policy_dir: Path | None = None

    #: The compliance rulebook (cost caps, per-borrower cap, joint-lending share… per
    #: licence type and date) as a JSON file in ``Rulebook.from_config`` form. Empty: the
    #: rules built into the code (24 % cost cap, ¥200,000 per borrower…).
    compliance_rules: Path | None = None
    #: Years personal data is kept after the business relationship ends (anti-money-
    #: laundering law: at least five) before ``mobilend privacy erase`` removes it.
    privacy_retention_years: int = Field(default=5, ge=1)

    #: Number of loan-id partitions the end-of-day batch is split into.
    eod_partitions: int = Field(default=4, ge=1)
    #: Loans per transaction inside one EOD partition.
    eod_chunk_size: int = Field(default=20_000, ge=1)

    #: Largest request body any route reads (bytes); a larger one is answered 413 unread.
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    #: Addresses (IPs or CIDR networks, comma-separated) of the reverse proxies whose
    #: ``X-Forwarded-For`` / ``X-Forwarded-Proto`` are believed. Empty: none; the peer's
    #: own address is the client's.
    trusted_proxies: str = ""
    #: Write one structured access-log line per request (``mobilend.access``).
    access_log: bool = True

    #: Abuse limits on sign-in codes (besides each phone's cool-down and daily cap):
    #: sends per client address per 10 minutes, sends for the whole service per minute,
    #: and code checks per phone and per client address per 10 minutes.
    otp_sends_per_ip: int = Field(default=20, ge=1)
    otp_sends_per_minute: int = Field(default=300, ge=1)
    otp_checks_per_phone: int = Field(default=10, ge=1)
    otp_checks_per_ip: int = Field(default=60, ge=1)
    #: Credit applications per device and per identity (national ID) per UTC day.
    applications_per_device: int = Field(default=5, ge=1)
    applications_per_identity: int = Field(default=3, ge=1)

    @field_validator("partner_secrets", mode="before")
    @classmethod
    def _plain_partner_secrets(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: {"current": v} if isinstance(v, str) else v for k, v in value.items()}
        return value

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def var_path(self) -> Path:
        """``var_dir`` made absolute (relative paths are taken from the working directory)."""
        return self.var_dir.expanduser().resolve()


class UnsafeConfiguration(RuntimeError):
    """Production settings that still carry a default, a missing secret or a development part."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(describe_problems(problems))


def describe_problems(problems: list[str]) -> str:
    lines = "\n".join(f"  - {p}" for p in problems)
    return (
        "MOBILEND_ENV=production, but the service is not configured for production "
        f"({len(problems)} problem{'s' if len(problems) != 1 else ''}):\n{lines}"
    )


def _secret_problems(name: str, value: str) -> list[str]:
    if not value:
        return [f"{name} is not set"]
    if value in KNOWN_DEFAULT_SECRETS:
        return [f"{name} is a published default value"]
    if len(value) < MIN_PRODUCTION_SECRET_LENGTH:
        return [f"{name} is shorter than {MIN_PRODUCTION_SECRET_LENGTH} characters"]
    return []


def _counterparty_secrets(settings: Settings) -> dict[str, tuple[str, str, dt.datetime | None]]:
    """(current, previous, previous_until) by the environment variable that names it."""
    found = {
        "MOBILEND_RAIL_SECRET": (
            settings.rail_secret.get_secret_value(),
            settings.rail_secret_previous.get_secret_value(),
            settings.rail_secret_previous_until,
        ),
        "MOBILEND_SMS_GATEWAY_SECRET": (
            settings.sms_gateway_secret.get_secret_value(),
            settings.sms_gateway_secret_previous.get_secret_value(),
            settings.sms_gateway_secret_previous_until,
        ),
    }
    for code, secret in sorted(settings.partner_secrets.items()):
        found[f"MOBILEND_PARTNER_SECRETS[{code}]"] = (
            secret.current.get_secret_value(),
            secret.previous.get_secret_value(),
            secret.previous_until,
        )
    return found


def production_problems(settings: Settings) -> list[str]:
    """Everything that keeps ``settings`` from being safe in production (empty: none).
    Checked whatever ``env`` says; only production refuses to start on it."""
    problems: list[str] = []
    if not settings.database_url:
        problems.append(
            "MOBILEND_DATABASE_URL is not set: the embedded PostgreSQL under var/ is for "
            "development only"
        )
    problems += _secret_problems("MOBILEND_JWT_SECRET", settings.jwt_secret.get_secret_value())
    if not settings.pii_keys.get_secret_value().strip():
        problems.append(
            "MOBILEND_PII_KEYS is not set (a generated development key ring would be used)"
        )
    if not settings.pii_index_key.get_secret_value().strip():
        problems.append("MOBILEND_PII_INDEX_KEY is not set")
    if settings.gateway_secret.get_secret_value():
        problems.append(
            "MOBILEND_GATEWAY_SECRET is set: one secret may not serve every counterparty; "
            "set MOBILEND_RAIL_SECRET, MOBILEND_SMS_GATEWAY_SECRET and MOBILEND_PARTNER_SECRETS"
        )
    secrets = _counterparty_secrets(settings)
    seen: dict[str, str] = {}
    for name, (current, previous, until) in secrets.items():
        problems += _secret_problems(name, current)
        if previous and until is None:
            problems.append(f"{name}: a previous secret needs the end of its overlap (…_until)")
        for value in filter(None, (current, previous)):
            if value in seen and seen[value] != name:
                problems.append(f"{name} and {seen[value]} share a secret")
            seen.setdefault(value, name)
    for code in sorted(settings.partner_bank_urls):
        if code not in settings.partner_secrets:
            problems.append(f"partner {code} has a URL but no secret in MOBILEND_PARTNER_SECRETS")
    if not settings.sms_gateway_url:
        problems.append("MOBILEND_SMS_GATEWAY_URL is not set: the sandbox SMS gateway would run")
    if not settings.payment_gateway_url:
        problems.append(
            "MOBILEND_PAYMENT_GATEWAY_URL is not set: the sandbox payment gateway would run"
        )
    if not settings.credit_data_url and settings.decision_engine != "basic":
        problems.append("MOBILEND_CREDIT_DATA_URL is not set: the sandbox credit data would run")
    return problems


def ensure_production_ready(settings: Settings) -> None:
    """Raise ``UnsafeConfiguration`` when ``settings`` are for production and unsafe."""
    if settings.is_production:
        problems = production_problems(settings)
        if problems:
            raise UnsafeConfiguration(problems)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once; call ``get_settings.cache_clear()`` to re-read)."""
    return Settings()
