"""PostgreSQL storage for onboarding and security (SQLAlchemy Core, sync).

Repositories here only ever see sealed personal data (``SealedBorrower``): the use
cases encrypt before saving and decrypt after loading.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from mobilend.adapters.auth.audit import AuditRecord, next_record
from mobilend.adapters.auth.staff import Role, StaffUser
from mobilend.adapters.auth.tokens import RefreshTokenRecord
from mobilend.adapters.db.onboarding_tables import (
    audit_log,
    borrowers,
    consents,
    otp_challenges,
    refresh_tokens,
    staff_users,
)
from mobilend.adapters.vault.field_vault import FieldVault
from mobilend.app.ports import SealedBorrower
from mobilend.domain.borrowers import Consent, ConsentPurpose, NationalIdTaken
from mobilend.domain.errors import Conflict
from mobilend.domain.otp import OtpChallenge

# Advisory-lock keys: one per OTP subject (hashed with this seed), one for the audit chain.
_OTP_LOCK_SEED = 0x6F7470  # "otp"
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


def _constraint_name(error: IntegrityError) -> str:
    diag = getattr(error.orig, "diag", None)
    return str(getattr(diag, "constraint_name", "") or "")


# --------------------------------------------------------------------------- borrowers


_BORROWER_COLUMNS = (
    "status",
    "phone_enc",
    "phone_bidx",
    "name_enc",
    "national_id_enc",
    "national_id_bidx",
    "bank_card_enc",
    "bank_card_bidx",
    "birth_date",
    "kyc_verified_at",
    "last_login_at",
    "freeze_reason",
)


def _borrower_values(borrower: SealedBorrower) -> dict[str, Any]:
    return {
        "status": borrower.status,
        "phone_enc": borrower.phone_enc,
        "phone_bidx": borrower.phone_bidx,
        "name_enc": borrower.name_enc,
        "national_id_enc": borrower.national_id_enc,
        "national_id_bidx": borrower.national_id_bidx,
        "bank_card_enc": borrower.bank_card_enc,
        "bank_card_bidx": borrower.bank_card_bidx,
        "birth_date": borrower.birth_date,
        "kyc_verified_at": borrower.kyc_verified_at,
        "last_login_at": borrower.last_login_at,
        "freeze_reason": borrower.freeze_reason,
    }


def _sealed_borrower(row: sa.Row[Any]) -> SealedBorrower:
    m = row._mapping
    return SealedBorrower(
        borrower_id=m["id"],
        status=m["status"],
        phone_enc=m["phone_enc"] or "",
        phone_bidx=m["phone_bidx"] or "",
        registered_at=m["created_at"],
        last_login_at=m["last_login_at"],
        freeze_reason=m["freeze_reason"],
        name_enc=m["name_enc"],
        national_id_enc=m["national_id_enc"],
        national_id_bidx=m["national_id_bidx"],
        bank_card_enc=m["bank_card_enc"],
        bank_card_bidx=m["bank_card_bidx"],
        birth_date=m["birth_date"],
        kyc_verified_at=m["kyc_verified_at"],
    )


def _consent(row: sa.Row[Any]) -> Consent:
    m = row._mapping
    return Consent(
        consent_id=m["id"],
        borrower_id=m["borrower_id"],
        purpose=ConsentPurpose(m["purpose"]),
        text_version=m["text_version"],
        granted_at=m["granted_at"],
        withdrawn_at=m["withdrawn_at"],
        ip_address=m["ip_address"],
        device_id=m["device_id"],
    )


class SqlBorrowerRepository:
    """Implements ``BorrowerRepository`` on the caller's connection (its transaction)."""

    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def _write(self, statement: sa.Executable) -> None:
        # A savepoint keeps the surrounding transaction usable after a refused duplicate.
        try:
            with self._conn.begin_nested():
                self._conn.execute(statement)
        except IntegrityError as error:
            name = _constraint_name(error)
            if name == "uq_borrowers_national_id_bidx":
                raise NationalIdTaken("this resident ID belongs to another account") from None
            if name == "uq_borrowers_phone_bidx":
                raise Conflict("this phone number belongs to another account") from None
            raise

    def add(self, borrower: SealedBorrower) -> None:
        self._write(
            borrowers.insert().values(
                id=borrower.borrower_id,
                created_at=borrower.registered_at,
                updated_at=borrower.registered_at,
                **_borrower_values(borrower),
            )
        )

    def save(self, borrower: SealedBorrower) -> None:
        self._write(
            borrowers.update()
            .where(borrowers.c.id == borrower.borrower_id)
            .values(updated_at=sa.func.now(), **_borrower_values(borrower))
        )

    def _one(self, condition: sa.ColumnElement[bool]) -> SealedBorrower | None:
        row = self._conn.execute(sa.select(borrowers).where(condition)).first()
        return None if row is None else _sealed_borrower(row)

    def get(self, borrower_id: str) -> SealedBorrower | None:
        return self._one(borrowers.c.id == borrower_id)

    def find_by_phone_index(self, phone_bidx: str) -> SealedBorrower | None:
        return self._one(borrowers.c.phone_bidx == phone_bidx)

    def find_by_national_id_index(self, national_id_bidx: str) -> SealedBorrower | None:
        return self._one(borrowers.c.national_id_bidx == national_id_bidx)

    def add_consent(self, consent: Consent) -> None:
        try:
            with self._conn.begin_nested():
                self._conn.execute(
                    consents.insert().values(
                        id=consent.consent_id,
                        borrower_id=consent.borrower_id,
                        purpose=consent.purpose.value,
                        text_version=consent.text_version,
                        granted_at=consent.granted_at,
                        withdrawn_at=consent.withdrawn_at,
                        ip_address=consent.ip_address,
                        device_id=consent.device_id,
                    )
                )
        except IntegrityError as error:
            if _constraint_name(error) == "uq_consents_active_purpose":
                raise Conflict(f"a {consent.purpose.value} consent is already active") from None
            raise

    def save_consent(self, consent: Consent) -> None:
        # Only withdrawal changes a consent; the grant itself is never rewritten.
        self._conn.execute(
            consents.update()
            .where(consents.c.id == consent.consent_id)
            .values(withdrawn_at=consent.withdrawn_at)
        )

    def consents(self, borrower_id: str) -> list[Consent]:
        rows = self._conn.execute(
            sa.select(consents)
            .where(consents.c.borrower_id == borrower_id)
            .order_by(consents.c.granted_at, consents.c.id)
        )
        return [_consent(row) for row in rows]


