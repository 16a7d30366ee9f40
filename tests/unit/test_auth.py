"""Authentication adapters: JWT sessions, staff passwords and roles, the audit chain."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import stat
import warnings
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import jwt
import pytest
from argon2 import PasswordHasher

from mobilend.adapters.auth import (
    AuditLog,
    InMemoryAuditStore,
    InMemoryRefreshTokenStore,
    InMemoryStaffUserStore,
    JwtTokenIssuer,
    Role,
    StaffDirectory,
    sees_full_pii,
    verify_chain,
)
from mobilend.adapters.auth.audit import GENESIS_HASH, canonical_json, next_record
from mobilend.adapters.auth.tokens import load_jwt_secret
from mobilend.domain.borrowers import Unauthenticated
from mobilend.domain.errors import Conflict, ValidationFailed

T0 = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)
SECRET = "s" * 32


def issuer(store: InMemoryRefreshTokenStore | None = None, secret: str = SECRET) -> JwtTokenIssuer:
    return JwtTokenIssuer(secret, store or InMemoryRefreshTokenStore())


# --------------------------------------------------------------------------- tokens


def test_access_token_carries_subject_kind_roles_and_lasts_15_minutes() -> None:
    tokens = issuer()
    pair = tokens.issue("staff_1", "staff", ("risk", "auditor"), T0)
    assert pair.access_expires_at == T0 + dt.timedelta(minutes=15)
    assert pair.refresh_expires_at == T0 + dt.timedelta(days=30)
    claims = tokens.verify_access(pair.access_token, T0 + dt.timedelta(minutes=14, seconds=59))
    assert (claims.subject, claims.kind, claims.roles) == ("staff_1", "staff", ("risk", "auditor"))
    assert claims.expires_at == T0 + dt.timedelta(minutes=15)
    with pytest.raises(Unauthenticated, match="expired"):
        tokens.verify_access(pair.access_token, T0 + dt.timedelta(minutes=15))


def test_refresh_rotates_and_a_replayed_refresh_token_revokes_the_family() -> None:
    tokens = issuer()
    first = tokens.issue("b1", "borrower", (), T0)
    later = T0 + dt.timedelta(days=1)
    second = tokens.refresh(first.refresh_token, later)
    assert second.refresh_token != first.refresh_token
    assert tokens.verify_access(second.access_token, later).subject == "b1"

    with pytest.raises(Unauthenticated, match="reused"):
        tokens.refresh(first.refresh_token, later)  # replay of a spent token
    with pytest.raises(Unauthenticated):
        tokens.refresh(second.refresh_token, later)  # the family is gone
    with pytest.raises(Unauthenticated, match="signed out"):
        tokens.verify_access(second.access_token, later)


def test_refresh_token_expires_after_30_days() -> None:
    tokens = issuer()
    pair = tokens.issue("b1", "borrower", (), T0)
    with pytest.raises(Unauthenticated, match="expired"):
        tokens.refresh(pair.refresh_token, T0 + dt.timedelta(days=30))


def test_sign_out_revokes_refresh_and_access_tokens_of_that_session_only() -> None:
    store = InMemoryRefreshTokenStore()
    tokens = issuer(store)
    phone = tokens.issue("b1", "borrower", (), T0)
    tablet = tokens.issue("b1", "borrower", (), T0)
    tokens.revoke(phone.refresh_token, T0)
    with pytest.raises(Unauthenticated):
        tokens.refresh(phone.refresh_token, T0)
    with pytest.raises(Unauthenticated):
        tokens.verify_access(phone.access_token, T0)
    assert tokens.verify_access(tablet.access_token, T0).subject == "b1"
    tokens.refresh(tablet.refresh_token, T0)


def test_tokens_of_wrong_type_signature_or_algorithm_are_refused() -> None:
    tokens = issuer()
    pair = tokens.issue("b1", "borrower", (), T0)
    with pytest.raises(Unauthenticated):
        tokens.verify_access(pair.refresh_token, T0)
    with pytest.raises(Unauthenticated):
        tokens.refresh(pair.access_token, T0)
    with pytest.raises(Unauthenticated):
        issuer(secret="t" * 32).verify_access(pair.access_token, T0)
    head, body, signature = pair.access_token.split(".")
    with pytest.raises(Unauthenticated):
        tokens.verify_access(f"{head}.{body}.{signature[:-2]}AA", T0)
    claims = jwt.decode(pair.access_token, options={"verify_signature": False})
    unsigned = jwt.encode(claims, None, algorithm="none")
    with pytest.raises(Unauthenticated):
        tokens.verify_access(unsigned, T0)
    with pytest.raises(Unauthenticated):
        tokens.verify_access("not a token", T0)


def test_secret_must_be_at_least_32_bytes_and_no_key_length_warning() -> None:
    with pytest.raises(ValueError):
        JwtTokenIssuer("short", InMemoryRefreshTokenStore())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tokens = issuer()
        tokens.verify_access(tokens.issue("b1", "borrower", (), T0).access_token, T0)


def test_developer_jwt_secret_is_generated_once_privately(tmp_path: Path) -> None:
    assert load_jwt_secret("configured-secret-of-at-least-32-bytes!", var_dir=tmp_path) == (
        "configured-secret-of-at-least-32-bytes!"
    )
    first = load_jwt_secret("", var_dir=tmp_path)
    assert load_jwt_secret("", var_dir=tmp_path) == first
    assert len(first) >= 32 and first != load_jwt_secret("", var_dir=tmp_path / "other")
    assert stat.S_IMODE((tmp_path / "secrets" / "jwt_secret").stat().st_mode) == 0o600
    JwtTokenIssuer(first, InMemoryRefreshTokenStore())


# --------------------------------------------------------------------------- staff


def directory(**kwargs: object) -> StaffDirectory:
    fast = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
    return StaffDirectory(InMemoryStaffUserStore(), hasher=fast, **kwargs)  # type: ignore[arg-type]


def test_create_and_authenticate_staff_user() -> None:
    staff = directory()
    user = staff.create_user("Li.Wei", "correct horse battery", ["risk", "auditor"], T0)
    assert user.username == "li.wei"
    assert user.roles == {Role.RISK, Role.AUDITOR}
    assert user.password_hash.startswith("$argon2id$")
    assert "correct horse" not in user.password_hash
    signed = staff.authenticate("LI.WEI", "correct horse battery", T0)
    assert signed.user_id == user.user_id and signed.last_login_at == T0


def test_staff_creation_refusals() -> None:
    staff = directory()
    with pytest.raises(ValidationFailed) as caught:
        staff.create_user("x", "short", ["risk"], T0)
    assert {p.field for p in caught.value.problems} == {"username", "password"}
    with pytest.raises(ValidationFailed):
        staff.create_user("zhang", "zhang-password-123", ["risk"], T0)  # contains the username
    with pytest.raises(ValidationFailed):
        staff.create_user("zhang", "long enough password", ["superuser"], T0)
    with pytest.raises(ValidationFailed):
        staff.create_user("zhang", "long enough password", [], T0)
    staff.create_user("zhang", "long enough password", ["admin"], T0)
    with pytest.raises(Conflict):
        staff.create_user("zhang", "another long password", ["admin"], T0)


def test_wrong_password_unknown_user_and_lockout() -> None:
    staff = directory(max_failures=3, lockout=dt.timedelta(minutes=15))
    staff.create_user("ops1", "right password 42", ["operations"], T0)
    with pytest.raises(Unauthenticated):
        staff.authenticate("nobody", "right password 42", T0)
    for _ in range(3):
        with pytest.raises(Unauthenticated):
            staff.authenticate("ops1", "wrong password 42", T0)
    with pytest.raises(Unauthenticated):
        staff.authenticate("ops1", "right password 42", T0 + dt.timedelta(minutes=14))
    assert (
        staff.authenticate(
            "ops1", "right password 42", T0 + dt.timedelta(minutes=15)
        ).failed_attempts
        == 0
    )


def test_success_resets_failure_count() -> None:
    staff = directory(max_failures=3)
    staff.create_user("ops1", "right password 42", ["operations"], T0)
    for _ in range(2):
        with pytest.raises(Unauthenticated):
            staff.authenticate("ops1", "nope nope nope", T0)
    staff.authenticate("ops1", "right password 42", T0)
    for _ in range(2):
        with pytest.raises(Unauthenticated):
            staff.authenticate("ops1", "nope nope nope", T0)
    staff.authenticate("ops1", "right password 42", T0)


def test_password_is_rehashed_when_parameters_rise() -> None:
    store = InMemoryStaffUserStore()
    weak = StaffDirectory(
        store, hasher=PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
    )
    user = weak.create_user("fin1", "right password 42", ["finance"], T0)
    stronger = StaffDirectory(
        store, hasher=PasswordHasher(time_cost=2, memory_cost=8192, parallelism=1)
    )
    stronger.authenticate("fin1", "right password 42", T0)
    stored = store.by_id(user.user_id)
    assert (
        stored is not None
        and stored.password_hash != user.password_hash
        and "t=2" in stored.password_hash
    )


def test_change_password_roles_and_deactivation() -> None:
    staff = directory()
    user = staff.create_user("col1", "first password 42", ["collections"], T0)
    with pytest.raises(Unauthenticated):
        staff.change_password(user.user_id, "not the password", "second password 42")
    staff.change_password(user.user_id, "first password 42", "second password 42")
    with pytest.raises(Unauthenticated):
        staff.authenticate("col1", "first password 42", T0)
    staff.authenticate("col1", "second password 42", T0)
    assert staff.set_roles(user.user_id, ["auditor"]).roles == {Role.AUDITOR}
    staff.deactivate(user.user_id)
    with pytest.raises(Unauthenticated):
        staff.authenticate("col1", "second password 42", T0)


def test_who_sees_full_pii() -> None:
    assert sees_full_pii(["operations"]) and sees_full_pii(["auditor", "collections"])
    assert (
        not sees_full_pii(["auditor"])
        and not sees_full_pii(["risk", "finance"])
        and not sees_full_pii([])
    )


# --------------------------------------------------------------------------- audit


def filled_log(n: int = 5) -> tuple[AuditLog, InMemoryAuditStore]:
    store = InMemoryAuditStore()
    log = AuditLog(store)
    for i in range(n):
        log.append(
            at=T0 + dt.timedelta(minutes=i),
            actor="staff:ops1",
            action="borrower.frozen",
            target=f"borrower:b{i}",
            details={"reason": "复核", "limit": Decimal("5000.00"), "n": i},
        )
    return log, store


def test_audit_chain_links_each_record_to_the_previous() -> None:
    log, store = filled_log()
    records = store.records()
    assert [r.seq for r in records] == [1, 2, 3, 4, 5]
    assert records[0].prev_hash == GENESIS_HASH
    assert all(later.prev_hash == earlier.hash for earlier, later in itertools.pairwise(records))
    assert records[0].details == {"reason": "复核", "limit": "5000.00", "n": 0}
    assert log.verify().ok and log.verify().checked == 5


@pytest.mark.parametrize(
    "change",
    [
        {"details": {"reason": "复核", "limit": "9999.00", "n": 2}},
        {"actor": "staff:someone_else"},
        {"at": T0},
        {"hash": "f" * 64},
    ],
)
def test_changing_any_record_is_detected_at_that_record(change: dict[str, object]) -> None:
    _, store = filled_log()
    records = store.records()
    records[2] = dataclasses.replace(records[2], **change)  # type: ignore[arg-type]
    result = verify_chain(records)
    assert not result.ok and result.first_bad_seq == 3 and result.checked == 2


def test_removing_or_reordering_records_is_detected() -> None:
    _, store = filled_log()
    records = store.records()
    assert verify_chain(records[:2] + records[3:]).first_bad_seq == 4
    assert verify_chain([records[1], records[0], *records[2:]]).first_bad_seq == 2
    # Recomputing a changed record's own hash does not help: the next link breaks.
    forged = dataclasses.replace(records[2], actor="staff:x")
    forged = dataclasses.replace(forged, hash=forged.computed_hash())
    assert verify_chain([*records[:2], forged, *records[3:]]).first_bad_seq == 4


def test_canonical_form_ignores_key_order_and_time_zone() -> None:
    assert (
        canonical_json({"b": 1, "a": "中"})
        == canonical_json({"a": "中", "b": 1})
        == '{"a":"中","b":1}'
    )
    shanghai = T0.astimezone(ZoneInfo("Asia/Shanghai"))
    utc_record = next_record(None, at=T0, actor="a", action="x", target="t", details={"k": 1})
    local_record = next_record(
        None, at=shanghai, actor="a", action="x", target="t", details={"k": 1}
    )
    assert utc_record.hash == local_record.hash


def test_floats_and_naive_times_are_refused() -> None:
    with pytest.raises(TypeError):
        next_record(None, at=T0, actor="a", action="x", target="t", details={"amount": 1.5})
    with pytest.raises(ValueError):
        next_record(None, at=T0.replace(tzinfo=None), actor="a", action="x", target="t")
