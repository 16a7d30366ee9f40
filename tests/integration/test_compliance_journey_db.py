"""The borrower journey under the per-borrower cap: an approval larger than the room left
under the cap, over every account of the person, opens a smaller line; with no room left
the application is declined with the reason, never answered with an error."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa
from compliance_fixtures import caps, close_account, draw, line_for, person_account
from tests.lending_scenarios import make_product

from mobilend.adapters.db.unit_of_work import SqlUnitOfWork
from mobilend.app.journey.applications import apply_for_line
from mobilend.bootstrap.infra import load_vault
from mobilend.bootstrap.platform import build_platform
from mobilend.config import get_settings
from mobilend.domain.borrowers import REQUIRED_FOR_CREDIT, Consent
from mobilend.domain.decisions import Applicant, CreditDecision, DecisionOutcome
from mobilend.domain.money import Money

pytestmark = pytest.mark.db

TODAY = dt.date(2026, 4, 1)


class FixedClock:
    def now(self) -> dt.datetime:
        return dt.datetime.combine(TODAY, dt.time(2), tzinfo=dt.UTC)


class Approves:
    """Approves every application for ¥50,000 at 18 %; keeps what it was told."""

    def __init__(self) -> None:
        self.asked: list[Applicant] = []

    def decide(self, applicant: Applicant, on: dt.date) -> CreditDecision:
        self.asked.append(applicant)
        return CreditDecision(
            f"DEC-{applicant.application_id}", DecisionOutcome.APPROVE, Money("50000"),
            Decimal("0.18"), None,
        )  # fmt: skip


class Unused:
    # AttributeError, so a capability probe (``isinstance`` on a runtime-checkable
    # Protocol) answers no; any real use still fails the test.
    def __getattr__(self, name: str) -> object:
        raise AttributeError(f"not expected in this test: {name}")


def test_the_line_opened_leaves_the_person_within_the_cap(db: sa.Engine) -> None:
    vault = load_vault(get_settings())
    decisions = Approves()
    platform = build_platform(
        engine=db,
        clock=FixedClock(),
        decisions=decisions,
        rail=Unused(),
        messages=Unused(),  # type: ignore[arg-type]
    )
    rules = caps(("60000", None, None))
    ctx = dataclasses.replace(platform.journey.ctx, cost_caps=rules)
    lending = dataclasses.replace(platform.lending, cost_caps=rules)
    make_product(lending)
    for account, person in (("acct-old", 80), ("acct-full", 81)):
        person_account(db, vault, account, person=person)
        draw(lending, line_for(lending, account, "50000", on=TODAY), "40000", on=TODAY)
        close_account(db, account)
    person_account(db, vault, "acct-new", person=80)  # owes 40 000 on the closed account
    person_account(db, vault, "acct-again", person=81)
    with SqlUnitOfWork(db) as uow:
        for account in ("acct-new", "acct-again"):
            for purpose in REQUIRED_FOR_CREDIT:
                uow.onboarding.borrowers.add_consent(
                    Consent.grant(
                        f"{account}-{purpose.value}", account, purpose, "v1", FixedClock().now()
                    )
                )
        uow.commit()

    application, _ = apply_for_line(ctx, borrower_id="acct-new", product_code="cash")
    assert application.outcome == "approve"
    # 60 000 − (40 000 owed + 10 000 unused on the closed account's line)
    assert application.limit == Money("10000")
    told = decisions.asked[-1].declared["existing_credit_limits"]
    assert Decimal(told) == Decimal("50000")

    with SqlUnitOfWork(db) as uow:  # the other person's old line is used up to the cap
        line = uow.lending.lines.for_borrower("acct-full")[0]
        line.change_limit(Money("60000"))
        uow.lending.lines.save(line)
        uow.commit()
    declined, _ = apply_for_line(ctx, borrower_id="acct-again", product_code="cash")
    assert declined.outcome == "decline" and declined.line_id is None
    assert [r.code for r in declined.reasons] == ["BORROWER_CAP_REACHED"]
