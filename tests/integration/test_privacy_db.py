"""Privacy on PostgreSQL: the data subject's export holds everything about them (sealed
fields opened, decision records with every source's answer); erasure waits for the legal
retention period, then removes personal data irreversibly while the ledger, loans and
contracts stay; a borrower who still owes keeps everything; the commands do the same."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from compliance_fixtures import OPENED, draw, lending_under, line_for, person_account
from typer.testing import CliRunner

from mobilend.adapters.db.decision_record_repository import SqlDecisionRecordStore
from mobilend.adapters.vault import FieldVault
from mobilend.app.lending.repayments import pay_off_loan, quote_payoff
from mobilend.app.privacy.erasure import erase_if_due_in, request_erasure_in
from mobilend.app.privacy.export import export_personal_data
from mobilend.bootstrap.infra import load_vault
from mobilend.bootstrap.lending import Lending
from mobilend.cli.main import app
from mobilend.config import get_settings
from mobilend.domain.borrowers import Consent
from mobilend.domain.compliance import CostCapPolicy
from mobilend.domain.lines import LineStatus

sys.path.append(str(Path(__file__).resolve().parents[1] / "unit" / "risk"))
from risk_helpers import RuleScorer, applicant, clean_sources

from mobilend.risk.engine import RiskDecisionEngine
from mobilend.risk.fraud import InMemoryFraudSignalStore

pytestmark = pytest.mark.db

PAID_OFF = dt.date(2026, 2, 10)
REQUESTED = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)
FIVE_YEARS_ON = dt.date(2031, 3, 1)


@pytest.fixture
def vault() -> FieldVault:
    return load_vault(get_settings())  # the one the commands open data with


def _borrower_with_history(db: sa.Engine, vault: FieldVault, lending: Lending) -> str:
    """A verified borrower with consents, a stored decision, and a loan paid off."""
    person_account(db, vault, "acct-subject", person=70)
    with lending.uow_factory() as uow:
        for purpose in ("credit_report_query", "data_use", "marketing"):
            uow.onboarding.borrowers.add_consent(
                Consent.grant(
                    f"C-{purpose}",
                    "acct-subject",
                    purpose,
                    "v1",
                    dt.datetime(2026, 1, 10, tzinfo=dt.UTC),
                    ip_address="203.0.113.0/24",
                    device_id="device-70",
                )
            )
        uow.commit()
    engine = RiskDecisionEngine(
        scorer=RuleScorer(), sources=clean_sources(), fraud_store=InMemoryFraudSignalStore()
    )
    who = dataclasses.replace(applicant(70), borrower_id="acct-subject")
    decision, record = engine.decide_with_record(who, OPENED)
    SqlDecisionRecordStore(db, vault).save(decision.decision_id, record)
    line = line_for(lending, "acct-subject", "20000")
    loan_id = draw(lending, line, "3000").loan.loan_id
    quote = quote_payoff(lending.uow_factory, loan_id=loan_id, on=PAID_OFF)
    pay_off_loan(
        lending.uow_factory, lending.new_id, loan_id=loan_id,
        amount=quote.amount_due, on=PAID_OFF, idempotency_key="payoff",
    )  # fmt: skip
    return who.national_id


def _count(db: sa.Engine, sql: str) -> int:
    with db.connect() as conn:
        return int(conn.execute(sa.text(sql)).scalar_one())


def test_the_export_holds_everything_about_the_borrower(db: sa.Engine, vault: FieldVault) -> None:
    lending = lending_under(db, CostCapPolicy())
    national_id = _borrower_with_history(db, vault, lending)
    exported = export_personal_data(lending.uow_factory, vault, "acct-subject", REQUESTED)
    (me,) = exported.table("borrowers").rows
    assert me["real_name"] == "测试70" and me["phone"].startswith("+86138")  # type: ignore[union-attr]
    assert len(str(me["national_id"])) == 18 and me["bank_card"]
    assert not any(key.endswith(("_bidx", "_enc")) for key in me)
    consents = exported.table("consents").rows
    assert {c["purpose"] for c in consents} == {"credit_report_query", "data_use", "marketing"}
    assert consents[0]["device_id"] == "device-70"
    assert len(exported.table("loans").rows) == 1 and exported.table("repayments").rows
    assert exported.table("journal_entries").rows and exported.table("credit_lines").rows
    (decided,) = exported.decision_records
    assert decided["applicant"]["national_id"] == national_id  # type: ignore[index]
    sources = decided["inputs"]["sources"]  # type: ignore[index]
    assert any(isinstance(s.get("payload"), dict) for s in sources)  # type: ignore[union-attr]
    document = json.loads(exported.to_json())
    assert document["borrower_id"] == "acct-subject"
    assert {t["table"] for t in document["data"]} >= {"borrowers", "consents", "loans", "decisions"}
    assert all(t["purposes"] and t["retention"] for t in document["data"])


def test_erasure_waits_for_the_retention_period_then_removes_personal_data(
    db: sa.Engine, vault: FieldVault
) -> None:
    lending = lending_under(db, CostCapPolicy())
    _borrower_with_history(db, vault, lending)
    ledger_before = _count(db, "SELECT count(*) FROM postings")
    with lending.uow_factory() as uow:
        request_erasure_in(uow, "acct-subject", now=REQUESTED, requested_by="borrower")
        waiting = erase_if_due_in(
            uow, "acct-subject", on=FIVE_YEARS_ON - dt.timedelta(days=1), now=REQUESTED, years=5
        )
        uow.commit()
    assert (waiting.outcome, waiting.retention_ends_on) == ("waiting", FIVE_YEARS_ON)
    with lending.uow_factory() as uow:  # no new draw after the request
        assert all(
            line.status is LineStatus.CLOSED
            for line in uow.lending.lines.for_borrower("acct-subject")
        )
        erased = erase_if_due_in(uow, "acct-subject", on=FIVE_YEARS_ON, now=REQUESTED, years=5)
        uow.commit()
    assert erased.outcome == "erased"
    assert erased.removed["borrowers"] == 1 and erased.removed["decisions"] == 1
    with db.connect() as conn:
        row = conn.execute(sa.text("SELECT * FROM borrowers WHERE id = 'acct-subject'")).one()
        consent = conn.execute(sa.text("SELECT * FROM consents LIMIT 1")).one()
        record = conn.execute(sa.text("SELECT record FROM decisions")).scalar_one()
    assert row.status == "closed"
    assert (row.phone_enc, row.name_enc, row.national_id_enc, row.bank_card_enc) == (None,) * 4
    assert (row.national_id_bidx, row.phone_bidx, row.birth_date_enc) == (None, None, None)
    assert (consent.ip_address, consent.device_id, consent.purpose) == ("", "", consent.purpose)
    assert record == {}
    # The ledger, the loan and its repayment are kept.
    assert _count(db, "SELECT count(*) FROM postings") == ledger_before
    assert _count(db, "SELECT count(*) FROM loans WHERE borrower_id = 'acct-subject'") == 1
    assert _count(db, "SELECT count(*) FROM repayments WHERE borrower_id = 'acct-subject'") == 1
    # Nothing is left to open, and the person may open a new account with the same ID.
    with lending.uow_factory() as uow:
        again = erase_if_due_in(uow, "acct-subject", on=FIVE_YEARS_ON, now=REQUESTED, years=5)
    assert again.outcome == "already_erased"
    person_account(db, vault, "acct-returning", person=70)


def test_a_borrower_who_still_owes_is_kept(db: sa.Engine, vault: FieldVault) -> None:
    lending = lending_under(db, CostCapPolicy())
    person_account(db, vault, "acct-owing", person=71)
    draw(lending, line_for(lending, "acct-owing", "20000"), "3000")
    with lending.uow_factory() as uow:
        request_erasure_in(uow, "acct-owing", now=REQUESTED, requested_by="borrower")
        result = erase_if_due_in(uow, "acct-owing", on=dt.date(2040, 1, 1), now=REQUESTED, years=5)
        uow.commit()
    assert (result.outcome, result.retention_ends_on) == ("owes", None)
    assert _count(db, "SELECT count(*) FROM borrowers WHERE name_enc IS NOT NULL") == 1


def test_the_commands_export_erase_and_print_the_register(
    db: sa.Engine, vault: FieldVault, tmp_path: Path
) -> None:
    lending = lending_under(db, CostCapPolicy())
    _borrower_with_history(db, vault, lending)
    runner = CliRunner()
    out = tmp_path / "me.json"
    exported = runner.invoke(app, ["privacy", "export", "acct-subject", "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    assert json.loads(out.read_text("utf-8"))["borrower_id"] == "acct-subject"
    assert os.stat(out).st_mode & 0o777 == 0o600
    kept = runner.invoke(app, ["privacy", "erase", "acct-subject", "--date", "2027-01-01"])
    assert kept.exit_code == 0 and "until" in kept.output
    done = runner.invoke(app, ["privacy", "erase", "--due", "--date", "2040-01-01"])
    assert done.exit_code == 0 and "erased" in done.output
    register = runner.invoke(app, ["privacy", "register", "--json"])
    holdings = {h["table"]: h for h in json.loads(register.output)["holdings"]}
    assert holdings["postings"]["erasure"] == "keep" and holdings["borrowers"]["erasure"] == "clear"
    unknown = runner.invoke(app, ["privacy", "export", "nobody"])
    assert unknown.exit_code == 2
