"""Funding on real PostgreSQL: partner approval over real HTTP (the partner bank sandbox,
its signed callbacks and status polls), quotas held under concurrent draws, positions
recomputed from open loans, and the funding commands."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sandbox_fixtures import *  # noqa: F403  (fixtures)
from sandbox_fixtures import SANDBOX_SECRET, Sandbox, WebhookReceiver, wait_until
from tests.app.fakes_funding import FakeRail
from tests.lending_scenarios import OPENED_ON, make_line, make_product
from typer.testing import CliRunner

from mobilend.adapters.funders.http_partner import HttpPartnerBank, verify_partner_webhook
from mobilend.adapters.memory.funding import StaticPayoutAccounts
from mobilend.app.funding.approvals import record_partner_decision
from mobilend.app.funding.disbursement import disbursement_status
from mobilend.app.funding.ports import DisbursementSettings, PartnerDecision, PayoutAccount
from mobilend.app.funding.routing import (
    FundingChanged,
    configure_funding,
    list_funders,
    refresh_positions,
    register_funder,
    routing_history,
)
from mobilend.app.funding.worker import run_cycle
from mobilend.app.lending.loans import draw_loan, draw_loan_in
from mobilend.app.lending.repayments import post_repayment
from mobilend.app.unit_of_work import UnitOfWork
from mobilend.bootstrap.funding import build_disbursement
from mobilend.bootstrap.lending import Lending, build_lending
from mobilend.cli.main import app
from mobilend.domain.funding import OWN_POOL, Funder, FunderKind, WhitelistStatus
from mobilend.domain.money import Money

pytestmark = pytest.mark.db


@pytest.fixture
def lending(db: sa.Engine) -> Lending:
    platform = build_lending(engine=db)
    make_product(platform)
    return platform


def bank(code: str, **overrides: object) -> Funder:
    fields: dict[str, object] = {
        "code": code, "name": code, "kind": FunderKind.BANK, "licence_no": "B0001H",
        "whitelist_status": WhitelistStatus.WHITELISTED, "whitelisted_from": dt.date(2026, 1, 1),
        "priority": 10, "cost_of_funds": Decimal("0.05"), "interest_share": Decimal("0.8"),
    }  # fmt: skip
    fields.update(overrides)
    return Funder(**fields)  # type: ignore[arg-type]


def draw(lending: Lending, borrower: str, amount: str = "5000.00", **kw: object):  # type: ignore[no-untyped-def]
    line = make_line(lending, borrower_id=borrower)
    return draw_loan(
        lending.uow_factory, lending.cost_caps, lending.new_id,
        line_id=line.line_id, amount=Money(amount), periods=6, on=OPENED_ON, **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def test_partner_decisions_over_http_fund_or_fall_back(
    lending: Lending, partner_bank_sandbox: Sandbox, webhook_receiver: WebhookReceiver
) -> None:
    register_funder(lending.uow_factory, bank("bank_a", requires_approval=True))
    configure_funding(lending.uow_factory, approval_timeout_s=3)
    partner = HttpPartnerBank(partner_bank_sandbox.base_url, SANDBOX_SECRET, timeout=2, retries=1)
    desk = build_disbursement(
        lending, rail=FakeRail(), partners={"bank_a": partner},
        payout_accounts=StaticPayoutAccounts(default=PayoutAccount("张三", "6222020000001234")),
        settings=DisbursementSettings(approval_poll_s=60),  # decisions come by callback here
    )  # fmt: skip
    approved = draw(lending, "b-a", score_band="A").loan.loan_id
    declined = draw(lending, "b-d", score_band="D").loan.loan_id  # the bank takes A-C only
    run_cycle(desk)  # sends both requests
    partner_bank_sandbox.set_fault("never_answer", count=1)
    silent = draw(lending, "b-s", score_band="B").loan.loan_id
    run_cycle(desk)  # and this one, which the bank accepts and never answers

    def deliver() -> int:
        outcomes = []
        for call in webhook_receiver.snapshot():
            event = verify_partner_webhook(call.headers, call.body, SANDBOX_SECRET)
            decision = PartnerDecision(
                event.request_id, event.status, event.partner_reference, event.reason_code,
                event.approved_amount,
            )  # fmt: skip
            outcomes.append(record_partner_decision(desk, decision))
        return len(outcomes)

    wait_until(lambda: deliver() >= 2)  # approved and declined; the third never answers
    assert disbursement_status(lending.uow_factory, approved).funders == (
        ("bank_a", Money("5000.00")),
    )
    assert disbursement_status(lending.uow_factory, declined).funders == (
        (OWN_POOL, Money("5000.00")),
    )
    history = routing_history(lending.uow_factory, declined)
    assert history[-1].reasons["excluded"] == ["bank_a"]

    def passed_over() -> bool:
        run_cycle(desk)
        return disbursement_status(lending.uow_factory, silent).stage != "awaiting_approval"

    wait_until(passed_over, timeout=15, interval=0.2)
    assert disbursement_status(lending.uow_factory, silent).funders[0][0] == OWN_POOL
    with lending.engine.connect() as conn:
        rows = dict(conn.execute(sa.text(
            "SELECT loan_id, status || '/' || partner_decision FROM partner_approvals"
        )).all())  # fmt: skip
    assert rows == {
        approved: "approved/approved",
        declined: "declined/declined",
        silent: "timed_out/",
    }
    assert deliver() >= 2  # replaying the callbacks changes nothing
    partner.close()


def test_concurrent_draws_never_overrun_a_daily_quota(lending: Lending) -> None:
    register_funder(lending.uow_factory, bank("bank_c", priority=1, daily_quota=Money("30000.00")))
    borrowers = [f"c-{i}" for i in range(10)]
    lines = {b: make_line(lending, borrower_id=b) for b in borrowers}

    def one(borrower: str) -> str:
        drawn = draw_loan(
            lending.uow_factory, lending.cost_caps, lending.new_id,
            line_id=lines[borrower].line_id, amount=Money("5000.00"), periods=6, on=OPENED_ON,
        )  # fmt: skip
        return drawn.tranches[0].funder_code

    with ThreadPoolExecutor(max_workers=5) as pool:
        funders = list(pool.map(one, borrowers))
    assert funders.count("bank_c") == 6 and funders.count(OWN_POOL) == 4
    view = next(
        v for v in list_funders(lending.uow_factory, OPENED_ON) if v.funder.code == "bank_c"
    )
    assert view.position.routed_today == Money("30000.00")


def test_a_draw_locks_its_funders_only_at_the_commit_and_routes_again_if_they_filled(
    lending: Lending,
) -> None:
    """The funder rows every new loan writes are locked by the commit alone: while a
    draw's transaction is open another can still take them; if that one takes the last
    of the quota, the first draw's commit refuses (nothing written) and the command
    runs it again, routed on the new positions."""
    register_funder(lending.uow_factory, bank("bank_q", priority=1, daily_quota=Money("10000.00")))
    first, second = make_line(lending, borrower_id="q-1"), make_line(lending, borrower_id="q-2")
    amount = Money("6000.00")

    def draw_in(uow: UnitOfWork, line_id: str) -> str:
        drawn = draw_loan_in(
            uow, lending.cost_caps, lending.new_id,
            line_id=line_id, amount=amount, periods=6, on=OPENED_ON,
        )  # fmt: skip
        return drawn.tranches[0].funder_code

    with lending.uow_factory() as uow:  # the funder's position row, as after its first loan
        uow.funding.positions.get(["bank_q"], OPENED_ON, "CNY", for_update=True)
        uow.commit()

    with lending.uow_factory() as uow:
        assert draw_in(uow, first.line_id) == "bank_q"  # chosen, not yet reserved
        with lending.uow_factory() as other:  # the funder's row is free meanwhile
            other.connection.execute(sa.text("SET LOCAL lock_timeout = '2s'"))
            other.connection.execute(
                sa.text(
                    "SELECT 1 FROM funder_positions WHERE funder_code = 'bank_q' FOR UPDATE NOWAIT"
                )
            )
            assert draw_in(other, second.line_id) == "bank_q"
            other.commit()
        with pytest.raises(FundingChanged) as refused:
            uow.commit()
    assert refused.value.code == "funding_changed"
    with lending.uow_factory() as uow:
        loans = uow.connection.execute(
            sa.text("SELECT count(*) FROM loans WHERE line_id = :line"), {"line": first.line_id}
        ).scalar_one()
    assert loans == 0  # the refused commit wrote nothing

    drawn = draw_loan(
        lending.uow_factory, lending.cost_caps, lending.new_id,
        line_id=first.line_id, amount=amount, periods=6, on=OPENED_ON,
    )  # fmt: skip
    assert [t.funder_code for t in drawn.tranches] == [OWN_POOL]
    bank_q = next(
        v for v in list_funders(lending.uow_factory, OPENED_ON) if v.funder.code == "bank_q"
    )
    assert bank_q.position.routed_today == amount


def test_outstanding_is_recomputed_from_open_loans_after_repayment(lending: Lending) -> None:
    drawn = draw(lending, "r-1", "6000.00")
    first = drawn.offer.schedule.installments[0]
    post_repayment(
        lending.uow_factory, lending.new_id, loan_id=drawn.loan.loan_id, amount=first.total,
        on=first.due_date, idempotency_key="r-1-1",
    )  # fmt: skip
    balances = refresh_positions(lending.uow_factory)
    assert balances[OWN_POOL] == Money("6000.00") - first.principal


def test_funder_commands_register_list_and_refuse_small_joint_shares(
    lending: Lending,
) -> None:
    runner = CliRunner()
    added = runner.invoke(app, [
        "funders", "add", "--code", "bank_x", "--name", "X 银行", "--licence", "B0009H",
        "--from", "2026-01-01", "--daily-quota", "100000", "--max-balance", "500000",
    ])  # fmt: skip
    assert added.exit_code == 0, added.output
    refused = runner.invoke(app, [
        "funders", "joint", "--code", "jx", "--part", "own_pool=0.25", "--part", "bank_x=0.75",
    ])  # fmt: skip
    assert refused.exit_code == 2 and "30" in refused.output
    joint = runner.invoke(app, [
        "funders", "joint", "--code", "jx", "--part", "own_pool=0.3", "--part", "bank_x=0.7",
    ])  # fmt: skip
    assert joint.exit_code == 0, joint.output
    listed = runner.invoke(app, ["funders", "list", "--date", "2026-01-15"])
    assert listed.exit_code == 0 and "bank_x" in listed.output and "jx" in listed.output


def test_reconcile_command_reports_a_clean_day(lending: Lending, payment_gateway: Sandbox) -> None:
    result = CliRunner().invoke(
        app,
        ["reconcile", "--date", "2026-03-02", "--rail-url", payment_gateway.base_url,
         "--rail-secret", SANDBOX_SECRET],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "reconciliation clean" in result.output
    with lending.engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT clean, breaks FROM reconciliation_reports")).one()
    assert tuple(stored) == (True, 0)


def test_a_partners_share_of_collections_is_posted_once_and_given_back_if_it_bounces(
    lending: Lending,
) -> None:
    from mobilend.app.funding.funder_shares import post_funder_shares
    from mobilend.app.funding.routing import add_programme
    from mobilend.app.servicing.desk import ServicingDesk
    from mobilend.app.servicing.reversals import reverse_repayment
    from mobilend.bootstrap.ledger import verify_book
    from mobilend.domain.funding import Programme, ProgrammeShare

    register_funder(lending.uow_factory, bank("bank_j"), single_programme=False)
    add_programme(lending.uow_factory, Programme(
        "jp", "joint", (ProgrammeShare(OWN_POOL, Decimal("0.3")), ProgrammeShare("bank_j", Decimal("0.7"))), 1,
    ))  # fmt: skip
    drawn = draw(lending, "j-1", "10000.00")
    assert {t.funder_code for t in drawn.tranches} == {OWN_POOL, "bank_j"}
    first = drawn.offer.schedule.installments[0]
    paid = post_repayment(
        lending.uow_factory, lending.new_id, loan_id=drawn.loan.loan_id, amount=first.total,
        on=first.due_date, idempotency_key="j-1-1", channel="bank_transfer",
    )  # fmt: skip

    def balance(account: str) -> int:
        with lending.engine.connect() as conn:  # type: ignore[union-attr]
            return int(
                conn.execute(
                    sa.text(
                        "SELECT coalesce(sum(amount_minor), 0) FROM postings WHERE account = :a"
                    ),
                    {"a": account},
                ).scalar_one()
            )

    assert post_funder_shares(lending.uow_factory, first.due_date) == 1
    assert post_funder_shares(lending.uow_factory, first.due_date) == 0
    owed = -balance("funder_payable:bank_j")
    # 70 % of the principal, and 80 % (its interest share) of 70 % of the interest.
    principal_part = (first.principal * Decimal("0.7")).round().to_minor()
    assert owed > principal_part
    assert balance("funder_payable:own_pool") == 0
    assert verify_book(lending.engine).clean

    desk = ServicingDesk(lending.uow_factory, lending.new_id, lending.clock)
    reverse_repayment(
        desk, loan_id=drawn.loan.loan_id, repayment_id=paid.record.repayment_id,
        reason="recalled", on=first.due_date + dt.timedelta(days=2),
    )  # fmt: skip
    assert balance("funder_payable:bank_j") == 0  # the bounced payment's share came back
    assert post_funder_shares(lending.uow_factory, first.due_date) == 0
    report = verify_book(lending.engine)
    assert report.clean, report.mismatches