# --------------------------------------------------------------------------- OTP


def _challenge(row: sa.Row[Any]) -> OtpChallenge:
    m = row._mapping
    return OtpChallenge(
        challenge_id=m["id"],
        subject=m["subject"],
        code_hash=m["code_hash"],
        issued_at=m["issued_at"],
        expires_at=m["expires_at"],
        attempts=m["attempts"],
        consumed_at=m["consumed_at"],
    )


class SqlOtpRepository:
    """Implements ``OtpRepository`` on the caller's connection (its transaction)."""

    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def add(self, challenge: OtpChallenge) -> None:
        self._conn.execute(
            otp_challenges.insert().values(
                id=challenge.challenge_id,
                subject=challenge.subject,
                code_hash=challenge.code_hash,
                issued_at=challenge.issued_at,
                expires_at=challenge.expires_at,
                attempts=challenge.attempts,
                consumed_at=challenge.consumed_at,
            )
        )

    def save(self, challenge: OtpChallenge) -> None:
        self._conn.execute(
            otp_challenges.update()
            .where(otp_challenges.c.id == challenge.challenge_id)
            .values(attempts=challenge.attempts, consumed_at=challenge.consumed_at)
        )

    def latest(self, subject: str) -> OtpChallenge | None:
        # Locked, so two concurrent guesses cannot both spend the same last attempt.
        row = self._conn.execute(
            sa.select(otp_challenges)
            .where(otp_challenges.c.subject == subject)
            .order_by(otp_challenges.c.issued_at.desc(), otp_challenges.c.id.desc())
            .limit(1)
            .with_for_update()
        ).first()
        return None if row is None else _challenge(row)

    def sent_since(self, subject: str, since: dt.datetime) -> list[dt.datetime]:
        """Send times for ``subject`` after ``since``. Takes a transaction-scoped lock on the
        subject first, so two requests for one phone cannot both pass the cool-down."""
        self._conn.execute(
            sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:subject, :seed))"),
            {"subject": subject, "seed": _OTP_LOCK_SEED},
        )
        rows = self._conn.execute(
            sa.select(otp_challenges.c.issued_at).where(
                otp_challenges.c.subject == subject, otp_challenges.c.issued_at > since
            )
        )
        return [row.issued_at for row in rows]

    def purge_before(self, before: dt.datetime) -> int:
        """Delete challenges that expired before ``before`` (housekeeping job)."""
        result = self._conn.execute(
            otp_challenges.delete().where(otp_challenges.c.expires_at < before)
        )
        return int(result.rowcount)


