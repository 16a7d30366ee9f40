"""Settings, read once from the environment (prefix ``MOBILEND_``) and an optional ``.env``.

Everything has a default that works on a developer's machine: with no database URL the
platform starts its own PostgreSQL server under ``var_dir``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="MOBILEND_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

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
    #: Shared secret of the gateways' signed callbacks.
    gateway_secret: SecretStr = SecretStr("dev-only-gateway-secret")
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

    @property
    def var_path(self) -> Path:
        """``var_dir`` made absolute (relative paths are taken from the working directory)."""
        return self.var_dir.expanduser().resolve()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once; call ``get_settings.cache_clear()`` to re-read)."""
    return Settings()
