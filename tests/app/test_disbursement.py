"""Funding and disbursement use cases over the in-memory units of work (same bootstrap)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from decimal import Decimal

import pytest
from tests.app.fakes_funding import FakePartner, FakeRail, ManualClock
from tests.lending_scenarios import OPENED_ON, assert_ledger_consistent, make_line, make_product

from mobilend.adapters.memory.funding import StaticPayoutAccounts
from mobilend.app.funding.approvals import check_pending_approvals, record_partner_decision
from mobilend.app.funding.disbursement import (
    DisbursementDesk,
    apply_rail_event,
    disbursement_status,
)
from mobilend.app.funding.dispatch import (
    dead_letters,
    dispatch_payouts,
    poll_unconfirmed,
    retry_payout,
)
from mobilend.app.funding.funder_shares import post_funder_shares
from mobilend.app.funding.ports import (
    TOPIC_PAYOUT,
    DisbursementSettings,
    PartnerDecision,
    PayoutAccount,
)
from mobilend.app.funding.reconciliation import partner_settlement, reconcile_rail
from mobilend.app.funding.routing import (
    NoFunderAvailable,
    add_programme,
    configure_funding,
    list_funders,
    register_funder,
    routing_history,
)
from mobilend.app.funding.worker import run_cycle
from mobilend.app.lending.loans import DrawResult, draw_loan
from mobilend.app.lending.repayments import post_repayment
from mobilend.bootstrap.funding import build_disbursement
from mobilend.bootstrap.lending import Lending, build_lending
from mobilend.domain.funding import (
    OWN_POOL,
    Funder,
    FunderKind,
    Programme,
    ProgrammeShare,
    WhitelistStatus,
)
from mobilend.domain.loans import LoanStatus
from mobilend.domain.money import Money

GOOD_CARD = "6222020000001234"
EXPIRED_CARD = "6222020000000054"


@dataclass
class World:
    lending: Lending
    desk: DisbursementDesk
    rail: FakeRail
    accounts: StaticPayoutAccounts
    partner: FakePartner
    clock: ManualClock

    def draw(self, amount: str = "10000.00", borrower: str = "b-1", card: str = GOOD_CARD,
             **kwargs: object) -> DrawResult:  # fmt: skip
        line = make_line(self.lending, borrower_id=borrower)
        self.accounts.set(borrower, PayoutAccount("张三", card))
        return draw_loan(
            self.lending.uow_factory, self.lending.cost_caps, self.lending.new_id,
            line_id=line.line_id, amount=Money(amount), periods=6, on=OPENED_ON, **kwargs,  # type: ignore[arg-type]
        )  # fmt: skip

    def balance(self, account: str) -> Money:
        with self.lending.uow_factory() as uow:
            return uow.funding.ledger_queries.account_balance(account, "CNY")  # type: ignore[attr-defined]

    def deliver_all(self) -> list[str]:
        return [
            apply_rail_event(self.desk, self.rail.event_for(k)) for k in list(self.rail.settled)
        ]


@pytest.fixture
def world() -> World:
    clock = ManualClock()
    lending = build_lending(in_memory=True, clock=clock)
    make_product(lending)
    rail = FakeRail()
    accounts = StaticPayoutAccounts()
    partner = FakePartner()
    desk = build_disbursement(
        lending, rail=rail, payout_accounts=accounts, partners={"bank_a": partner},
        settings=DisbursementSettings(
            confirm_after_s=30, backoff_base_s=1, max_attempts=3, lease_s=10, approval_poll_s=1
        ),
    )  # fmt: skip
    return World(lending, desk, rail, accounts, partner, clock)


def partner_bank(code: str = "bank_a", **overrides: object) -> Funder:
    fields: dict[str, object] = {
        "code": code, "name": code, "kind": FunderKind.BANK, "licence_no": "B0001H",
        "whitelist_status": WhitelistStatus.WHITELISTED, "whitelisted_from": dt.date(2026, 1, 1),
        "requires_approval": True, "priority": 10, "cost_of_funds": Decimal("0.05"),
        "interest_share": Decimal("0.8"),
    }  # fmt: skip
    fields.update(overrides)
    return Funder(**fields)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- accept → paid / cancelled


def test_accepting_an_offer_books_in_transit_and_queues_one_payout(world: World) -> None:
    drawn = world.draw()
    assert drawn.payout_status == "queued" and drawn.loan.status is LoanStatus.ACTIVE
    assert [(t.funder_code, t.principal) for t in drawn.tranches] == [(OWN_POOL, Money("10000.00"))]
    assert world.balance("cash:rail:in_transit") == Money("-10000.00")
    assert world.balance("cash:own_pool") == Money(0)
    view = disbursement_status(world.lending.uow_factory, drawn.loan.loan_id)
    assert (view.status, view.stage) == ("pending", "queued")
    with pytest.raises(Exception, match="no disbursement"):
        disbursement_status(world.lending.uow_factory, drawn.loan.loan_id, borrower_id="b-other")
    assert_ledger_consistent(world.lending, drawn.loan.loan_id)


def test_webhook_success_settles_once_and_repeats_change_nothing(world: World) -> None:
    loan_id = world.draw().loan.loan_id
    assert dispatch_payouts(world.desk) == 1
    assert dispatch_payouts(world.desk) == 0  # nothing left to send
    assert [r.idempotency_key for r in world.rail.requests] == [f"payout-{loan_id}"]
    event = world.rail.event_for(f"payout-{loan_id}", sequence=2)
    assert apply_rail_event(world.desk, replace(event, event_id="e0", final=False)) == "not_final"
    assert apply_rail_event(world.desk, event) == "paid"
    assert apply_rail_event(world.desk, event) == "duplicate"
    assert apply_rail_event(world.desk, replace(event, event_id="e-again")) == "stale"
    assert world.balance("cash:rail:in_transit") == Money(0)
    assert world.balance("cash:own_pool") == Money("-10000.00")
    view = disbursement_status(world.lending.uow_factory, loan_id)
    assert (view.status, view.rail_reference) == ("paid", f"PG-payout-{loan_id}")
    assert_ledger_consistent(world.lending, loan_id)


def test_final_failure_cancels_the_loan_and_gives_line_and_quota_back(world: World) -> None:
    drawn = world.draw(card=EXPIRED_CARD)
    dispatch_payouts(world.desk)
    assert world.deliver_all() == ["cancelled"]
    with world.lending.uow_factory() as uow:
        loan = uow.lending.loans.get(drawn.loan.loan_id)
        assert loan.status is LoanStatus.CANCELLED
        assert uow.lending.lines.get(loan.line_id or "").available == Money("20000.00")
    own = next(
        v for v in list_funders(world.lending.uow_factory, OPENED_ON) if v.funder.code == OWN_POOL
    )
    assert own.position.outstanding == Money(0) and own.position.routed_today == Money(0)
    view = disbursement_status(world.lending.uow_factory, drawn.loan.loan_id)
    assert (view.status, view.failure_code) == ("failed", "card_expired")
    assert world.balance("cash:rail:in_transit") == Money(0)
    assert_ledger_consistent(world.lending, drawn.loan.loan_id)


def test_a_stale_failure_after_success_and_unknown_payouts_change_nothing(world: World) -> None:
    loan_id = world.draw().loan.loan_id
    dispatch_payouts(world.desk)
    key = f"payout-{loan_id}"
    assert apply_rail_event(world.desk, world.rail.event_for(key, "e2", sequence=2)) == "paid"
    stale = world.rail.event_for(key, "e1", sequence=1, status="failed", final=False)
    assert apply_rail_event(world.desk, stale) == "not_final"
    assert apply_rail_event(world.desk, replace(stale, event_id="e1b", final=True)) == "stale"
    ghost = replace(stale, event_id="ghost", idempotency_key="unknown-1", final=True)
    assert apply_rail_event(world.desk, ghost) == "unknown_payout"
    assert disbursement_status(world.lending.uow_factory, loan_id).status == "paid"
    with world.lending.uow_factory() as uow:
        assert [e.event_id for e in uow.funding.rail_events.with_outcome("unknown_payout")] == [
            "ghost"
        ]  # type: ignore[attr-defined]


def test_an_amount_the_rail_changed_is_held_for_review(world: World) -> None:
    loan_id = world.draw().loan.loan_id
    dispatch_payouts(world.desk)
    event = world.rail.event_for(f"payout-{loan_id}", amount=Money("9999.99"))
    assert apply_rail_event(world.desk, event) == "amount_mismatch"
    assert [p.loan_id for p in dead_letters(world.lending.uow_factory)] == [loan_id]
    assert world.balance("cash:rail:in_transit") == Money("-10000.00")


def test_rail_down_retries_with_backoff_then_dead_letters_until_an_operator_retries(
    world: World,
) -> None:
    loan_id = world.draw().loan.loan_id
    world.rail.unavailable = 100
    assert dispatch_payouts(world.desk) == 1
    assert dispatch_payouts(world.desk) == 0  # not due yet
    world.clock.advance(0.49)  # the first retry waits 0.5-1 s (base 1 s, jitter 50-100 %)
    assert dispatch_payouts(world.desk) == 0
    world.clock.advance(0.51)
    assert dispatch_payouts(world.desk) == 1
    world.clock.advance(2.0)  # second retry waits 1-2 s
    assert dispatch_payouts(world.desk) == 1  # third attempt: dead
    assert [p.status for p in dead_letters(world.lending.uow_factory)] == ["dead_letter"]
    world.clock.advance(300)
    assert dispatch_payouts(world.desk) == 0  # dead letters are not retried by themselves
    world.rail.unavailable = 0
    assert retry_payout(world.desk, loan_id).status == "queued"
    assert dispatch_payouts(world.desk) == 1
    assert world.deliver_all() == ["paid"]
    assert dead_letters(world.lending.uow_factory) == []


def test_a_payout_never_confirmed_is_resolved_by_polling_the_rail(world: World) -> None:
    loan_id = world.draw().loan.loan_id
    dispatch_payouts(world.desk)
    assert poll_unconfirmed(world.desk) == 0  # not yet: the callback may still come
    world.clock.advance(31)
    assert poll_unconfirmed(world.desk) == 1
    view = disbursement_status(world.lending.uow_factory, loan_id)
    assert view.status == "paid"
    with world.lending.uow_factory() as uow:
        assert uow.funding.payouts.get(loan_id).resolved_by == "poll"  # type: ignore[attr-defined]
    assert world.deliver_all() == ["already_applied"]  # the late callback changes nothing
    assert_ledger_consistent(world.lending, loan_id)


# --------------------------------------------------------------------------- partners


def test_a_partner_approval_funds_the_loan_from_the_partners_account(world: World) -> None:
    register_funder(world.lending.uow_factory, partner_bank())
    drawn = world.draw(score=600, score_band="A")
    assert drawn.payout_status == "awaiting_approval" and drawn.entries == ()
    assert drawn.loan.status is LoanStatus.PENDING_DISBURSEMENT
    run_cycle(world.desk)
    assert [r.score_band for r in world.partner.requests] == ["A"]
    world.clock.advance(1.5)
    run_cycle(world.desk)  # poll → approved → disbursed and queued → sent
    assert disbursement_status(world.lending.uow_factory, drawn.loan.loan_id).stage == "sent"
    assert world.deliver_all() == ["paid"]
    assert world.balance("cash:funder:bank_a") == Money("-10000.00")
    assert_ledger_consistent(world.lending, drawn.loan.loan_id)


def test_a_decline_falls_back_to_the_next_funder_and_is_never_overridden(world: World) -> None:
    register_funder(world.lending.uow_factory, partner_bank())
    world.partner.decision = "declined"
    loan_id = world.draw(score=600).loan.loan_id
    run_cycle(world.desk)
    request_id = world.partner.requests[0].request_id
    declined = PartnerDecision(request_id, "declined", "P1", "score_band_not_accepted")
    assert record_partner_decision(world.desk, declined) == "recorded_declined"
    view = disbursement_status(world.lending.uow_factory, loan_id)
    assert view.stage == "queued" and view.funders == ((OWN_POOL, Money("10000.00")),)
    history = routing_history(world.lending.uow_factory, loan_id)
    assert [(r.attempt, r.programme_code) for r in history] == [(1, "bank_a"), (2, OWN_POOL)]
    assert history[1].reasons["excluded"] == ["bank_a"]
    late = PartnerDecision(request_id, "approved", "P1")
    assert record_partner_decision(world.desk, late) == "conflicting_decision_refused"
    with world.lending.uow_factory() as uow:
        approval = uow.funding.approvals.get(request_id)  # type: ignore[attr-defined]
    assert (approval.partner_decision, approval.status) == ("declined", "declined")


def test_a_partner_that_does_not_decide_in_time_is_passed_over(world: World) -> None:
    register_funder(world.lending.uow_factory, partner_bank())
    configure_funding(world.lending.uow_factory, approval_timeout_s=5)
    world.partner.silent = True
    loan_id = world.draw(score=600).loan.loan_id
    run_cycle(world.desk)
    world.clock.advance(2)
    check_pending_approvals(world.desk)
    assert disbursement_status(world.lending.uow_factory, loan_id).stage == "awaiting_approval"
    world.clock.advance(4)
    check_pending_approvals(world.desk)
    assert disbursement_status(world.lending.uow_factory, loan_id).stage == "queued"
    request_id = world.partner.requests[0].request_id
    late = PartnerDecision(request_id, "approved", "P1")
    assert record_partner_decision(world.desk, late) == "recorded_late_approved"
    assert disbursement_status(world.lending.uow_factory, loan_id).funders[0][0] == OWN_POOL


def test_no_funder_left_cancels_the_loan_and_the_payout_fails(world: World) -> None:
    register_funder(world.lending.uow_factory, partner_bank())
    own = replace(partner_bank(OWN_POOL), kind=FunderKind.OWN_POOL, requires_approval=False,
                  daily_quota=Money("10000.00"), priority=1000)  # fmt: skip
    register_funder(world.lending.uow_factory, own)
    world.draw(borrower="b-0")  # bank_a declines it, the own pool takes it: its quota is gone
    world.partner.decision = "declined"
    run_cycle(world.desk)
    world.clock.advance(1.5)
    run_cycle(world.desk)
    drawn = world.draw(borrower="b-2", score=600)  # bank_a declines again; nobody is left
    run_cycle(world.desk)
    world.clock.advance(1.5)
    run_cycle(world.desk)
    view = disbursement_status(world.lending.uow_factory, drawn.loan.loan_id)
    assert (view.status, view.failure_code) == ("failed", "no_funder_approved")
    with world.lending.uow_factory() as uow:
        loan = uow.lending.loans.get(drawn.loan.loan_id)
        assert loan.status is LoanStatus.CANCELLED
        assert uow.lending.lines.get(loan.line_id or "").available == Money("20000.00")


def test_no_funder_at_all_refuses_the_draw_and_writes_nothing(world: World) -> None:
    suspended = replace(partner_bank(OWN_POOL), kind=FunderKind.OWN_POOL,
                        whitelist_status=WhitelistStatus.SUSPENDED)  # fmt: skip
    register_funder(world.lending.uow_factory, suspended)
    with pytest.raises(NoFunderAvailable) as err:
        world.draw()
    assert "whitelist_suspended" in str(err.value.problems)
    with world.lending.uow_factory() as uow:
        assert uow.lending.ledger.trial_balance() == {}
        assert uow.lending.lines.for_borrower("b-1")[0].available == Money("20000.00")


# --------------------------------------------------------------------------- routing & joint lending


def test_a_joint_loan_is_split_paid_and_repayments_split_exactly(world: World) -> None:
    register_funder(
        world.lending.uow_factory,
        partner_bank("bank_b", requires_approval=False),
        single_programme=False,
    )
    add_programme(world.lending.uow_factory, Programme(
        "jl", "joint", (ProgrammeShare(OWN_POOL, Decimal("0.3")), ProgrammeShare("bank_b", Decimal("0.7"))), 5,
    ))  # fmt: skip
    drawn = world.draw("10000.01")
    assert [(t.funder_code, t.principal) for t in drawn.tranches] == [
        (OWN_POOL, Money("3000.00")), ("bank_b", Money("7000.01")),
    ]  # fmt: skip
    dispatch_payouts(world.desk)
    world.deliver_all()
    assert world.balance("cash:funder:bank_b") == Money("-7000.01")
    first_due = drawn.offer.schedule.installments[0]
    paid = post_repayment(
        world.lending.uow_factory, world.lending.new_id, loan_id=drawn.loan.loan_id,
        amount=first_due.total, on=first_due.due_date, idempotency_key="r1",
    )  # fmt: skip
    assert not paid.replayed
    rows = {
        r.funder_code: r
        for r in partner_settlement(world.lending.uow_factory, OPENED_ON, first_due.due_date)
    }
    assert set(rows) == {OWN_POOL, "bank_b"}
    principal = rows[OWN_POOL].principal + rows["bank_b"].principal
    assert principal == first_due.principal
    income = sum(
        (r.interest + r.fees + r.penalty + r.platform_margin for r in rows.values()), Money(0)
    )
    assert principal + income == first_due.total
    assert_ledger_consistent(world.lending, drawn.loan.loan_id)

    # The partner's share is posted as owed to it (not just reported), once.
    income_before = world.balance("interest_income")
    assert post_funder_shares(world.lending.uow_factory, first_due.due_date) == 1
    assert post_funder_shares(world.lending.uow_factory, first_due.due_date) == 0
    bank_b = rows["bank_b"]
    assert world.balance("funder_payable:bank_b") == -bank_b.total
    assert world.balance("cash:funder:bank_b") == Money("-7000.01") + bank_b.principal
    assert world.balance("interest_income") == income_before + bank_b.interest
    assert world.balance("funder_payable:own_pool").is_zero()  # the own pool keeps its part
    assert_ledger_consistent(world.lending, drawn.loan.loan_id)  # the loan's own balances


def test_daily_quota_stops_a_funder_and_the_reason_is_recorded(world: World) -> None:
    register_funder(world.lending.uow_factory, partner_bank(
        "bank_c", requires_approval=False, priority=1, daily_quota=Money("15000.00"),
    ))  # fmt: skip
    first = world.draw(borrower="b-1")
    second = world.draw(borrower="b-2")
    assert first.tranches[0].funder_code == "bank_c"
    assert second.tranches[0].funder_code == OWN_POOL
    reasons = routing_history(world.lending.uow_factory, second.loan.loan_id)[0].reasons
    assert reasons["considered"]["bank_c"]["problems"] == {"bank_c": ["daily_quota_exhausted"]}
    assert "priority" in reasons["why"]


def test_cheapest_and_round_robin_strategies(world: World) -> None:
    for code, cost, prio in (("dear", "0.07", 1), ("cheap", "0.03", 2)):
        register_funder(world.lending.uow_factory, partner_bank(
            code, requires_approval=False, priority=prio, cost_of_funds=Decimal(cost),
        ))  # fmt: skip
    assert world.draw(borrower="b-1").tranches[0].funder_code == "dear"
    configure_funding(world.lending.uow_factory, strategy="cheapest")
    assert world.draw(borrower="b-2").tranches[0].funder_code == OWN_POOL  # own pool costs 0
    configure_funding(world.lending.uow_factory, strategy="round_robin")
    chosen = [world.draw(borrower=f"r-{i}").tranches[0].funder_code for i in range(4)]
    assert sorted(chosen) == ["cheap", "cheap", "dear", "own_pool"]


# --------------------------------------------------------------------------- reconciliation


def test_reconciliation_is_clean_and_resolves_payouts_from_the_statement(world: World) -> None:
    ids = [
        world.draw(borrower=f"b-{i}", card=EXPIRED_CARD if i == 2 else GOOD_CARD).loan.loan_id
        for i in range(4)
    ]
    dispatch_payouts(world.desk)
    for key in list(world.rail.settled)[:3]:
        apply_rail_event(world.desk, world.rail.event_for(key))
    report = reconcile_rail(world.desk, world.rail.business_date)
    assert report.clean, report.breaks
    assert report.resolved_from_statement == (f"payout-{ids[3]}",)
    assert report.matched == 4 and report.in_transit_balance == Money(0)
    for loan_id in ids:
        assert_ledger_consistent(world.lending, loan_id)


def test_reconciliation_reports_every_kind_of_break(world: World) -> None:
    ids = [world.draw(borrower=f"b-{i}").loan.loan_id for i in range(3)]
    dispatch_payouts(world.desk)
    world.deliver_all()
    from mobilend.app.ports import RailStatementLine

    day = world.rail.business_date
    keys = [f"payout-{i}" for i in ids]
    world.rail.extra_lines = [
        RailStatementLine("PGX", keys[0], "payout", Money("10000.00"), "succeeded", day),
        RailStatementLine("PGY", "payout-ghost", "payout", Money("5.00"), "succeeded", day),
    ]
    request, status, failure = world.rail.settled[keys[1]]
    world.rail.settled[keys[1]] = (replace(request, amount=Money("10000.01")), status, failure)
    world.rail.settled.pop(keys[2])
    kinds = sorted(b.kind for b in reconcile_rail(world.desk, day).breaks)
    assert kinds == [
        "amount_differs",
        "duplicate_in_statement",
        "missing_in_ledger",
        "missing_in_statement",
    ]


def test_a_claim_left_by_a_killed_worker_is_taken_again_when_its_lease_ends(world: World) -> None:
    loan_id = world.draw().loan.loan_id
    now = world.clock.now()
    with world.lending.uow_factory() as uow:
        stores = uow.funding  # type: ignore[attr-defined]
        assert (
            len(stores.outbox.claim_due([TOPIC_PAYOUT], now, 10, now + dt.timedelta(seconds=10)))
            == 1
        )
        uow.commit()  # … and the worker that claimed it dies before sending
    assert dispatch_payouts(world.desk) == 0
    world.clock.advance(10)
    assert dispatch_payouts(world.desk) == 1
    assert world.deliver_all() == ["paid"]
    assert disbursement_status(world.lending.uow_factory, loan_id).status == "paid"


def test_an_answer_outside_the_rails_contract_dead_letters_at_once(world: World) -> None:
    world.draw()

    def conflict(_request: object) -> None:
        raise RuntimeError("HTTP 409: idempotency key reused with a different body")

    world.rail.send_payout = conflict  # type: ignore[method-assign,assignment]
    assert dispatch_payouts(world.desk) == 1
    [dead] = dead_letters(world.lending.uow_factory)
    assert dead.status == "dead_letter" and "409" in dead.last_error
