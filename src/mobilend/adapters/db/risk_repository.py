"""PostgreSQL stores of the risk engine: report cache, fraud signals, decision records.

* ``SqlReportCache`` (a ``ReportCache``): a bought bureau/telco/e-commerce report is
  served again for its TTL, by every process, instead of being bought again.
* ``SqlFraudSignalStore`` (a ``FraudSignalStore`` and ``FraudSignalCounter``): each
  application's identifiers as blind indexes; the velocity, shared-identifier and
  spread checks of one application are one statement of indexed ``count(DISTINCT …)``,
  so every process sees every other's applications at once. Also the blacklist and two
  investigation queries.
* ``SqlDecisionRecordStore`` (a ``DecisionRecordStore``, in ``decision_record_repository``
  and re-exported here): a queryable summary row per decision beside the full record,
  whose personal fields are sealed by the PII vault.

Nothing here stores a raw identifier: lookups go through the vault's keyed blind
indexes, which reveal nothing without the index key.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from mobilend.adapters.db.decision_record_repository import (
    DecisionRecordConflict,
    DecisionRecordTampered,
    SqlDecisionRecordStore,
    open_record,
    seal_record,
)
from mobilend.adapters.db.risk_tables import (
    FRAUD_IDENTIFIERS,
    credit_reports,
    fraud_blacklist,
    fraud_sightings,
)
from mobilend.adapters.db.transactions import reading_connection
from mobilend.adapters.vault.field_vault import NORMALISERS
from mobilend.app.ports import PiiVault
from mobilend.domain.money import Money
from mobilend.risk.ports import ApplicationSighting, DistinctCount, SourceReport

# Losing the last moments of these writes in a crash costs little (a report bought again,
# one sighting less), so their commits do not wait for the disk.
_NO_FSYNC_WAIT = sa.text("SET LOCAL synchronous_commit = off")
#: A sighting, kept once (built once: ``adapters.db.statements``; the row is parameters).
_RECORD_SIGHTING = pg_insert(fraud_sightings).on_conflict_do_nothing()


def _lock_key(identifier: str, bidx: str) -> int:
    """A signed 64-bit advisory-lock key for one identifier value (its blind index)."""
    digest = hashlib.sha256(f"fraud:{identifier}:{bidx}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


#: Transaction-scoped advisory locks on an array of keys, taken in the array's order
#: (unnest keeps it; the ordinality makes the order explicit whatever the plan).
_LOCK_IN_ORDER = sa.text(
    "SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(:keys AS bigint[])) "
    "WITH ORDINALITY AS held(k, i) ORDER BY i"
)


# --------------------------------------------------------------------------- report cache

#: Days a report is served again, by source, when the cache is not told otherwise (the
#: adapters' defaults; the adapter's own TTL is what decides a hit).
DEFAULT_TTL_DAYS: Mapping[str, int] = {"telco": 7, "bureau": 30, "ecommerce": 30}
_CACHE_SUBJECT = "credit_report_subject"


@dataclass(frozen=True, slots=True)
class SourceSpend:
    source: str
    purchases: int
    spent: Money
    reuses: int
    saved: Money


class SqlReportCache:
    """Implements ``ReportCache`` on ``credit_reports``; ages count in business days."""

    def __init__(
        self,
        engine: sa.Engine,
        vault: PiiVault,
        *,
        ttl_days: Mapping[str, int] | None = None,
    ) -> None:
        self._engine = engine
        self._vault = vault
        self._ttl = dict(DEFAULT_TTL_DAYS if ttl_days is None else ttl_days)

    def _subject(self, key: str) -> str:
        # The key is already a hash of the identity; keying it makes it unguessable.
        return self._vault.blind_index(_CACHE_SUBJECT, key)

    def get(self, key: str, on: dt.date, max_age_days: int) -> SourceReport | None:
        c = credit_reports.c
        statement = (
            credit_reports.update()
            .where(
                c.subject_bidx == self._subject(key),
                c.fetched_on <= on,
                c.fetched_on > on - dt.timedelta(days=max_age_days),
            )
            .values(reuse_count=c.reuse_count + 1)
            .returning(c.source, c.payload, c.data_version, c.fetched_on, c.cost_minor, c.currency)
        )
        with self._engine.begin() as conn:
            conn.execute(_NO_FSYNC_WAIT)
            row = conn.execute(statement).first()
        if row is None:
            return None
        return SourceReport(
            source=row.source,
            payload=row.payload,
            data_version=row.data_version,
            fetched_on=row.fetched_on,
            cost=Money.from_minor(row.cost_minor, row.currency.strip()),
        )

    def put(self, key: str, report: SourceReport) -> None:
        ttl = max(1, self._ttl.get(report.source, 30))
        values = {
            "subject_bidx": self._subject(key),
            "source": report.source,
            "payload": json.loads(json.dumps(dict(report.payload), default=str)),
            "data_version": report.data_version,
            "fetched_on": report.fetched_on,
            "expires_on": report.fetched_on + dt.timedelta(days=ttl),
            "cost_minor": report.cost.round().to_minor(),
            "currency": report.cost.currency,
        }
        statement = pg_insert(credit_reports).values(**values)
        excluded = statement.excluded
        statement = statement.on_conflict_do_update(
            index_elements=[credit_reports.c.subject_bidx],
            set_={
                **{name: excluded[name] for name in values if name != "subject_bidx"},
                "reuse_count": 0,
                "fetched_at": sa.func.now(),
            },
            # A report bought for an earlier date never replaces a newer one.
            where=credit_reports.c.fetched_on <= excluded.fetched_on,
        )
        with self._engine.begin() as conn:
            conn.execute(_NO_FSYNC_WAIT)
            conn.execute(statement)

    def purge_expired(self, on: dt.date) -> int:
        """Delete reports no longer served on ``on``; returns how many went."""
        with self._engine.begin() as conn:
            result = conn.execute(credit_reports.delete().where(credit_reports.c.expires_on <= on))
        return int(result.rowcount or 0)

    def spend(self, since: dt.date, until: dt.date) -> list[SourceSpend]:
        """Per source: reports bought between the dates, what they cost, and how often
        they were served again instead (and what that saved)."""
        c = credit_reports.c
        with self._engine.connect() as conn:
            result = conn.execute(
                sa.select(
                    c.source,
                    c.currency,
                    sa.func.count(),
                    sa.func.sum(c.cost_minor),
                    sa.func.sum(c.reuse_count),
                    sa.func.sum(c.cost_minor * c.reuse_count),
                )
                .where(c.fetched_on.between(since, until))
                .group_by(c.source, c.currency)
                .order_by(c.source)
            ).all()
        return [
            SourceSpend(
                source=source,
                purchases=int(count),
                spent=Money.from_minor(int(spent or 0), currency.strip()),
                reuses=int(reuses or 0),
                saved=Money.from_minor(int(saved or 0), currency.strip()),
            )
            for source, currency, count, spent, reuses, saved in result
        ]


# --------------------------------------------------------------------------- fraud signals


def _column(identifier: str) -> sa.Column[Any]:
    if identifier not in FRAUD_IDENTIFIERS:
        raise ValueError(f"unknown identifier {identifier!r}")
    return fraud_sightings.c[f"{identifier}_bidx"]


def _known(identifier: str) -> str:
    if identifier not in FRAUD_IDENTIFIERS:
        raise ValueError(f"unknown identifier {identifier!r}")
    return identifier


@functools.lru_cache(maxsize=64)
def _count_statement(shape: tuple[tuple[str, str], ...]) -> sa.TextClause:
    """One statement answering every count of one application (one indexed subquery per
    rule). Built once per rule set: composing it with SQLAlchemy per call cost more than
    running it. Column names come only from the known identifiers."""
    parts = []
    for i, (anchor, counted) in enumerate(shape):
        if not anchor:
            parts.append(f"SELECT {i} AS i, 0 AS n")
            continue
        column = "application_id" if counted == "application_id" else f"{_known(counted)}_bidx"
        parts.append(
            f"SELECT {i} AS i, count(DISTINCT x) AS n FROM ("
            f"SELECT {column} AS x FROM fraud_sightings WHERE {_known(anchor)}_bidx = :a{i}"
            f" AND seen_on BETWEEN :s{i} AND :u{i} AND application_id <> :app"
            f" UNION ALL SELECT CAST(:c{i} AS text)) AS q{i}"
        )
    return sa.text(" UNION ALL ".join(parts))


@dataclass(frozen=True, slots=True)
class SharedIdentifier:
    """One identifier value (as its blind index) used by several people."""

    identifier: str
    value_bidx: str
    people: int
    applications: int


@dataclass(frozen=True, slots=True)
class LinkedApplications:
    """Applications reachable from one through shared identifiers (a possible ring)."""

    application_ids: tuple[str, ...]
    people: int  # distinct national IDs among them


class SqlFraudSignalStore:
    """Implements ``FraudSignalStore`` and ``FraudSignalCounter`` on ``fraud_sightings``.

    ``sightings()`` answers with blind indexes in place of the identifier values (the
    store never holds the values); the checks use ``count_distinct``, which takes the
    current application in the clear and indexes it the same way.
    """

    def __init__(self, engine: sa.Engine, vault: PiiVault, *, record_sightings: bool = True):
        self._engine = engine
        self._vault = vault
        self._records = record_sightings

    def read_only(self) -> SqlFraudSignalStore:
        """The same signals, but ``record`` keeps nothing (for re-decisions such as line
        reviews, which are not new applications)."""
        return SqlFraudSignalStore(self._engine, self._vault, record_sightings=False)

    def _bidx(self, identifier: str, value: str) -> str | None:
        # A value that normalises to nothing ("n/a" as a phone) identifies nobody.
        if not value or not NORMALISERS.get(identifier, str.strip)(value):
            return None
        return self._vault.blind_index(identifier, value)

    def record(self, sighting: ApplicationSighting) -> None:
        if not self._records:
            return
        values: dict[str, Any] = {"application_id": sighting.application_id, "seen_on": sighting.on}
        for name in FRAUD_IDENTIFIERS:
            values[f"{name}_bidx"] = self._bidx(name, getattr(sighting, name))
        with self._engine.begin() as conn:
            conn.execute(_NO_FSYNC_WAIT)
            conn.execute(_RECORD_SIGHTING, values)

    def sightings(
        self, identifier: str, value: str, since: dt.date, until: dt.date
    ) -> list[ApplicationSighting]:
        c = fraud_sightings.c
        with self._engine.connect() as conn:
            rows = conn.execute(
                sa.select(fraud_sightings)
                .where(
                    _column(identifier) == self._bidx(identifier, value),
                    c.seen_on.between(since, until),
                )
                .order_by(c.seen_on, c.application_id)
            ).all()
        return [
            ApplicationSighting(
                application_id=row.application_id,
                on=row.seen_on,
                **{name: getattr(row, f"{name}_bidx") or "" for name in FRAUD_IDENTIFIERS},
            )
            for row in rows
        ]

    def count_distinct(
        self, current: ApplicationSighting, queries: Sequence[DistinctCount]
    ) -> list[int]:
        if not queries:
            return []
        with self._engine.connect() as conn:
            return self._count(conn, current, queries)

    def count_and_record(
        self, current: ApplicationSighting, queries: Sequence[DistinctCount]
    ) -> list[int]:
        """Count and record in one transaction, holding a transaction-scoped advisory lock
        per identifier value of ``current`` (taken in key order, so two applications
        sharing several values cannot deadlock): every application sharing a value with
        this one waits, then sees it."""
        if not self._records:
            return self.count_distinct(current, queries)
        values = {name: self._bidx(name, getattr(current, name)) for name in FRAUD_IDENTIFIERS}
        keys = sorted({_lock_key(name, bidx) for name, bidx in values.items() if bidx})
        with self._engine.begin() as conn:
            conn.execute(_NO_FSYNC_WAIT)
            if keys:  # one round trip for all of them, still taken in key order
                conn.execute(_LOCK_IN_ORDER, {"keys": keys})
            counts = self._count(conn, current, queries) if queries else []
            row = {"application_id": current.application_id, "seen_on": current.on}
            row.update({f"{name}_bidx": bidx for name, bidx in values.items()})
            conn.execute(_RECORD_SIGHTING, row)
        return counts

    def _count(
        self, conn: sa.Connection, current: ApplicationSighting, queries: Sequence[DistinctCount]
    ) -> list[int]:
        indexed = {name: self._bidx(name, getattr(current, name)) for name in FRAUD_IDENTIFIERS}
        params: dict[str, Any] = {"app": current.application_id}
        shape = []
        for i, query in enumerate(queries):
            anchor = indexed[_known(query.anchor)]
            if anchor is None:  # blank after normalising: matches nobody
                shape.append(("", ""))
                continue
            counted = query.counted
            shape.append((query.anchor, counted))
            params.update({f"a{i}": anchor, f"s{i}": query.since, f"u{i}": query.until})
            params[f"c{i}"] = (
                current.application_id if counted == "application_id" else indexed[_known(counted)]
            )
        rows = conn.execute(_count_statement(tuple(shape)), params).all()
        found = {int(i): int(n) for i, n in rows}
        return [found[i] for i in range(len(queries))]

    def blacklisted(self, current: ApplicationSighting) -> list[str]:
        wanted = [
            (name, bidx)
            for name in FRAUD_IDENTIFIERS
            if (bidx := self._bidx(name, getattr(current, name))) is not None
        ]
        if not wanted:
            return []
        b = fraud_blacklist.c
        with reading_connection(self._engine) as conn:
            rows = conn.execute(
                sa.select(b.identifier).where(sa.tuple_(b.identifier, b.value_bidx).in_(wanted))
            ).scalars()
            return sorted(set(rows))

    # -- blacklist -----------------------------------------------------------------
    def is_blacklisted(self, identifier: str, value: str) -> bool:
        if not value:
            return False
        b = fraud_blacklist.c
        with reading_connection(self._engine) as conn:
            found = conn.execute(
                sa.select(sa.literal(1)).where(
                    b.identifier == identifier, b.value_bidx == self._bidx(identifier, value)
                )
            ).first()
        return found is not None

    def add_to_blacklist(self, identifier: str, value: str, reason: str = "") -> None:
        _column(identifier)  # refuses unknown identifiers
        if not value:
            raise ValueError("a blacklist entry needs a value")
        statement = (
            pg_insert(fraud_blacklist)
            .values(identifier=identifier, value_bidx=self._bidx(identifier, value), reason=reason)
            .on_conflict_do_nothing()
        )
        with self._engine.begin() as conn:
            conn.execute(statement)

    def remove_from_blacklist(self, identifier: str, value: str) -> bool:
        b = fraud_blacklist.c
        with self._engine.begin() as conn:
            result = conn.execute(
                fraud_blacklist.delete().where(
                    b.identifier == identifier, b.value_bidx == self._bidx(identifier, value)
                )
            )
        return bool(result.rowcount)

    # -- investigation ---------------------------------------------------------------
    def shared_identifiers(
        self,
        identifier: str,
        since: dt.date,
        until: dt.date,
        *,
        min_people: int = 2,
        limit: int = 100,
    ) -> list[SharedIdentifier]:
        """Values of ``identifier`` (e.g. devices) used by at least ``min_people``
        national IDs between the dates, most people first: candidate fraud rings."""
        c = fraud_sightings.c
        column = _column(identifier)
        people = sa.func.count(sa.distinct(c.national_id_bidx))
        with self._engine.connect() as conn:
            rows = conn.execute(
                sa.select(column, people, sa.func.count())
                .where(column.is_not(None), c.seen_on.between(since, until))
                .group_by(column)
                .having(people >= min_people)
                .order_by(people.desc(), column)
                .limit(limit)
            ).all()
        return [SharedIdentifier(identifier, value, int(n), int(apps)) for value, n, apps in rows]

    def linked_applications(
        self,
        application_id: str,
        since: dt.date,
        until: dt.date,
        *,
        hops: int = 2,
        through: Iterable[str] = ("national_id", "phone", "device_id", "bank_card"),
    ) -> LinkedApplications:
        """Applications that share an identifier with ``application_id``, directly or
        through up to ``hops`` links (IP addresses are left out by default: shared NATs)."""
        columns = {name: _column(name) for name in through}
        c = fraud_sightings.c
        found = {application_id}
        frontier = {application_id}
        with self._engine.connect() as conn:
            for _ in range(hops):
                rows = conn.execute(
                    sa.select(fraud_sightings).where(c.application_id.in_(sorted(frontier)))
                ).all()
                conditions = []
                for name, column in columns.items():
                    values = sorted({getattr(r, f"{name}_bidx") for r in rows} - {None})
                    if values:
                        conditions.append(column.in_(values))
                if not conditions:
                    break
                linked = conn.execute(
                    sa.select(c.application_id).where(
                        sa.or_(*conditions), c.seen_on.between(since, until)
                    )
                ).scalars()
                frontier = set(linked) - found
                if not frontier:
                    break
                found |= frontier
            people = conn.execute(
                sa.select(sa.func.count(sa.distinct(c.national_id_bidx))).where(
                    c.application_id.in_(sorted(found))
                )
            ).scalar_one()
        return LinkedApplications(tuple(sorted(found)), int(people))


__all__ = [
    "DecisionRecordConflict",
    "DecisionRecordTampered",
    "LinkedApplications",
    "SharedIdentifier",
    "SourceSpend",
    "SqlDecisionRecordStore",
    "SqlFraudSignalStore",
    "SqlReportCache",
    "open_record",
    "seal_record",
]
