"""Settings of the job queue (environment prefix ``MOBILEND_JOBS_``)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class JobSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="MOBILEND_JOBS_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    #: When the previous business date's end of day starts (cron, UTC): 00:30 in Beijing
    #: (business dates are Beijing's calendar days: ``domain/business_day.py``).
    eod_cron: str = "30 16 * * *"
    #: Sending queued reminders and notices.
    messages_cron: str = "*/5 * * * *"
    #: Sending planned auto-debits and asking the rail about unconfirmed ones.
    autodebit_cron: str = "*/10 * * * *"
    #: Every outbox dispatcher (payouts, refunds, …).
    dispatch_cron: str = "* * * * *"
    #: Retrying jobs whose worker died (no heartbeat).
    stalled_cron: str = "*/5 * * * *"
    #: Loan-id partitions of end of day (default: the platform's ``eod_partitions``).
    eod_partitions: int | None = Field(default=None, ge=1)
    #: Extra modules a worker imports so their ``register_periodic`` calls take effect.
    import_paths: list[str] = Field(default_factory=list)


@lru_cache(maxsize=1)
def get_job_settings() -> JobSettings:
    return JobSettings()
