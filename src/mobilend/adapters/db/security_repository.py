"""PostgreSQL storage for authentication: refresh tokens, staff users, the audit log.

Each store takes an engine (each call is a short transaction of its own) or a
connection (the call joins the caller's transaction).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from mobilend.adapters.auth.audit import AuditRecord, next_record
from mobilend.adapters.auth.staff import Role, StaffUser
from mobilend.adapters.auth.tokens import RefreshTokenRecord
from mobilend.adapters.db.onboarding_repository import constraint_name
from mobilend.adapters.db.onboarding_tables import audit_log, refresh_tokens, staff_users
from mobilend.adapters.db.statements import insert_into
from mobilend.app.audit import AuditEntry, take_staged
from mobilend.domain.errors import Conflict

# Advisory-lock key that queues writers of the audit chain.
_AUDIT_LOCK_KEY = 0x6D6F62696C617564  # "mobilaud"

Bind = sa.Engine | sa.Connection


@contextlib.contextmanager
def _transaction(bind: Bind) -> Iterator[sa.Connection]:
    """The caller's connection (and its transaction) as is, or a short one on an engine."""
    if isinstance(bind, sa.Connection):
        yield bind
    else:
        with bind.begin() as conn:
            yield conn


@contextlib.contextmanager
def _read(bind: Bind) -> Iterator[sa.Connection]:
    """For one read statement: the caller's connection as is, or a pooled one in
    autocommit — no BEGIN/COMMIT round trip around a lone SELECT (every signed-in request
    asks whether its session was signed out)."""
    if isinstance(bind, sa.Connection):
        yield bind
    else:
        with bind.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            yield conn


# --------------------------------------------------------------------------- refresh tokens


def _token(row: sa.Row[Any]) -> RefreshTokenRecord:
    m = row._mapping
    return RefreshTokenRecord(
        token_id=m["id"],
        family_id=m["family_id"],
        subject=m["subject"],
        kind=m["kind"],
        roles=tuple(m["roles"]),
        issued_at=m["issued_at"],
        expires_at=m["expires_at"],
        rotated_at=m["rotated_at"],
        revoked_at=m["revoked_at"],
    )


class SqlRefreshTokenStore:
    """Implements ``RefreshTokenStore``; each call is its own short transaction on an engine."""

    def __init__(self, bind: Bind) -> None:
        self._bind = bind

    def add(self, record: RefreshTokenRecord) -> None:
        with _transaction(self._bind) as conn:
            conn.execute(
                insert_into(refresh_tokens),
                dict(
                    id=record.token_id,
                    family_id=record.family_id,
                    subject=record.subject,
                    kind=record.kind,
                    roles=list(record.roles),
                    issued_at=record.issued_at,
                    expires_at=record.expires_at,
                    rotated_at=record.rotated_at,
                    revoked_at=record.revoked_at,
                ),
            )

    def get(self, token_id: str) -> RefreshTokenRecord | None:
        with _transaction(self._bind) as conn:
            row = conn.execute(
                sa.select(refresh_tokens).where(refresh_tokens.c.id == token_id)
            ).first()
        return None if row is None else _token(row)

    def mark_rotated(self, token_id: str, at: dt.datetime) -> bool:
        with _transaction(self._bind) as conn:
            result = conn.execute(
                refresh_tokens.update()
                .where(
                    refresh_tokens.c.id == token_id,
                    refresh_tokens.c.rotated_at.is_(None),
                    refresh_tokens.c.revoked_at.is_(None),
                )
                .values(rotated_at=at)
            )
        return result.rowcount == 1

    def revoke_family(self, family_id: str, at: dt.datetime) -> None:
        with _transaction(self._bind) as conn:
            conn.execute(
                refresh_tokens.update()
                .where(
                    refresh_tokens.c.family_id == family_id, refresh_tokens.c.revoked_at.is_(None)
                )
                .values(revoked_at=at)
            )

    def family_revoked(self, family_id: str) -> bool:
        with _read(self._bind) as conn:
            found = conn.execute(
                sa.select(sa.literal(1))
                .where(
                    refresh_tokens.c.family_id == family_id,
                    refresh_tokens.c.revoked_at.is_not(None),
                )
                .limit(1)
            ).first()
        return found is not None

    def purge_expired(self, before: dt.datetime) -> int:
        """Delete tokens that expired before ``before``; a revoked family's rows go with them."""
        with _transaction(self._bind) as conn:
            result = conn.execute(
                refresh_tokens.delete().where(refresh_tokens.c.expires_at < before)
            )
        return int(result.rowcount)