class SqlOnboardingUnitOfWork:
    """Implements ``OnboardingUnitOfWork``: one connection, one transaction."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        self._conn: sa.Connection | None = None
        self._tx: sa.RootTransaction | None = None
        self.borrowers: SqlBorrowerRepository
        self.otps: SqlOtpRepository

    def __enter__(self) -> SqlOnboardingUnitOfWork:
        self._conn = self._engine.connect()
        self._tx = self._conn.begin()
        self.borrowers = SqlBorrowerRepository(self._conn)
        self.otps = SqlOtpRepository(self._conn)
        return self

    @property
    def connection(self) -> sa.Connection:
        assert self._conn is not None, "use the unit of work in a with block"
        return self._conn

    def commit(self) -> None:
        assert self._tx is not None, "use the unit of work in a with block"
        self._tx.commit()
        self._tx = self.connection.begin()  # later work in the block gets a fresh transaction

    def __exit__(self, *exc_info: object) -> None:
        try:
            if self._tx is not None and self._tx.is_active:
                self._tx.rollback()
        finally:
            if self._conn is not None:
                self._conn.close()
            self._conn = self._tx = None


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
                refresh_tokens.insert().values(
                    id=record.token_id,
                    family_id=record.family_id,
                    subject=record.subject,
                    kind=record.kind,
                    roles=list(record.roles),
                    issued_at=record.issued_at,
                    expires_at=record.expires_at,
                    rotated_at=record.rotated_at,
                    revoked_at=record.revoked_at,
                )
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
        with _transaction(self._bind) as conn:
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
                conn.execute(staff_users.insert().values(id=user.user_id, **_staff_values(user)))
        except IntegrityError as error:
            if _constraint_name(error) == "uq_staff_users_username":
                raise Conflict(f"username {user.username!r} is taken") from None
            raise

    def save(self, user: StaffUser) -> None:
        with _transaction(self._bind) as conn:
            conn.execute(
                staff_users.update()
                .where(staff_users.c.id == user.user_id)
                .values(**_staff_values(user))
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


class SqlAuditStore:
    """Implements ``AuditStore``. Pass the connection of the transaction that does the
    audited work, so the record commits (or not) with it; writers queue on one lock."""

    def __init__(self, bind: Bind) -> None:
        self._bind = bind

    def append_next(
        self, *, at: dt.datetime, actor: str, action: str, target: str, details: Mapping[str, Any]
    ) -> AuditRecord:
        with _transaction(self._bind) as conn:
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _AUDIT_LOCK_KEY})
            row = conn.execute(
                sa.select(audit_log).order_by(audit_log.c.seq.desc()).limit(1)
            ).first()
            previous = None if row is None else _audit(row)
            record = next_record(
                previous, at=at, actor=actor, action=action, target=target, details=details
            )
            conn.execute(
                audit_log.insert().values(
                    seq=record.seq,
                    at=record.at,
                    actor=record.actor,
                    action=record.action,
                    target=record.target,
                    details=dict(record.details),
                    prev_hash=record.prev_hash,
                    hash=record.hash,
                )
            )
        return record

    def records(self, after_seq: int = 0) -> list[AuditRecord]:
        with _transaction(self._bind) as conn:
            rows = conn.execute(
                sa.select(audit_log).where(audit_log.c.seq > after_seq).order_by(audit_log.c.seq)
            )
            return [_audit(row) for row in rows]


# --------------------------------------------------------------------------- key rotation

#: Sealed borrower columns and the vault field each was sealed for (the use cases' names).
SEALED_BORROWER_COLUMNS = {
    "phone_enc": "phone",
    "name_enc": "real_name",
    "national_id_enc": "national_id",
    "bank_card_enc": "bank_card",
}


def rotate_borrower_pii(engine: sa.Engine, vault: FieldVault, *, batch_size: int = 500) -> int:
    """Re-seal every borrower value not under the vault's current key; returns rows changed.

    Works in short batches (rows locked, others skipped) so it can run beside live traffic;
    run it again until it returns 0, then retire the old key from the ring.
    """
    prefix = vault.current_key_id + ":"
    columns = [borrowers.c[name] for name in SEALED_BORROWER_COLUMNS]
    stale = sa.or_(
        *(sa.and_(c.is_not(None), sa.not_(c.startswith(prefix, autoescape=True))) for c in columns)
    )
    changed, last_id = 0, ""
    while True:
        with engine.begin() as conn:
            rows = conn.execute(
                sa.select(borrowers.c.id, *columns)
                .where(stale, borrowers.c.id > last_id)
                .order_by(borrowers.c.id)
                .limit(batch_size)
                .with_for_update(skip_locked=True)
            ).all()
            if not rows:
                return changed
            for row in rows:
                values = {
                    name: vault.rotate(field, row._mapping[name])
                    for name, field in SEALED_BORROWER_COLUMNS.items()
                    if row._mapping[name] is not None
                }
                conn.execute(borrowers.update().where(borrowers.c.id == row.id).values(**values))
            changed += len(rows)
            last_id = rows[-1].id
