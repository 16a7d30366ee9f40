"""What every feature shares, built once per process: settings, the PostgreSQL engine, the
PII vault (the only place the key ring is read), clock, ids and cost caps."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa

from mobilend.adapters.db.engine import create_engine, database_url
from mobilend.adapters.ids import SortableIds, SystemClock
from mobilend.adapters.vault import FieldVault, load_pii_secrets
from mobilend.app.ports import Clock
from mobilend.config import Settings, get_settings
from mobilend.domain.business_day import business_date
from mobilend.domain.compliance import CostCapPolicy

#: Where the rail and partner banks call this service back (under its public URL).
RAIL_CALLBACK_PATH = "/api/v1/callbacks/rail"
PARTNER_CALLBACK_PATH = "/api/v1/callbacks/partner"


def callback_address(public_url: str, path: str) -> str:
    """``public_url`` + ``path``; '' when the service's public URL is not known."""
    return public_url.rstrip("/") + path if public_url else ""


def load_vault(settings: Settings) -> FieldVault:
    """The PII vault from the settings' key ring (a developer key set under ``var/``)."""
    pii = load_pii_secrets(
        settings.pii_keys.get_secret_value(),
        settings.pii_index_key.get_secret_value(),
        var_dir=settings.var_path,
    )
    return FieldVault.from_secrets(pii)


def load_rulebook(settings: Settings) -> CostCapPolicy:
    """The compliance rulebook from ``settings.compliance_rules`` (a JSON file), or the
    rules built into the code when no file is set. A file that cannot be read or holds
    a malformed rule stops the start-up: lending on rules nobody meant is worse."""
    path = settings.compliance_rules
    if path is None:
        return CostCapPolicy()
    return _rulebook_from_file(path.expanduser().resolve())


@lru_cache(maxsize=8)
def _rulebook_from_file(path: Path) -> CostCapPolicy:
    config = json.loads(path.read_text("utf-8"))
    if not isinstance(config, dict):
        raise ValueError(f"{path}: the compliance rules must be a JSON object")
    return CostCapPolicy.from_config(config)


def database_engine(settings: Settings, *, pool_size: int | None = None) -> sa.Engine:
    """An engine on the settings' database (the embedded server when no URL is set)."""
    return create_engine(database_url(settings), pool_size=pool_size or settings.db_pool_size)


@dataclass
class Infrastructure:
    settings: Settings
    clock: Clock
    ids: SortableIds
    cost_caps: CostCapPolicy
    #: The SQLAlchemy engine; None for the in-memory platform of use-case tests.
    engine: sa.Engine | None
    _vault: FieldVault | None = field(default=None, repr=False)

    @property
    def new_id(self) -> Callable[[], str]:
        return self.ids

    @property
    def db(self) -> sa.Engine:
        """The engine, for builders that only run on PostgreSQL."""
        if self.engine is None:
            raise ValueError("this part of the platform runs on PostgreSQL")
        return self.engine

    @property
    def vault(self) -> FieldVault:
        if self._vault is None:
            self._vault = load_vault(self.settings)
        return self._vault

    def today(self) -> dt.date:
        return business_date(self.clock.now())


def build_infrastructure(
    settings: Settings | None = None,
    *,
    engine: sa.Engine | None = None,
    clock: Clock | None = None,
    vault: FieldVault | None = None,
    in_memory: bool = False,
    ids: SortableIds | None = None,
) -> Infrastructure:
    settings = settings or get_settings()
    if engine is None and not in_memory:
        engine = database_engine(settings)
    return Infrastructure(
        settings=settings,
        clock=clock or SystemClock(),
        ids=ids or SortableIds(),
        cost_caps=load_rulebook(settings),
        engine=engine,
        _vault=vault,
    )