# --------------------------------------------------------------------------- staff users


def _staff(row: sa.Row[Any]) -> StaffUser:
    m = row._mapping
    return StaffUser(
        user_id=m["id"],
        username=m["username"],
        password_hash=m["password_hash"],
        roles=frozenset(Role(r) for r in m["roles"]),
        created_at=m["created_at"],
        active=m["active"],
        failed_attempts=m["failed_attempts"],
        locked_until=m["locked_until"],
        last_login_at=m["last_login_at"],
    )


def _staff_values(user: StaffUser) -> dict[str, Any]:
    return {
        "username": user.username,
        "password_hash": user.password_hash,
        "roles": sorted(r.value for r in user.roles),
        "active": user.active,
        "failed_attempts": user.failed_attempts,
        "locked_until": user.locked_until,
        "last_login_at": user.last_login_at,
        "created_at": user.created_at,
    }


class SqlStaffUserStore:
    """Implements ``StaffUserStore``."""

    def __init__(self, bind: Bind) -> None:
        self._bind = bind

    def add(self, user: StaffUser) -> None:
        try:
            with _transaction(self._bind) as conn, conn.begin_nested():
                conn.execute(insert_into(staff_users), dict(id=user.user_id, **_staff_values(user)))
        except IntegrityError as error:
            if constraint_name(error) == "uq_staff_users_username":
                raise Conflict(f"username {user.username!r} is taken") from None
            raise

    def save(self, user: StaffUser) -> None:
        # Sign-in bookkeeping is written only by claim_attempt / record_success: a save from
        # an account read earlier must not undo a lock set meanwhile.
        values = _staff_values(user)
        for column in ("failed_attempts", "locked_until", "last_login_at"):
            values.pop(column)
        with _transaction(self._bind) as conn:
            conn.execute(
                staff_users.update().where(staff_users.c.id == user.user_id).values(**values)
            )

    def claim_attempt(
        self, user_id: str, now: dt.datetime, max_failures: int, lock_until: dt.datetime
    ) -> bool:
        """One ``UPDATE … RETURNING``: the row lock it takes orders concurrent attempts."""
        c = staff_users.c
        expired = sa.and_(c.locked_until.is_not(None), c.locked_until <= now)
        failures = sa.case((expired, 1), else_=c.failed_attempts + 1)
        with _transaction(self._bind) as conn:
            row = conn.execute(
                staff_users.update()
                .where(c.id == user_id, c.active, sa.or_(c.locked_until.is_(None), expired))
                .values(
                    failed_attempts=failures,
                    locked_until=sa.case((failures >= max_failures, lock_until), else_=None),
                )
                .returning(c.failed_attempts)
            ).first()
        return row is not None

    def record_success(self, user_id: str, now: dt.datetime, password_hash: str) -> None:
        with _transaction(self._bind) as conn:
            conn.execute(
                staff_users.update()
                .where(staff_users.c.id == user_id)
                .values(
                    password_hash=password_hash,
                    failed_attempts=0,
                    locked_until=None,
                    last_login_at=now,
                )
            )

    def _one(self, condition: sa.ColumnElement[bool]) -> StaffUser | None:
        with _transaction(self._bind) as conn:
            row = conn.execute(sa.select(staff_users).where(condition)).first()
        return None if row is None else _staff(row)

    def by_username(self, username: str) -> StaffUser | None:
        return self._one(staff_users.c.username == username)

    def by_id(self, user_id: str) -> StaffUser | None:
        return self._one(staff_users.c.id == user_id)


