"""An application waiting for manual review blocks a new one, on PostgreSQL: a borrower
referred to a reviewer cannot apply again (with an income, say) and be approved at once,
skipping the review and leaving a referral no one can clear — not even when several
applications arrive at the same moment. Once a reviewer decides, the usual rules apply."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from typing import TypeVar

import pytest
import sqlalchemy as sa
from compliance_fixtures import person_account
from tests.integration.concurrency import at_once

from mobilend.adapters.auth import AuditLog, InMemoryAuditStore
from mobilend.adapters.db.unit_of_work import SqlUnitOfWork
from mobilend.adapters.decisions.basic_policy import BasicPolicyEngine
from mobilend.app.journey.applications import (
    ApplicationUnderReview,
    ReapplyTooSoon,
    apply_for_line,
)
from mobilend.app.journey.context import JourneyContext
from mobilend.app.lending.lines import open_credit_line
from mobilend.app.operations.approvals import ApprovalDesk
from mobilend.app.operations.executors import platform_executors
from mobilend.app.operations.ports import StaffActor
from mobilend.app.operations.referrals import decide_referral
from mobilend.bootstrap.infra import load_vault
from mobilend.bootstrap.platform import Platform, build_platform
from mobilend.config import get_settings
from mobilend.domain.borrowers import REQUIRED_FOR_CREDIT, Consent
from mobilend.domain.decisions import Applicant, CreditDecision
from mobilend.domain.errors import Conflict
from mobilend.domain.money import Money

pytestmark = pytest.mark.db

TODAY = dt.date(2026, 4, 1)
RISK = StaffActor("r1", "risk-1", frozenset({"risk"}))
T = TypeVar("T")


class FixedClock:
    def now(self) -> dt.datetime:
        return dt.datetime.combine(TODAY, dt.time(2), tzinfo=dt.UTC)


class Unused:
    def __getattr__(self, name: str) -> object:
        raise AttributeError(f"not expected in this test: {name}")


class HeldAtDecision:
    """The basic policy (no income → refer), each decision held until ``parties`` are
    being decided at once: every one of them has passed the first, unlocked check."""

    def __init__(self, parties: int) -> None:
        self._inner = BasicPolicyEngine()
        self._barrier = threading.Barrier(parties) if parties > 1 else None

    def decide(self, applicant: Applicant, on: dt.date) -> CreditDecision:
        if self._barrier is not None:
            self._barrier.wait(timeout=60)
        return self._inner.decide(applicant, on)


def journey(db: sa.Engine, parties: int = 1) -> tuple[Platform, JourneyContext]:
    platform = build_platform(
        engine=db,
        clock=FixedClock(),
        decisions=HeldAtDecision(parties),
        rail=Unused(),
        messages=Unused(),  # type: ignore[arg-type]
    )
    # No per-identity daily limit here: these tests are about the review, not the counter.
    return platform, dataclasses.replace(platform.journey.ctx, application_guard=None)


def applicant(db: sa.Engine, account: str, person: int) -> str:
    person_account(db, load_vault(get_settings()), account, person=person)
    with SqlUnitOfWork(db) as uow:
        for purpose in REQUIRED_FOR_CREDIT:
            uow.onboarding.borrowers.add_consent(
                Consent.grant(
                    f"{account}-{purpose.value}", account, purpose, "v1", FixedClock().now()
                )
            )
        uow.commit()
    return account


def desk_of(platform: Platform) -> ApprovalDesk:
    lending = platform.lending
    return ApprovalDesk(
        uow_factory=lending.uow_factory,
        new_id=lending.new_id,
        clock=lending.clock,
        today=lending.today,
        audit=AuditLog(InMemoryAuditStore()),
        cost_caps=lending.cost_caps,
        executors=platform_executors(),
    )


def outcomes_of(db: sa.Engine, borrower_id: str) -> list[str]:
    with SqlUnitOfWork(db) as uow:
        return sorted(str(a.outcome) for a in uow.journey.applications.for_borrower(borrower_id))


def lines_of(db: sa.Engine, borrower_id: str) -> int:
    with SqlUnitOfWork(db) as uow:
        return len(uow.lending.lines.for_borrower(borrower_id))


def test_a_referred_borrower_cannot_apply_again_until_the_review_decides(db: sa.Engine) -> None:
    platform, ctx = journey(db)
    borrower = applicant(db, "acct-referred", 90)
    referred, _ = apply_for_line(ctx, borrower_id=borrower)  # no income: referred
    assert referred.outcome == "refer"

    with pytest.raises(ApplicationUnderReview) as refused:
        apply_for_line(ctx, borrower_id=borrower, monthly_income=Money("10000"))
    assert refused.value.code == "application_under_review"
    assert refused.value.application_id == referred.application_id
    assert "人工审核" in refused.value.message and "manual review" in refused.value.message
    assert [p.field for p in refused.value.problems] == ["application_id"]
    assert outcomes_of(db, borrower) == ["refer"] and lines_of(db, borrower) == 0

    # The reviewer can still approve: no line was opened behind the review's back.
    outcome = decide_referral(
        desk_of(platform), RISK, referred.application_id, approve=True,
        reason="income confirmed", single_person_limit=Money("50000"),
        limit_fen=1_000_000, annual_rate="0.18",
    )  # fmt: skip
    assert outcome.line_id is not None and lines_of(db, borrower) == 1


def test_a_declined_review_lets_the_usual_wait_apply(db: sa.Engine) -> None:
    platform, ctx = journey(db)
    borrower = applicant(db, "acct-declined", 91)
    referred, _ = apply_for_line(ctx, borrower_id=borrower)
    decide_referral(
        desk_of(platform), RISK, referred.application_id, approve=False,
        reason="could not verify income", single_person_limit=Money("50000"),
    )  # fmt: skip
    with pytest.raises(ReapplyTooSoon):
        apply_for_line(ctx, borrower_id=borrower, monthly_income=Money("10000"))


@pytest.mark.parametrize("with_income", [False, True], ids=["all-referred", "one-referred"])
def test_applications_at_the_same_moment_leave_one_decided(
    db: sa.Engine, with_income: bool
) -> None:
    """Four applications reach the decision together (each past the unlocked check): the
    first recorded wins, the others are refused under the borrower's lock. Either they
    would all have been referred (four items in the queue for one person), or one is
    referred while another opens a line at once (the review skipped)."""
    count = 4
    _platform, ctx = journey(db, parties=count)
    borrower = applicant(db, "acct-racing", 92)

    def apply(n: int) -> object:
        income = Money("10000") if with_income and n > 0 else None
        application, _ = apply_for_line(ctx, borrower_id=borrower, monthly_income=income)
        return application

    results = at_once(count, apply)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert len(errors) == count - 1, results
    assert all(getattr(e, "code", None) in ("application_under_review", "line_already_open")
               for e in errors), errors  # fmt: skip
    assert len(outcomes_of(db, borrower)) == 1
    if not with_income:
        assert outcomes_of(db, borrower) == ["refer"]
        assert all(isinstance(e, ApplicationUnderReview) for e in errors)
    if outcomes_of(db, borrower) == ["refer"]:
        assert lines_of(db, borrower) == 0


def test_a_referral_whose_borrower_already_holds_a_line_says_how_to_clear_it(
    db: sa.Engine,
) -> None:
    """A referral left from before the check (its borrower got a line meanwhile) is no
    dead end: approving names the line and says to decline; declining clears it."""
    platform, ctx = journey(db)
    borrower = applicant(db, "acct-legacy", 93)
    referred, _ = apply_for_line(ctx, borrower_id=borrower)
    # As the old code let happen: a line opened beside the pending referral.
    line = open_credit_line(
        platform.lending.uow_factory, platform.lending.cost_caps, platform.lending.new_id,
        borrower_id=borrower, product_code=ctx.settings.default_product, limit=Money("5000"),
        opened_on=TODAY, expires_on=TODAY + dt.timedelta(days=365),
    )  # fmt: skip
    desk = desk_of(platform)
    with pytest.raises(Conflict) as refused:
        decide_referral(
            desk, RISK, referred.application_id, approve=True, reason="income confirmed",
            single_person_limit=Money("50000"), limit_fen=1_000_000, annual_rate="0.18",
        )  # fmt: skip
    message = str(refused.value)
    assert line.line_id in message and "请拒绝" in message and "decline this referral" in message
    decide_referral(desk, RISK, referred.application_id, approve=False,
                    reason="already holds a line", single_person_limit=Money("50000"))  # fmt: skip
    assert outcomes_of(db, borrower) == ["decline"] and lines_of(db, borrower) == 1


def test_attempts_refused_while_under_review_do_not_use_up_the_days_applications(
    db: sa.Engine,
) -> None:
    platform, _ = journey(db)
    ctx = platform.journey.ctx  # with the per-identity daily limit (3) in force
    assert ctx.application_guard is not None
    borrower = applicant(db, "acct-patient", 93)
    referred, _ = apply_for_line(ctx, borrower_id=borrower)  # the day's first application
    assert referred.outcome == "refer"

    # Five more tries while the review is pending: each is told why, none is counted.
    for _ in range(5):
        with pytest.raises(ApplicationUnderReview):
            apply_for_line(ctx, borrower_id=borrower, monthly_income=Money("10000"))
    assert outcomes_of(db, borrower) == ["refer"]
