"""Collections on PostgreSQL: the desk its use cases take, with the conduct gate built here
— the one place that hands the message gateway and the dialer to it."""

from __future__ import annotations

from dataclasses import dataclass

from mobilend.adapters.collections.case_file_pdf import PdfCaseFileRenderer
from mobilend.adapters.collections.dialer import SandboxDialer
from mobilend.adapters.collections.reach import SqlBorrowerReach
from mobilend.adapters.notify.http_gateway import HttpMessageGateway
from mobilend.adapters.vault import FieldVault
from mobilend.app.collections.channels import Dialer
from mobilend.app.collections.desk import CollectionsDesk
from mobilend.app.collections.gate import ConductGate
from mobilend.app.collections.ports import BorrowerReach
from mobilend.app.collections.settings import CollectionsSettings
from mobilend.app.messaging import MessageGateway
from mobilend.bootstrap.infra import build_infrastructure
from mobilend.bootstrap.lending import Lending, build_lending
from mobilend.bootstrap.platform import Platform
from mobilend.config import Settings, get_settings


@dataclass
class Collections:
    desk: CollectionsDesk
    reach: SqlBorrowerReach


def build_collections(
    lending: Lending,
    *,
    vault: FieldVault,
    messages: MessageGateway | None,
    dialer: Dialer | None = None,
    settings: CollectionsSettings | None = None,
    reach: BorrowerReach | None = None,
) -> Collections:
    """The collections desk on the platform's database. With no ``dialer`` the sandbox
    dialer stands in for a call-centre system; ``reach`` replaces the SQL lookup of
    borrowers' contact details (tests and simulations)."""
    if lending.engine is None:
        raise ValueError("collections run on PostgreSQL")
    settings = settings or CollectionsSettings()
    sql_reach = SqlBorrowerReach(lending.engine, vault, settings.default_time_zone)
    gate = ConductGate(
        uow=lending.uow_factory,
        reach=reach or sql_reach,
        messages=messages,
        dialer=dialer if dialer is not None else SandboxDialer(),
        new_id=lending.new_id,
        now=lending.clock.now,
        settings=settings,
    )
    desk = CollectionsDesk(
        uow_factory=lending.uow_factory,
        new_id=lending.new_id,
        now=lending.clock.now,
        gate=gate,
        settings=settings,
        case_files=PdfCaseFileRenderer(),
        identities=sql_reach,
        cost_caps=lending.cost_caps,
    )
    return Collections(desk, sql_reach)


def build_platform_collections(platform: Platform) -> Collections:
    """Collections on the service's platform: its database, PII vault and SMS gateway."""
    return build_collections(
        platform.lending, vault=platform.vault, messages=platform.journey.ctx.messages
    )


def build_standalone_collections(settings: Settings | None = None) -> Collections:
    """Collections for a command-line run: the settings' database, PII vault and (when one
    is configured) SMS gateway; without one, messages the gate clears fail and are logged."""
    settings = settings or get_settings()
    infra = build_infrastructure(settings)
    lending = build_lending(infra=infra)
    messages: MessageGateway | None = None
    if settings.sms_gateway_url:
        messages = HttpMessageGateway(
            settings.sms_gateway_url, settings.gateway_secret.get_secret_value(), timeout=3.0
        )
    return build_collections(lending, vault=infra.vault, messages=messages)