# --------------------------------------------------------------------------- audit log


def _audit(row: sa.Row[Any]) -> AuditRecord:
    m = row._mapping
    return AuditRecord(
        seq=m["seq"],
        at=m["at"],
        actor=m["actor"],
        action=m["action"],
        target=m["target"],
        details=m["details"],
        prev_hash=m["prev_hash"],
        hash=m["hash"],
    )


_LOCK_CHAIN = sa.text("SELECT pg_advisory_xact_lock(:key)")
#: The chain's last record (a statement built once: ``adapters.db.statements``).
_CHAIN_HEAD = sa.select(audit_log).order_by(audit_log.c.seq.desc()).limit(1)


def append_to_chain(
    conn: sa.Connection, entries: Sequence[AuditEntry], at: dt.datetime | None = None
) -> list[AuditRecord]:
    """Append ``entries`` after the chain's head in ``conn``'s transaction. The advisory
    lock (released when that transaction ends) queues writers, so each reads the head the
    previous one committed; take it last, just before committing, to hold it briefly."""
    if not entries:
        return []
    conn.execute(_LOCK_CHAIN, {"key": _AUDIT_LOCK_KEY})
    row = conn.execute(_CHAIN_HEAD).first()
    previous = None if row is None else _audit(row)
    # Stamped now, under the lock, so times never go backwards along the chain.
    when = at or dt.datetime.now(dt.UTC)
    written: list[AuditRecord] = []
    for entry in entries:
        previous = next_record(
            previous,
            at=when,
            actor=entry.actor,
            action=entry.action,
            target=entry.subject,
            details=entry.details,
        )
        written.append(previous)
    conn.execute(
        insert_into(audit_log),
        [
            {
                "seq": r.seq,
                "at": r.at,
                "actor": r.actor,
                "action": r.action,
                "target": r.target,
                "details": dict(r.details),
                "prev_hash": r.prev_hash,
                "hash": r.hash,
            }
            for r in written
        ],
    )
    return written


class SqlAuditQueue:
    """Implements ``app.audit.AuditQueue`` for the SQL unit of work: records wait here
    and ``flush`` appends them (and any staged staff action) just before the commit."""

    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn
        self._pending: list[AuditEntry] = []

    def record(
        self, actor: str, action: str, subject: str, details: Mapping[str, Any] | None = None
    ) -> None:
        self._pending.append(AuditEntry(actor, action, subject, dict(details or {})))

    def flush(self) -> None:
        entries = [*take_staged(), *self._pending]
        self._pending = []
        append_to_chain(self._conn, entries)

    def discard(self) -> None:
        self._pending = []


class SqlAuditStore:
    """Implements ``AuditStore``. Pass the connection of the transaction that does the
    audited work, so the record commits (or not) with it; writers queue on one lock."""

    def __init__(self, bind: Bind) -> None:
        self._bind = bind

    def append_next(
        self, *, at: dt.datetime, actor: str, action: str, target: str, details: Mapping[str, Any]
    ) -> AuditRecord:
        with _transaction(self._bind) as conn:
            (record,) = append_to_chain(conn, [AuditEntry(actor, action, target, details)], at)
        return record

    def records(self, after_seq: int = 0, limit: int | None = None) -> list[AuditRecord]:
        with _transaction(self._bind) as conn:
            rows = conn.execute(
                sa.select(audit_log)
                .where(audit_log.c.seq > after_seq)
                .order_by(audit_log.c.seq)
                .limit(limit)
            )
            return [_audit(row) for row in rows]

    def iter_records(self, batch_size: int = 5000) -> Iterator[AuditRecord]:
        """Every record in sequence order, read in batches (for verifying a long log)."""
        after = 0
        while True:
            batch = self.records(after, batch_size)
            yield from batch
            if len(batch) < batch_size:
                return
            after = batch[-1].seq
