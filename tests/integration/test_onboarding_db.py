"""Onboarding against real PostgreSQL: sealed storage (no plaintext PII in any row),
unique blind indexes, OTP attempts, consents, refresh tokens, staff users, the
append-only audit log and key rotation."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import uuid

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from sqlalchemy.exc import DBAPIError
from stdnum.cn import ric

from mobilend.adapters.auth import (
    AuditLog,
    JwtTokenIssuer,
    SecretsRandom,
    StaffDirectory,
)
from mobilend.adapters.db.onboarding_repository import rotate_borrower_pii
from mobilend.adapters.db.security_repository import (
    SqlAuditStore,
    SqlRefreshTokenStore,
    SqlStaffUserStore,
)
from mobilend.adapters.db.unit_of_work import SqlUnitOfWork, SqlUnitOfWorkFactory
from mobilend.adapters.vault import FieldVault, KeyRing
from mobilend.app.messaging import DeliveryAck, OutgoingMessage
from mobilend.app.onboarding.service import Onboarding
from mobilend.domain.borrowers import NationalIdTaken, Unauthenticated
from mobilend.domain.errors import Conflict
from mobilend.domain.otp import OtpRejected

pytestmark = pytest.mark.db

T0 = dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC)
PHONE = "13812345678"
NAME = "王小明"
CARD = "6222021234567890128"
INDEX_KEY = b"\x11" * 32


def national_id(body: str = "11010119900307123") -> str:
    return body + ric.calc_check_digit(body + "0")


class Clock:
    def __init__(self) -> None:
        self.current = T0

    def now(self) -> dt.datetime:
        return self.current


class UuidIds:
    def new_id(self) -> str:
        return uuid.uuid4().hex


class Sms:
    def __init__(self) -> None:
        self.sent: list[OutgoingMessage] = []

    def send(self, message: OutgoingMessage) -> DeliveryAck:
        self.sent.append(message)
        return DeliveryAck(True, f"gw-{len(self.sent)}")

    def last_code(self) -> str:
        return self.sent[-1].body.split("验证码是")[1][:6]


@dataclasses.dataclass
class Kit:
    onboarding: Onboarding
    sms: Sms
    clock: Clock
    vault: FieldVault
    tokens: JwtTokenIssuer


def build(engine: sa.Engine, ring: KeyRing) -> Kit:
    vault = FieldVault(ring, INDEX_KEY)
    sms, clock = Sms(), Clock()
    tokens = JwtTokenIssuer("j" * 32, SqlRefreshTokenStore(engine))
    onboarding = Onboarding(
        unit_of_work=SqlUnitOfWorkFactory(engine),
        vault=vault,
        messages=sms,
        tokens=tokens,
        clock=clock,
        ids=UuidIds(),
        random=SecretsRandom(),
    )
    return Kit(onboarding, sms, clock, vault, tokens)


@pytest.fixture
def ring() -> KeyRing:
    return KeyRing.generate("k1")


@pytest.fixture
def kit(db: sa.Engine, ring: KeyRing) -> Kit:
    return build(db, ring)


def sign_in(kit: Kit, phone: str = PHONE) -> str:
    kit.onboarding.request_otp(phone)
    return kit.onboarding.verify_otp(phone, kit.sms.last_code()).borrower_id


def dump(engine: sa.Engine, *tables: str) -> str:
    with engine.connect() as conn:
        return "\n".join(
            str(row)
            for table in tables
            for row in conn.execute(sa.text(f'SELECT * FROM "{table}"'))
        )


def test_journey_stores_no_plaintext_pii(db: sa.Engine, kit: Kit) -> None:
    id_number = national_id()
    borrower_id = sign_in(kit)
    kit.onboarding.submit_kyc(borrower_id, real_name=NAME, national_id=id_number, bank_card=CARD)
    kit.onboarding.record_consent(
        borrower_id, "credit_report_query", "2026.01", ip_address="10.1.2.3"
    )
    kit.onboarding.record_consent(borrower_id, "data_use", "2026.01")

    text = dump(db, "borrowers", "otp_challenges", "consents", "refresh_tokens")
    assert borrower_id in text  # the dump did read the rows
    for secret in (id_number, PHONE, NAME, CARD, CARD[-10:]):
        assert secret not in text, f"{secret} stored in the clear"

    with db.connect() as conn:
        row = conn.execute(
            sa.text("SELECT * FROM borrowers WHERE id = :id"), {"id": borrower_id}
        ).one()
    assert row.status == "kyc_passed"
    assert not hasattr(row, "birth_date")  # sealed, like the rest of the identity
    with db.connect() as conn:
        addresses = (
            conn.execute(
                sa.text(
                    "SELECT ip_address FROM consents WHERE borrower_id = :b ORDER BY granted_at"
                ),
                {"b": borrower_id},
            )
            .scalars()
            .all()
        )
    assert "10.1.2.3" not in addresses and "10.1.2.0/24" in addresses  # its network only
    assert kit.vault.decrypt("birth_date", row.birth_date_enc) == "1990-03-07"
    assert row.phone_enc.startswith("k1:") and row.national_id_enc.startswith("k1:")
    assert kit.vault.decrypt("national_id", row.national_id_enc) == id_number
    assert row.national_id_bidx == kit.vault.blind_index("national_id", id_number)

    clear = kit.onboarding.load_borrower(borrower_id)
    assert clear.kyc is not None and (clear.phone, clear.kyc.real_name) == ("+8613812345678", NAME)
    assert sorted(c.purpose.value for c in kit.onboarding.consents(borrower_id)) == [
        "credit_report_query",
        "data_use",
    ]


def test_second_sign_in_finds_the_borrower_by_blind_index(kit: Kit) -> None:
    first = sign_in(kit)
    kit.clock.current += dt.timedelta(minutes=2)
    kit.onboarding.request_otp("+86 138 1234 5678")
    again = kit.onboarding.verify_otp(PHONE, kit.sms.last_code())
    assert again.borrower_id == first and not again.is_new


def test_duplicate_national_id_is_refused_by_lookup_and_by_the_constraint(
    db: sa.Engine, kit: Kit
) -> None:
    id_number = national_id()
    first = sign_in(kit)
    kit.clock.current += dt.timedelta(minutes=2)
    second = sign_in(kit, "13912345678")
    kit.onboarding.submit_kyc(first, real_name=NAME, national_id=id_number, bank_card=CARD)
    with pytest.raises(NationalIdTaken):
        kit.onboarding.submit_kyc(second, real_name=NAME, national_id=id_number, bank_card=CARD)

    # A race past the lookup still meets the unique index.
    with SqlUnitOfWork(db) as uow:
        holder = uow.onboarding.borrowers.get(first)
        other = uow.onboarding.borrowers.get(second)
        assert holder is not None and other is not None
        copied = dataclasses.replace(other, national_id_bidx=holder.national_id_bidx)
        with pytest.raises(NationalIdTaken):
            uow.onboarding.borrowers.save(copied)
        # The transaction is still usable after the refusal (savepoint).
        assert uow.onboarding.borrowers.get(second) is not None
        clash = dataclasses.replace(other, borrower_id="b-new", phone_bidx=holder.phone_bidx)
        with pytest.raises(Conflict):
            uow.onboarding.borrowers.add(clash)


def test_wrong_attempts_persist_across_requests(db: sa.Engine, kit: Kit) -> None:
    kit.onboarding.request_otp(PHONE)
    right = kit.sms.last_code()
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(5):
        with pytest.raises(OtpRejected):
            kit.onboarding.verify_otp(PHONE, wrong)
    with db.connect() as conn:
        assert conn.execute(sa.text("SELECT attempts FROM otp_challenges")).scalar_one() == 5
    with pytest.raises(OtpRejected):
        kit.onboarding.verify_otp(PHONE, right)
    with db.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM borrowers")).scalar_one() == 0


def test_consent_supersession_keeps_history_and_one_active_grant(db: sa.Engine, kit: Kit) -> None:
    borrower_id = sign_in(kit)
    kit.onboarding.record_consent(borrower_id, "marketing", "m1")
    kit.clock.current += dt.timedelta(days=1)
    kit.onboarding.record_consent(borrower_id, "marketing", "m2")
    kit.onboarding.withdraw_consent(borrower_id, "marketing")
    with db.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT text_version, withdrawn_at FROM consents ORDER BY granted_at")
        ).all()
    assert [(r.text_version, r.withdrawn_at is not None) for r in rows] == [
        ("m1", True),
        ("m2", True),
    ]


def test_refresh_rotation_and_revocation_in_the_database(kit: Kit) -> None:
    borrower = sign_in(kit)
    pair = kit.tokens.issue(borrower, "borrower", (), T0)
    renewed = kit.tokens.refresh(pair.refresh_token, T0)
    with pytest.raises(Unauthenticated):
        kit.tokens.refresh(pair.refresh_token, T0)
    with pytest.raises(Unauthenticated):
        kit.tokens.verify_access(renewed.access_token, T0)


def test_staff_users_in_the_database(db: sa.Engine) -> None:
    ids = itertools.count(1)
    staff = StaffDirectory(
        SqlStaffUserStore(db),
        hasher=PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1),
        new_id=lambda: f"staff_{next(ids)}",
        max_failures=2,
    )
    user = staff.create_user("audit1", "a long enough password", ["auditor", "risk"], T0)
    with pytest.raises(Conflict):
        staff.create_user("audit1", "another long password", ["admin"], T0)
    assert staff.authenticate("audit1", "a long enough password", T0).roles == user.roles
    for _ in range(2):
        with pytest.raises(Unauthenticated):
            staff.authenticate("audit1", "wrong password here", T0)
    with pytest.raises(Unauthenticated):
        staff.authenticate("audit1", "a long enough password", T0)
    with db.connect() as conn:
        stored = conn.execute(sa.text("SELECT password_hash, roles FROM staff_users")).one()
    assert stored.password_hash.startswith("$argon2id$") and sorted(stored.roles) == [
        "auditor",
        "risk",
    ]


def test_audit_log_chains_and_refuses_update_delete_truncate(db: sa.Engine) -> None:
    log = AuditLog(SqlAuditStore(db))
    for i in range(3):
        log.append(
            at=T0 + dt.timedelta(seconds=i),
            actor="staff:ops1",
            action="borrower.frozen",
            target=f"borrower:b{i}",
            details={"reason": "人工复核", "amount": "100.00", "items": [1, 2]},
        )
    result = log.verify()
    assert result.ok and result.checked == 3
    for statement in (
        "UPDATE audit_log SET actor = 'x' WHERE seq = 2",
        "DELETE FROM audit_log WHERE seq = 3",
        "TRUNCATE audit_log",
    ):
        with pytest.raises(DBAPIError, match="append-only"), db.begin() as conn:
            conn.execute(sa.text(statement))
    assert log.verify().checked == 3


def test_audit_record_commits_with_the_callers_transaction(db: sa.Engine) -> None:
    with pytest.raises(RuntimeError), db.begin() as conn:
        AuditLog(SqlAuditStore(conn)).append(at=T0, actor="a", action="x", target="t")
        raise RuntimeError("the audited work failed")
    assert AuditLog(SqlAuditStore(db)).verify().checked == 0


def test_key_rotation_reseals_every_row(db: sa.Engine, ring: KeyRing) -> None:
    old = build(db, ring)
    ids = []
    for i, phone in enumerate(("13812345678", "13912345678", "13712345678")):
        borrower_id = sign_in(old, phone)
        old.onboarding.submit_kyc(
            borrower_id,
            real_name=NAME,
            national_id=national_id(f"1101011990030712{i}"),
            bank_card=CARD,
        )
        ids.append(borrower_id)

    new_ring = ring.with_new_key("k2")
    new_vault = FieldVault(new_ring, INDEX_KEY)
    assert rotate_borrower_pii(db, new_vault, batch_size=2) == 3
    assert rotate_borrower_pii(db, new_vault) == 0
    with db.connect() as conn:
        sealed = conn.execute(
            sa.text("SELECT phone_enc, name_enc, national_id_enc, bank_card_enc FROM borrowers")
        ).all()
    assert all(value.startswith("k2:") for row in sealed for value in row)

    # With k1 retired, everything still opens and the blind indexes still find borrowers.
    retired = build(db, KeyRing((new_ring.keys[0],)))
    assert {retired.onboarding.load_borrower(b).kyc.national_id for b in ids} == {  # type: ignore[union-attr]
        national_id(f"1101011990030712{i}") for i in range(3)
    }
    retired.clock.current += dt.timedelta(minutes=5)
    assert sign_in(retired, "13912345678") == ids[1]
