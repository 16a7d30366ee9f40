"""``mobilend audit verify`` finds a changed, removed or reordered audit record (and,
given an anchor, records removed from the end); ``mobilend keys rotate`` re-seals every
borrower's personal data, birth date included, under the newest key."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from mobilend.adapters.auth import AuditLog
from mobilend.adapters.db.security_repository import SqlAuditStore
from mobilend.adapters.vault import FieldVault, KeyRing
from mobilend.adapters.vault.keyring import b64encode
from mobilend.cli.main import app
from mobilend.config import get_settings

pytestmark = pytest.mark.db

T0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)


def write_log(db: sa.Engine, count: int = 5) -> str:
    log = AuditLog(SqlAuditStore(db))
    last = None
    for n in range(1, count + 1):
        last = log.append(
            at=T0 + dt.timedelta(minutes=n),
            actor="staff:s1",
            action="transfer.assigned",
            target=f"transfer:t{n}",
            details={"amount": f"{n}00.00"},
        )
    assert last is not None
    return f"{last.seq}:{last.hash}"


def tamper(db: sa.Engine, *statements: str) -> None:
    """As someone with the database owner's rights would: the append-only trigger off."""
    with db.begin() as conn:
        conn.execute(sa.text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
        for statement in statements:
            conn.execute(sa.text(statement))
        conn.execute(sa.text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only"))


def verify(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["audit", "verify", *args])
    return result.exit_code, result.output


def test_an_intact_log_verifies_and_prints_its_head(db: sa.Engine) -> None:
    head = write_log(db)
    code, output = verify("--batch-size", "2")  # several reads
    assert code == 0, output
    assert "5 records" in output and head in output
    assert verify("--anchor", head)[0] == 0


CHANGES: dict[str, tuple[Callable[[], list[str]], int]] = {
    "changed": (
        lambda: ['UPDATE audit_log SET details = \'{"amount": "9900.00"}\' WHERE seq = 3'],
        3,
    ),
    "removed": (lambda: ["DELETE FROM audit_log WHERE seq = 2"], 3),
    "reordered": (
        lambda: [
            "UPDATE audit_log SET seq = -2 WHERE seq = 2",
            "UPDATE audit_log SET seq = 2 WHERE seq = 3",
            "UPDATE audit_log SET seq = 3 WHERE seq = -2",
        ],
        2,
    ),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_changed_removed_or_reordered_record_is_found(db: sa.Engine, change: str) -> None:
    write_log(db)
    statements, first_bad = CHANGES[change]
    tamper(db, *statements())
    code, output = verify()
    assert code == 1, output
    assert f"broken at sequence {first_bad}" in output


def test_records_removed_from_the_end_are_found_with_an_anchor(db: sa.Engine) -> None:
    head = write_log(db)
    tamper(db, "DELETE FROM audit_log WHERE seq >= 4")
    assert verify()[0] == 0  # a shorter chain is still a whole chain...
    code, output = verify("--anchor", head)
    assert code == 1 and "the log ends at 3" in output  # ...but not the one recorded


def test_keys_rotate_reseals_borrowers_under_the_newest_key(
    db: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.integration.test_onboarding_db import CARD, INDEX_KEY, NAME, build, national_id
    from tests.integration.test_onboarding_db import sign_in as sign_in_on

    ring = KeyRing.generate("k1")
    old = build(db, ring)
    for i, phone in enumerate(("13812345678", "13912345678")):
        borrower_id = sign_in_on(old, phone)
        old.onboarding.submit_kyc(
            borrower_id,
            real_name=NAME,
            national_id=national_id(f"1101011990030712{i}"),
            bank_card=CARD,
        )
    new_ring = ring.with_new_key("k2")
    monkeypatch.setenv("MOBILEND_PII_KEYS", new_ring.render())
    monkeypatch.setenv("MOBILEND_PII_INDEX_KEY", b64encode(INDEX_KEY))
    get_settings.cache_clear()
    try:
        first = CliRunner().invoke(app, ["keys", "rotate", "--batch-size", "1"])
        again = CliRunner().invoke(app, ["keys", "rotate"])
    finally:
        get_settings.cache_clear()
    assert first.exit_code == 0, first.output
    assert "2 borrowers" in first.output
    assert "0 borrowers, 0 decision records" in again.output
    with db.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT phone_enc, name_enc, national_id_enc, bank_card_enc, birth_date_enc "
                "FROM borrowers"
            )
        ).all()
    vault = FieldVault(new_ring, INDEX_KEY)
    assert len(rows) == 2
    for row in rows:
        assert all(value.startswith("k2:") for value in row)
        assert vault.decrypt("birth_date", row.birth_date_enc).startswith("1990-03-07")
