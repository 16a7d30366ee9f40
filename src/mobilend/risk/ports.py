"""Ports of the risk engine: paid credit-data sources, fraud signals and decision records.

``FraudSignalCounter`` lets a fraud store answer all the anti-fraud counts of one
application in one batch (a database: one statement of indexed ``count(DISTINCT …)``)
instead of handing every past sighting back; a store whose identifiers are blind
indexes must, because the current application's values are in the clear.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from mobilend.domain.decisions import Applicant
from mobilend.domain.errors import GatewayUnavailable
from mobilend.domain.money import Money

# --------------------------------------------------------------------------- credit data sources


@dataclass(frozen=True, slots=True)
class SourceReport:
    """One paid data source's answer (bureau, telco, e-commerce), kept verbatim for replay."""

    source: str  # bureau | telco | ecommerce
    payload: Mapping[str, Any]  # the wire JSON as received
    data_version: str
    fetched_on: dt.date  # business date of the paid call (earlier than today on a cache hit)
    cost: Money  # what this answer cost the lender: zero when served from the report cache
    cached: bool = False


class DataSourceUnavailable(GatewayUnavailable):
    """A data source gave no usable answer (after retries, or with its circuit open)."""

    def __init__(self, source: str, reason: str, detail: str = "") -> None:
        super().__init__(f"{source} unavailable: {reason}" + (f" ({detail})" if detail else ""))
        self.source = source
        self.reason = reason  # timeout | server_error | circuit_open | rejected | bad_payload
        self.detail = detail


class CreditDataSource(Protocol):
    @property
    def name(self) -> str: ...

    def fetch(self, applicant: Applicant, on: dt.date) -> SourceReport:
        """The source's report on the applicant; raises DataSourceUnavailable."""
        ...


# --------------------------------------------------------------------------- fraud signals


@dataclass(frozen=True, slots=True)
class ApplicationSighting:
    """The identifiers one application used, for velocity and shared-identifier checks."""

    application_id: str
    on: dt.date
    national_id: str
    phone: str
    device_id: str = ""
    ip_address: str = ""
    bank_card: str = ""


class FraudSignalStore(Protocol):
    def record(self, sighting: ApplicationSighting) -> None: ...

    def sightings(
        self, identifier: str, value: str, since: dt.date, until: dt.date
    ) -> list[ApplicationSighting]:
        """Applications whose ``identifier`` (a field name above) equals ``value``, dated
        ``since`` ≤ on ≤ ``until``."""
        ...

    def is_blacklisted(self, identifier: str, value: str) -> bool: ...


# --------------------------------------------------------------------------- decision records


class DecisionRecordStore(Protocol):
    """Keeps every decision's full record (inputs, versions, outcome) for audit and replay."""

    def save(self, decision_id: str, record: Mapping[str, Any]) -> None: ...

    def get(self, decision_id: str) -> Mapping[str, Any]:
        """The stored record; raises KeyError when there is none."""
        ...


# --------------------------------------------------------------------------- fraud counts


@dataclass(frozen=True, slots=True)
class DistinctCount:
    """Distinct non-empty values of ``counted`` (``application_id`` or an identifier of
    ``ApplicationSighting``) over the applications dated ``since`` ≤ on ≤ ``until`` whose
    ``anchor`` equals the current application's, the current one counted once."""

    anchor: str
    counted: str
    since: dt.date
    until: dt.date


@runtime_checkable
class FraudSignalCounter(Protocol):
    def count_distinct(
        self, current: ApplicationSighting, queries: Sequence[DistinctCount]
    ) -> list[int]:
        """One count per query, in order."""
        ...

    def count_and_record(
        self, current: ApplicationSighting, queries: Sequence[DistinctCount]
    ) -> list[int]:
        """``count_distinct`` and then record ``current``, atomically: of applications
        sharing an identifier that arrive together, each counts every one recorded
        before it, so no two both count as the first."""
        ...

    def blacklisted(self, current: ApplicationSighting) -> list[str]:
        """The identifiers of ``current`` whose values are on the blacklist."""
        ...
