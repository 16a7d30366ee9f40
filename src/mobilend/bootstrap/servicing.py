"""Servicing and background work on PostgreSQL: the servicing desk (reminders, auto-debit,
transfers, refunds) and the runtime the job queue's tasks share."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa
from psycopg.conninfo import make_conninfo

from mobilend.adapters.counterparty_secrets import counterparty_secrets
from mobilend.adapters.db.engine import create_engine, database_url, libpq_url
from mobilend.adapters.db.eod_dates import SqlBusinessDates
from mobilend.adapters.db.eod_runner import PartitionProgress, SqlEndOfDay, eod_progress
from mobilend.adapters.db.funding_payouts_repository import SqlVaultPayoutAccounts
from mobilend.adapters.db.servicing_contacts import SqlContactDirectory
from mobilend.adapters.notify.http_gateway import HttpMessageGateway
from mobilend.adapters.rails.http_rail import HttpPaymentRail
from mobilend.adapters.vault import FieldVault
from mobilend.app.messaging import MessageGateway
from mobilend.app.ports import Clock, PaymentRail
from mobilend.app.servicing.business_dates import BusinessDate
from mobilend.app.servicing.desk import ServicingDesk
from mobilend.app.servicing.ports import DebitStatusSource, ReceiptSource
from mobilend.app.servicing.settings import ServicingSettings
from mobilend.bootstrap.funding import build_http_rail
from mobilend.bootstrap.infra import (
    RAIL_CALLBACK_PATH,
    build_infrastructure,
    callback_address,
    load_vault,
)
from mobilend.bootstrap.lending import Lending, build_lending
from mobilend.config import Settings, get_settings


def build_servicing(
    lending: Lending,
    *,
    settings: Settings | None = None,
    servicing_settings: ServicingSettings | None = None,
    messages: MessageGateway | None = None,
    rail: PaymentRail | None = None,
    vault: FieldVault | None = None,
) -> ServicingDesk:
    """The servicing desk on PostgreSQL: reminders through ``messages`` (delivery receipts
    polled from it when it can), auto-debits and refunds through ``rail`` (debit status
    polled from it when it can), borrowers' phones and cards opened with the PII vault."""
    if lending.engine is None:
        raise ValueError("servicing runs on PostgreSQL")
    vault = vault or load_vault(settings or get_settings())
    receipts = messages if isinstance(messages, ReceiptSource) else None
    debit_status = rail if isinstance(rail, DebitStatusSource) else None
    return ServicingDesk(
        uow_factory=lending.uow_factory,
        new_id=lending.new_id,
        clock=lending.clock,
        settings=servicing_settings or ServicingSettings(),
        messages=messages,
        contacts=SqlContactDirectory(lending.engine, vault),
        receipts=receipts,
        rail=rail,
        debit_status=debit_status,
        debit_accounts=SqlVaultPayoutAccounts(lending.engine, vault),
    )


@dataclass
class ServicingRuntime:
    """What background work needs: end of day (SQL), the servicing desk, the business-date
    book, and the outside-world clients they share (closed by ``close``)."""

    lending: Lending
    eod: SqlEndOfDay
    desk: ServicingDesk
    dates: SqlBusinessDates
    partitions: int
    settings: Settings
    vault: FieldVault
    rail: PaymentRail | None = None
    messages: MessageGateway | None = None
    closers: list[Callable[[], None]] = field(default_factory=list)

    @property
    def engine(self) -> sa.Engine:
        assert self.lending.engine is not None
        return self.lending.engine

    def progress(self, business_date: dt.date) -> list[PartitionProgress]:
        """Rows done and total per partition of ``business_date``."""
        return eod_progress(self.engine, business_date)

    def close(self) -> None:
        for close in reversed(self.closers):
            close()
        self.closers.clear()


def build_servicing_runtime(
    *,
    engine: sa.Engine | None = None,
    settings: Settings | None = None,
    clock: Clock | None = None,
    messages: MessageGateway | None = None,
    rail: PaymentRail | None = None,
    servicing_settings: ServicingSettings | None = None,
    vault: FieldVault | None = None,
    partitions: int | None = None,
) -> ServicingRuntime:
    """Wire background work on PostgreSQL. The SMS/push and payment gateways default to
    HTTP clients for the settings' URLs (none configured: messages and debits stay queued)."""
    settings = settings or get_settings()
    infra = build_infrastructure(settings, engine=engine, clock=clock, vault=vault)
    lending = build_lending(infra=infra)
    closers: list[Callable[[], None]] = []
    secrets = counterparty_secrets(settings)
    if messages is None and settings.sms_gateway_url:
        http_messages = HttpMessageGateway(
            settings.sms_gateway_url, secrets.sms_gateway, timeout=3.0, retries=1
        )
        closers.append(http_messages.close)
        messages = http_messages
    if rail is None and settings.payment_gateway_url:
        http_rail: HttpPaymentRail = build_http_rail(
            settings.payment_gateway_url,
            secrets.rail,
            retries=1,
            # Payouts sent from here settle by webhook to the service, when it is known.
            callback_url=callback_address(settings.public_url, RAIL_CALLBACK_PATH),
        )
        closers.append(http_rail.close)
        rail = http_rail
    desk = build_servicing(
        lending,
        settings=settings,
        servicing_settings=servicing_settings,
        messages=messages,
        rail=rail,
        vault=infra.vault,
    )
    assert isinstance(lending.eod, SqlEndOfDay)
    return ServicingRuntime(
        lending=lending,
        eod=lending.eod,
        desk=desk,
        dates=SqlBusinessDates(infra.db),
        partitions=partitions or settings.eod_partitions,
        settings=settings,
        vault=infra.vault,
        rail=rail,
        messages=messages,
        closers=closers,
    )


def job_queue_conninfo(settings: Settings | None = None) -> str:
    """libpq connection string of the job queue (procrastinate): the platform's database,
    with the queue's own schema (created by migration ``0006_servicing``) on the path."""
    url = libpq_url(database_url(settings or get_settings()))
    return make_conninfo(url, options="-c search_path=procrastinate")


def eod_status(
    business_date: dt.date, *, engine: sa.Engine | None = None
) -> tuple[BusinessDate | None, list[PartitionProgress]]:
    """End of day of one business date as operators see it: the date's record and rows
    done / total per partition."""
    own = engine is None
    db = engine if engine is not None else create_engine(pool_size=1)
    try:
        return SqlBusinessDates(db).get(business_date), eod_progress(db, business_date)
    finally:
        if own:
            db.dispose()
