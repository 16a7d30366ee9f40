"""The monthly credit-bureau export on PostgreSQL: every loan's balance and status at the
month's end in the documented layout; a later change to a month already sent goes out as
a correction, a loan that should not have been reported as a deletion; exporting a month
again changes nothing; the database keeps no clear name or ID number for it."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from compliance_fixtures import OPENED, draw, lending_under, line_for, person_account
from typer.testing import CliRunner

from mobilend.adapters.ids import SortableIds
from mobilend.adapters.vault import FieldVault
from mobilend.app.compliance.bureau import FIELDS, BureauFile, export_bureau_month_in
from mobilend.app.lending.repayments import post_repayment
from mobilend.bootstrap.infra import load_vault
from mobilend.bootstrap.lending import Lending
from mobilend.cli.main import app
from mobilend.config import get_settings
from mobilend.domain.compliance import CostCapPolicy
from mobilend.domain.errors import ValidationFailed

pytestmark = pytest.mark.db

JAN_31 = dt.date(2026, 1, 31)
FEB_28 = dt.date(2026, 2, 28)


def at(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC)


def export(lending: Lending, vault: FieldVault, month: str, now: dt.date) -> BureauFile:
    with lending.uow_factory() as uow:
        exported = export_bureau_month_in(
            uow, vault, SortableIds(), month=month, now=at(now), lender_code="TESTLENDER"
        )
        uow.commit()
    return exported


def records(exported: BureauFile, kind: str) -> dict[str, dict[str, str]]:
    """The file's records of ``kind`` (A, C) by account number, as field → value."""
    found = {}
    for line in exported.lines:
        parts = line.split("|")
        if parts[0] == kind:
            row = dict(zip(FIELDS, parts[1:], strict=True))
            found[row["account_no"]] = row
    return found


@pytest.fixture
def vault() -> FieldVault:
    return load_vault(get_settings())  # the one the command opens names with


@pytest.fixture
def portfolio(db: sa.Engine, vault: FieldVault) -> Iterator[tuple[Lending, dict[str, str]]]:
    lending = lending_under(db, CostCapPolicy())
    loans = {}
    for name, person, amount, day in (
        ("paid", 50, "12000", OPENED),
        ("late", 51, "6000", OPENED),
        ("failed", 52, "3000", dt.date(2026, 1, 30)),
    ):
        person_account(db, vault, f"acct-{name}", person=person)
        line = line_for(lending, f"acct-{name}", "20000", on=OPENED)
        loans[name] = draw(lending, line, amount, on=day).loan.loan_id
    yield lending, loans


def run_eod(lending: Lending, first: dt.date, last: dt.date) -> None:
    day = first
    while day <= last:
        lending.eod.run(day)
        day += dt.timedelta(days=1)


