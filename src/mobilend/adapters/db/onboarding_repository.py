"""PostgreSQL storage for onboarding: borrowers, consents, OTP challenges (SQLAlchemy Core, sync).

Repositories here only ever see sealed personal data (``SealedBorrower``): the use
cases encrypt before saving and decrypt after loading.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from mobilend.adapters.db.onboarding_tables import (
    borrowers,
    consents,
    otp_challenges,
)
from mobilend.adapters.db.statements import insert_into
from mobilend.adapters.vault.field_vault import FieldVault
from mobilend.app.onboarding.ports import SealedBorrower
from mobilend.domain.borrowers import Consent, ConsentPurpose, NationalIdTaken
from mobilend.domain.errors import Conflict
from mobilend.domain.otp import OtpChallenge
from mobilend.domain.privacy import reduce_ip

# Advisory-lock seed: one lock per OTP subject (its hash with this seed).
_OTP_LOCK_SEED = 0x6F7470  # "otp"


def constraint_name(error: IntegrityError) -> str:
    diag = getattr(error.orig, "diag", None)
    return str(getattr(diag, "constraint_name", "") or "")


# --------------------------------------------------------------------------- borrowers


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
        "birth_date_enc": borrower.birth_date_enc,
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
        birth_date_enc=m["birth_date_enc"],
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


# Statements built once (``adapters.db.statements``): every application reads these.
_BORROWER = sa.select(borrowers).where(borrowers.c.id == sa.bindparam("borrower_id"))
_CONSENTS_OF = (
    sa.select(consents)
    .where(consents.c.borrower_id == sa.bindparam("borrower_id"))
    .order_by(consents.c.granted_at, consents.c.id)
)


class SqlBorrowerRepository:
    """Implements ``BorrowerRepository`` on the caller's connection (its transaction)."""

    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn

    def _write(self, statement: sa.Executable, values: dict[str, Any] | None = None) -> None:
        # A savepoint keeps the surrounding transaction usable after a refused duplicate.
        try:
            with self._conn.begin_nested():
                self._conn.execute(statement, values)
        except IntegrityError as error:
            name = constraint_name(error)
            if name == "uq_borrowers_open_national_id_bidx":
                raise NationalIdTaken("this resident ID belongs to another account") from None
            if name == "uq_borrowers_phone_bidx":
                raise Conflict("this phone number belongs to another account") from None
            raise

    def add(self, borrower: SealedBorrower) -> None:
        self._write(
            insert_into(borrowers),
            dict(
                id=borrower.borrower_id,
                created_at=borrower.registered_at,
                updated_at=borrower.registered_at,
                **_borrower_values(borrower),
            ),
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
        row = self._conn.execute(_BORROWER, {"borrower_id": borrower_id}).first()
        return None if row is None else _sealed_borrower(row)

    def find_by_phone_index(self, phone_bidx: str) -> SealedBorrower | None:
        return self._one(borrowers.c.phone_bidx == phone_bidx)

    def find_by_national_id_index(self, national_id_bidx: str) -> SealedBorrower | None:
        # The open account holding the ID; closed ones keep it only for their loans.
        return self._one(
            sa.and_(
                borrowers.c.national_id_bidx == national_id_bidx, borrowers.c.status != "closed"
            )
        )

    def add_consent(self, consent: Consent) -> None:
        try:
            with self._conn.begin_nested():
                self._conn.execute(
                    insert_into(consents),
                    dict(
                        id=consent.consent_id,
                        borrower_id=consent.borrower_id,
                        purpose=consent.purpose.value,
                        text_version=consent.text_version,
                        granted_at=consent.granted_at,
                        withdrawn_at=consent.withdrawn_at,
                        # Kept as its network only (see domain.privacy).
                        ip_address=reduce_ip(consent.ip_address),
                        device_id=consent.device_id,
                    ),
                )
        except IntegrityError as error:
            if constraint_name(error) == "uq_consents_active_purpose":
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
        rows = self._conn.execute(_CONSENTS_OF, {"borrower_id": borrower_id})
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
            insert_into(otp_challenges),
            dict(
                id=challenge.challenge_id,
                subject=challenge.subject,
                code_hash=challenge.code_hash,
                issued_at=challenge.issued_at,
                expires_at=challenge.expires_at,
                attempts=challenge.attempts,
                consumed_at=challenge.consumed_at,
            ),
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


class SqlOnboardingStores:
    """Onboarding's store group, bound to one transaction's connection."""

    def __init__(self, conn: sa.Connection) -> None:
        self.borrowers = SqlBorrowerRepository(conn)
        self.otps = SqlOtpRepository(conn)


# --------------------------------------------------------------------------- key rotation

#: Sealed borrower columns and the vault field each was sealed for (the use cases' names).
SEALED_BORROWER_COLUMNS = {
    "phone_enc": "phone",
    "name_enc": "real_name",
    "national_id_enc": "national_id",
    "bank_card_enc": "bank_card",
    "birth_date_enc": "birth_date",
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
