"""The compliance report on PostgreSQL catches what was seeded around the checks or became
a breach when the rules changed: a product above the cap, a person above the
per-borrower cap over two accounts, a joint programme below the own share, a loan whose
APR a lower cap no longer allows — with the rule, the figure and the limit; and
``mobilend compliance report --json`` says the same under the rules file of the settings."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from compliance_fixtures import (
    OPENED,
    close_account,
    draw,
    lending_under,
    new_vault,
    person_account,
)
from typer.testing import CliRunner

from mobilend.app.compliance.report import Section, compliance_report_in
from mobilend.app.funding.routing import add_programme, register_funder
from mobilend.bootstrap.lending import Lending
from mobilend.cli.main import app
from mobilend.config import get_settings
from mobilend.domain.compliance import CostCapPolicy, Rule
from mobilend.domain.funding import (
    OWN_POOL,
    Funder,
    FunderKind,
    Programme,
    ProgrammeShare,
    WhitelistStatus,
)
from mobilend.domain.lines import CreditLine
from mobilend.domain.money import Money
from mobilend.domain.products_state import product_from_state

pytestmark = pytest.mark.db

REPORT_ON = OPENED + dt.timedelta(days=30)
LATER_RULES = {
    "cost_caps": [
        {"limit": "0.24", "effective_until": (REPORT_ON - dt.timedelta(days=1)).isoformat()},
        {"limit": "0.18", "effective_from": REPORT_ON.isoformat()},
    ],
    "rules": [
        {"rule": "joint_own_share", "value": "0.40", "effective_from": REPORT_ON.isoformat()}
    ],
}
LATER = CostCapPolicy.from_config(LATER_RULES)


def _seed(db: sa.Engine) -> tuple[Lending, str]:
    """The portfolio: a legacy product at 36 %, one person with two accounts whose lines
    add up to ¥230,000, a loan drawn at about 19.6 % APR, a 35/65 joint programme."""
    vault = new_vault()
    lending = lending_under(db, CostCapPolicy())
    with lending.uow_factory() as uow:  # written before the checks existed
        legacy = {
            "code": "legacy-36", "name": "旧产品", "min_amount": "500.00",
            "max_amount": "5000.00", "min_periods": 3, "max_periods": 6,
            "annual_rate": "0.36", "method": "equal-installment",
        }  # fmt: skip
        uow.lending.products.add(product_from_state(legacy))
        uow.commit()
    person_account(db, vault, "acct-1", person=40)
    with lending.uow_factory() as uow:  # a line imported from an older system
        uow.lending.lines.add(
            CreditLine(
                line_id="L-imported",
                borrower_id="acct-1",
                limit=Money("180000"),
                expires_on=OPENED + dt.timedelta(days=365),
                opened_on=OPENED,
                product_code="cash-12m",
            )
        )
        uow.commit()
    close_account(db, "acct-1")
    person_account(db, vault, "acct-2", person=40)
    with lending.uow_factory() as uow:
        uow.lending.lines.add(
            CreditLine(
                line_id="L-second",
                borrower_id="acct-2",
                limit=Money("50000"),
                expires_on=OPENED + dt.timedelta(days=365),
                opened_on=OPENED,
                product_code="cash-12m",
            )
        )
        uow.commit()
    with lending.uow_factory() as uow:
        line = uow.lending.lines.get("L-second")
    loan_id = draw(lending, line, "10000").loan.loan_id
    register_funder(
        lending.uow_factory,
        Funder(
            code="bank_b",
            name="bank_b",
            kind=FunderKind.BANK,
            licence_no="B0002H",
            whitelist_status=WhitelistStatus.WHITELISTED,
            whitelisted_from=dt.date(2026, 1, 1),
            requires_approval=False,
        ),
        single_programme=False,
    )
    shares = (ProgrammeShare(OWN_POOL, Decimal("0.35")), ProgrammeShare("bank_b", Decimal("0.65")))
    add_programme(lending.uow_factory, Programme("jl-35", "joint 35/65", shares, 5))
    return lending, loan_id


def test_the_report_finds_each_seeded_breach_with_its_figure(db: sa.Engine) -> None:
    lending, loan_id = _seed(db)
    with lending.uow_factory() as uow:
        before = compliance_report_in(uow, CostCapPolicy(), OPENED)
        report = compliance_report_in(uow, LATER, REPORT_ON)
    # Under the rules of the opening day, only what was written around the checks breaks.
    assert {(b.section, b.subject) for b in before.breaches} == {
        (Section.PRODUCT, "legacy-36"),
        (Section.BORROWER, "acct-1, acct-2"),
    }
    found = {(b.section, b.subject, b.breach.rule): b.breach for b in report.breaches}
    product = found[(Section.PRODUCT, "legacy-36", Rule.COST_CAP)]
    assert product.limit == "18.00%" and Decimal(product.figure.rstrip("%")) > 36
    person = found[(Section.BORROWER, "acct-1, acct-2", Rule.BORROWER_CAP)]
    assert (person.figure, person.limit) == ("230000.00", "200000.00")
    joint = found[(Section.PROGRAMME, "jl-35", Rule.JOINT_OWN_SHARE)]
    assert (joint.figure, joint.limit) == ("35.00%", "40.00%")
    # The loan was drawn at 18 % a year (APR a little above: ACT/360) under the 24 % cap.
    loan = found[(Section.LOAN, loan_id, Rule.COST_CAP)]
    assert loan.limit == "18.00%" and Decimal("18") < Decimal(loan.figure.rstrip("%")) < Decimal(
        "18.5"
    )
    # So is the cash product's worst case now, and nothing else is listed.
    assert (Section.PRODUCT, "cash-12m", Rule.COST_CAP) in found
    assert len(found) == 5
    assert dict(report.checked) == {
        Section.PRODUCT: 2, Section.BORROWER: 1, Section.LOAN: 1,
        Section.PROGRAMME: 2, Section.FUNDER: 1,
    }  # fmt: skip


def test_a_clean_portfolio_gives_a_clean_report(db: sa.Engine) -> None:
    lending = lending_under(db, CostCapPolicy())
    with lending.uow_factory() as uow:
        report = compliance_report_in(uow, CostCapPolicy(), OPENED)
    assert report.clean and json.loads(report.to_json())["breaches"] == []


@pytest.fixture
def rules_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(LATER_RULES), "utf-8")
    monkeypatch.setenv("MOBILEND_COMPLIANCE_RULES", str(path))
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


def test_the_command_reports_as_json_under_the_rules_file(db: sa.Engine, rules_file: Path) -> None:
    _, loan_id = _seed(db)
    result = CliRunner().invoke(app, ["compliance", "report", "--date", str(REPORT_ON), "--json"])
    assert result.exit_code == 1, result.output  # something breaks a rule
    document = json.loads(result.output)
    assert document["rulebook"] == LATER.version and document["date"] == str(REPORT_ON)
    rows = {(b["section"], b["subject"], b["rule"]) for b in document["breaches"]}
    assert {
        ("product", "legacy-36", "cost_cap"),
        ("borrower", "acct-1, acct-2", "borrower_cap"),
        ("programme", "jl-35", "joint_own_share"),
        ("loan", loan_id, "cost_cap"),
    } <= rows
    first = document["breaches"][0]
    assert {"rule_name_zh", "rule_name_en", "figure", "limit", "message"} <= set(first)
    table = CliRunner().invoke(app, ["compliance", "report", "--date", str(REPORT_ON)])
    assert table.exit_code == 1
    assert "jl-35" in table.output and "230000.00" in table.output