def test_a_month_then_corrections_and_deletions_of_a_month_already_sent(
    portfolio: tuple[Lending, dict[str, str]], vault: FieldVault, db: sa.Engine
) -> None:
    lending, loans = portfolio
    # End of day stopped on 29 January; January is sent before it catches up.
    run_eod(lending, OPENED + dt.timedelta(days=1), dt.date(2026, 1, 29))
    january = export(lending, vault, "2026-01", dt.date(2026, 2, 1))
    header = january.lines[0].split("|")
    assert header == ["H", "TESTLENDER", "2026-01", at(dt.date(2026, 2, 1)).isoformat(), "MLB-1"]
    sent = records(january, "A")
    assert set(sent) == set(loans.values())
    paid = sent[loans["paid"]]
    assert (paid["status"], paid["principal_balance"], paid["days_past_due"]) == (
        "N",
        "1200000",
        "0",
    )
    assert paid["name"] == "测试50" and paid["id_type"] == "10" and len(paid["id_number"]) == 18
    assert paid["open_date"] == "20260115" and paid["credit_amount"] == "1200000"
    assert int(paid["charges_balance"]) > 0  # interest accrued to 29 January
    assert january.lines[-1] == "T|3|0|0|2100000"  # 12 000 + 6 000 + 3 000, in fen

    # Then: end of day catches up (30 and 31 January accrue interest dated in January);
    # the payout of the 30 January loan fails and it is cancelled; one borrower pays
    # the first installment early, the other does not pay it at all.
    with lending.uow_factory() as uow:
        failed = uow.lending.loans.get(loans["failed"], for_update=True)
        entries = failed.cancel(dt.date(2026, 2, 3), lending.new_id)
        uow.lending.loans.save(failed)
        uow.lending.ledger.append(entries, failed.borrower_id)
        uow.commit()
    run_eod(lending, dt.date(2026, 1, 30), dt.date(2026, 2, 9))
    with lending.uow_factory() as uow:
        first = uow.lending.loans.get(loans["paid"]).installments[0]
    post_repayment(
        lending.uow_factory, lending.new_id, loan_id=loans["paid"],
        amount=first.total_due, on=dt.date(2026, 2, 10), idempotency_key="pay-early",
    )  # fmt: skip
    run_eod(lending, dt.date(2026, 2, 10), FEB_28)

    february = export(lending, vault, "2026-02", dt.date(2026, 3, 1))
    regular = records(february, "A")
    assert set(regular) == {loans["paid"], loans["late"]}
    late = regular[loans["late"]]
    assert (late["status"], late["days_past_due"], late["installments_past_due"]) == (
        "1",
        "13",
        "1",
    )
    assert int(late["past_due_amount"]) > 0
    on_time = regular[loans["paid"]]
    assert (on_time["status"], on_time["last_payment_date"]) == ("N", "20260210")
    assert int(on_time["principal_balance"]) < 1200000
    corrected = records(february, "C")
    assert set(corrected) == {loans["paid"], loans["late"]}
    again = corrected[loans["paid"]]
    assert again["month"] == "2026-01" and again["principal_balance"] == "1200000"
    assert int(again["charges_balance"]) > int(paid["charges_balance"])
    assert again["last_payment_date"] == ""  # the February payment is not January's
    assert f"D|2026-01|{loans['failed']}" in february.lines
    assert february.lines[-1].startswith("T|2|2|1|")
    assert (february.submission.corrections, february.submission.deletions) == (2, 1)

    # Sending February again: the same records, nothing more to correct.
    resent = export(lending, vault, "2026-02", dt.date(2026, 3, 2))
    assert records(resent, "A") == regular
    assert records(resent, "C") == {} and resent.submission.deletions == 0
    # What was sent is kept without the name and the ID number.
    with db.connect() as conn:
        stored = conn.execute(sa.text("SELECT fields::text FROM bureau_records")).scalars().all()
    assert stored and not any(paid["id_number"] in text or "测试" in text for text in stored)


def test_a_month_not_yet_over_cannot_be_sent(
    portfolio: tuple[Lending, dict[str, str]], vault: FieldVault
) -> None:
    lending, _ = portfolio
    with pytest.raises(ValidationFailed):
        export(lending, vault, "2026-01", JAN_31)
    with pytest.raises(ValidationFailed):
        export(lending, vault, "2026-13", dt.date(2027, 1, 1))


def test_the_command_writes_the_file_for_its_owner_only(
    portfolio: tuple[Lending, dict[str, str]], tmp_path: Path
) -> None:
    out = tmp_path / "jan.txt"
    result = CliRunner().invoke(app, ["bureau", "export", "--month", "2026-01", "--out", str(out)])
    assert result.exit_code == 0, result.output
    lines = out.read_text("utf-8").splitlines()
    assert lines[0].startswith("H|MOBILEND|2026-01|") and lines[-1] == "T|3|0|0|2100000"
    assert sum(1 for line in lines if line.startswith("A|")) == 3
    assert os.stat(out).st_mode & 0o777 == 0o600
    refused = CliRunner().invoke(app, ["bureau", "export", "--month", "2099-01"])
    assert refused.exit_code == 2
