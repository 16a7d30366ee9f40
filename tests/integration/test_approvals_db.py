"""Maker-checker and the manual review queue on PostgreSQL: a referral approved above the
single-person limit waits for a second person and then opens the line; a product change
is carried out only when someone else approves it, and a change over the APR cap is
refused before anyone is asked; a write-off posts a balanced entry once approved."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
import sqlalchemy as sa

from mobilend.adapters.auth import AuditLog, InMemoryAuditStore, verify_chain
from mobilend.adapters.db.security_repository import SqlAuditStore
from mobilend.app.journey.ports import CreditApplication
from mobilend.app.lending.catalogue import DEMO_PRODUCTS
from mobilend.app.lending.products import ensure_product
from mobilend.app.operations import approvals as cases
from mobilend.app.operations.approvals import ApprovalDesk
from mobilend.app.operations.executors import platform_executors
from mobilend.app.operations.ports import ReviewStatus, StaffActor
from mobilend.app.operations.products import request_product_change
from mobilend.app.operations.referrals import decide_referral
from mobilend.bootstrap.lending import build_lending
from mobilend.domain.approvals import ApprovalStatus, SecondPersonRequired
from mobilend.domain.decisions import DecisionOutcome
from mobilend.domain.errors import ComplianceViolation, DomainError
from mobilend.domain.money import Money
from mobilend.domain.products_state import product_from_state, product_to_state

pytestmark = pytest.mark.db

RISK_1 = StaffActor("r1", "risk-1", frozenset({"risk"}))
RISK_2 = StaffActor("r2", "risk-2", frozenset({"risk"}))
ADMIN = StaffActor("a1", "admin-1", frozenset({"admin"}))
LIMIT = Money("5000")


@pytest.fixture
def desk(db: sa.Engine) -> ApprovalDesk:
    lending = build_lending(engine=db)
    for definition in DEMO_PRODUCTS:
        ensure_product(
            lending.uow_factory,
            product_from_state(dict(definition)),
            on=lending.today(),
            cost_caps=lending.cost_caps,
        )
    return ApprovalDesk(
        uow_factory=lending.uow_factory,
        new_id=lending.new_id,
        clock=lending.clock,
        today=lending.today,
        audit=AuditLog(InMemoryAuditStore()),
        cost_caps=lending.cost_caps,
        executors=platform_executors(),
    )


def referred(desk: ApprovalDesk) -> CreditApplication:
    code = str(DEMO_PRODUCTS[0]["code"])
    application = CreditApplication(
        application_id="APP1",
        borrower_id="B1",
        product_code=code,
        outcome=DecisionOutcome.REFER,
        decision_id="BAS-APP1",
        applied_at=dt.datetime.now(dt.UTC),
        decided_on=desk.today(),
    )
    with desk.uow_factory() as uow:
        uow.lending.borrowers.ensure("B1")
        uow.journey.applications.add(application)
        uow.commit()
    return application


def test_a_referral_above_the_limit_opens_its_line_only_after_a_second_person(
    desk: ApprovalDesk,
) -> None:
    referred(desk)
    outcome = decide_referral(
        desk, RISK_1, "APP1", approve=True, reason="income confirmed",
        single_person_limit=LIMIT, limit_fen=800_000, annual_rate="0.18",
    )  # fmt: skip
    assert outcome.review.status is ReviewStatus.AWAITING_CHECKER
    assert outcome.line_id is None and outcome.approval is not None
    with desk.uow_factory() as uow:
        assert uow.lending.lines.for_borrower("B1") == []
        assert uow.journey.applications.get("APP1").outcome == "refer"
    with pytest.raises(SecondPersonRequired):
        cases.approve(desk, RISK_1, outcome.approval.request_id)
    done = cases.approve(desk, RISK_2, outcome.approval.request_id, "agreed")
    assert done.status is ApprovalStatus.APPROVED
    with desk.uow_factory() as uow:
        (line,) = uow.lending.lines.for_borrower("B1")
        application = uow.journey.applications.get("APP1")
        review = uow.operations.referrals.review_of("APP1")
    assert line.limit == Money("8000.00") and done.result["line_id"] == line.line_id
    assert application.outcome == "approve" and application.annual_rate == Decimal("0.18")
    assert application.line_id == line.line_id
    assert review is not None and review.status is ReviewStatus.APPROVED


def test_a_declined_referral_leaves_the_queue_and_cannot_be_decided_twice(
    desk: ApprovalDesk,
) -> None:
    referred(desk)
    decide_referral(desk, RISK_1, "APP1", approve=False, reason="could not verify income",
                    single_person_limit=LIMIT)  # fmt: skip
    with desk.uow_factory() as uow:
        assert uow.journey.applications.get("APP1").outcome == "decline"
    with pytest.raises(DomainError):
        decide_referral(desk, RISK_2, "APP1", approve=True, reason="second try",
                        single_person_limit=LIMIT, limit_fen=100_000, annual_rate="0.18")  # fmt: skip


def test_a_product_change_waits_for_a_second_person_and_the_cap_is_checked_first(
    desk: ApprovalDesk,
) -> None:
    code = str(DEMO_PRODUCTS[0]["code"])
    with desk.uow_factory() as uow:
        state = product_to_state(uow.lending.products.get(code))
    cheaper = json.dumps({**state, "annual_rate": "0.15"})
    request = request_product_change(desk, RISK_1, code, cheaper, "pricing review Q2")
    with desk.uow_factory() as uow:
        assert uow.lending.products.get(code).annual_rate == Decimal(state["annual_rate"])
    cases.approve(desk, ADMIN, request.request_id)
    with desk.uow_factory() as uow:
        assert uow.lending.products.get(code).annual_rate == Decimal("0.15")
    usurious = json.dumps({**state, "annual_rate": "0.40"})
    with pytest.raises(ComplianceViolation):
        request_product_change(desk, RISK_1, code, usurious, "too dear")


def test_an_approval_leaves_exactly_one_record_written_with_it(
    desk: ApprovalDesk, db: sa.Engine
) -> None:
    referred(desk)
    outcome = decide_referral(
        desk, RISK_1, "APP1", approve=True, reason="income confirmed",
        single_person_limit=LIMIT, limit_fen=800_000, annual_rate="0.18",
    )  # fmt: skip
    assert outcome.approval is not None
    request_id = outcome.approval.request_id
    with pytest.raises(SecondPersonRequired):  # refused: its transaction wrote nothing
        cases.approve(desk, RISK_1, request_id)
    cases.approve(desk, RISK_2, request_id, "agreed")
    log = SqlAuditStore(db).records()
    assert [(r.actor, r.action, r.target) for r in log] == [
        (RISK_1.actor, "approval.requested", f"approval:{request_id}"),
        (RISK_1.actor, "referral.awaiting_checker", "application:APP1"),
        (RISK_2.actor, "approval.approved", f"approval:{request_id}"),
    ]
    assert verify_chain(log).ok
