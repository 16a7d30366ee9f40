"""Collections rules without I/O: conduct checks, banned words, debt disclosure, the
template catalogue, strategies and champion/challenger, promises, plans, settlement
limits, assignment, and settling a loan through balanced ledger entries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from tests.unit.test_loans import Book, new_loan

from mobilend.app.collections.templates import CATALOGUE, approved_templates
from mobilend.domain.collections import (
    CHAMPION,
    Arm,
    Assignee,
    AssignmentBoard,
    AssignmentMode,
    Placement,
    PlanInstalment,
    PromiseStatus,
    ResolutionPolicy,
    RiskSegment,
    SameApprover,
    StrategyBook,
    expected_recovery,
    plan_broken,
    plan_complete,
    promise_status,
    require_second_person,
    segment_for,
    validate_settlement,
)
from mobilend.domain.collections_conduct import (
    Channel,
    ConductPolicy,
    ConductRule,
    Party,
    ProposedContact,
    banned_words_in,
    check_contact,
    discloses_debt,
    template_problems,
)
from mobilend.domain.collections_settlement import WAIVER_ACCOUNT, settle_loan
from mobilend.domain.errors import Conflict, ValidationFailed
from mobilend.domain.loans_rules import LoanStatus
from mobilend.domain.money import Money

D = dt.date
POLICY = ConductPolicy()
TEMPLATES = approved_templates()


def contact(**changes: object) -> ProposedContact:
    fields: dict[str, object] = {
        "channel": Channel.CALL,
        "party": Party.BORROWER,
        "local_time": dt.time(10, 0),
        "text": "您好，请问何时方便还款？",
        "template": TEMPLATES["call_script"],
    }
    fields.update(changes)
    return ProposedContact(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("local", "allowed"),
    [(dt.time(7, 59), False), (dt.time(8, 0), True), (dt.time(21, 59), True), (dt.time(22, 0), False), (dt.time(23, 0), False)],
)  # fmt: skip
def test_contact_hours_are_08_to_22_local(local: dt.time, allowed: bool) -> None:
    broken = check_contact(contact(local_time=local), POLICY)
    assert (broken == []) is allowed
    if not allowed:
        assert broken == [ConductRule.CONTACT_HOURS]


def test_every_broken_rule_is_named() -> None:
    broken = check_contact(
        contact(
            party=Party.THIRD_PARTY, local_time=dt.time(23), case_paused=True,
            text="不还钱就报警", call_cap_reached=True,
        ),
        POLICY,
    )  # fmt: skip
    assert set(broken) == {
        ConductRule.THIRD_PARTY,
        ConductRule.CONTACT_HOURS,
        ConductRule.CASE_PAUSED,
        ConductRule.TEMPLATE_CHANNEL,
        ConductRule.BANNED_WORDS,
        ConductRule.DAILY_CALL_CAP,
    }


@pytest.mark.parametrize(
    "text",
    [
        "我们会报警",
        "你就是个老赖",
        "法院传票已发出",
        "再不还就曝光你",
        "ＰＯＬＩＣＥ will come",
        "打 死 你",
        "告诉你家人",
    ],
)
def test_banned_words_are_found_through_spacing_and_width(text: str) -> None:
    assert banned_words_in(text)


def test_plain_collection_language_passes_the_filter() -> None:
    assert banned_words_in("您的借款已逾期，请尽快还款；如有困难可申请还款计划。") == []


@pytest.mark.parametrize(
    ("text", "discloses"),
    [
        ("请转告他回电400-820-0000", False),
        ("他欠我们钱", True),
        ("借款已逾期", True),
        ("金额 ¥500", True),
        ("请他处理 1,234.50", True),
        ("he has an overdue loan", True),
    ],
)
def test_debt_disclosure_is_recognised(text: str, discloses: bool) -> None:
    assert discloses_debt(text) is discloses


def test_the_template_catalogue_obeys_its_own_rules() -> None:
    assert all(template_problems(t, POLICY) == [] for t in CATALOGUE)
    callback = TEMPLATES["callback_request"]
    assert callback.parties == frozenset({Party.CONTACT_PERSON})
    assert not discloses_debt(
        callback.render("zh-CN", {"name": "王先生", "callback": "400", "message": ""})
    )
    assert all(
        Party.CONTACT_PERSON not in t.parties for t in CATALOGUE if t.code != "callback_request"
    )


def test_a_template_with_threats_cannot_be_approved() -> None:
    bad = TEMPLATES["agent_message"].__class__(
        "scary",
        "1",
        frozenset({Channel.SMS}),
        frozenset({Party.BORROWER}),
        "再不还钱后果自负",
        "pay or else",
    )
    assert [p.field for p in template_problems(bad, POLICY)] == ["body_zh"]


def test_strategies_place_by_bucket_and_segment() -> None:
    assert CHAMPION.treatment_for("M1", RiskSegment.LOW).placement is Placement.DIGITAL
    assert CHAMPION.treatment_for("M1", RiskSegment.LOW).channels == (Channel.PUSH, Channel.SMS)
    assert CHAMPION.treatment_for("M1", RiskSegment.HIGH).placement is Placement.AGENT
    assert CHAMPION.treatment_for("M2", RiskSegment.LOW).placement is Placement.AGENT
    assert CHAMPION.treatment_for("M4", RiskSegment.HIGH).placement is Placement.AGENCY
    assert CHAMPION.treatment_for("M6+", RiskSegment.LOW).placement is Placement.LEGAL
    assert segment_for(None, 300) is RiskSegment.LOW
    assert segment_for(300, 300) is RiskSegment.HIGH


def test_champion_challenger_split_is_stable_and_near_its_share() -> None:
    book = StrategyBook(challenger_percent=20)
    arms = [book.arm_for(f"loan-{i}")[0] for i in range(5000)]
    share = arms.count(Arm.CHALLENGER) / len(arms)
    assert 0.17 < share < 0.23
    assert [book.arm_for(f"loan-{i}")[0] for i in range(50)] == arms[:50]
    assert StrategyBook(challenger_percent=0).arm_for("x")[0] is Arm.CHAMPION
    with pytest.raises(ValidationFailed):
        StrategyBook(challenger_percent=60)


def test_expected_recovery_orders_by_bucket_and_counts_a_promise() -> None:
    owed = Money("1000.00")
    assert expected_recovery(owed, "M1", RiskSegment.LOW) > expected_recovery(
        owed, "M3", RiskSegment.LOW
    )
    assert expected_recovery(owed, "M3", RiskSegment.LOW, promised=Money("600.00")) == Money(
        "600.00"
    )


def test_promise_status() -> None:
    due = D(2026, 3, 10)
    assert promise_status(Money("500"), Money("500"), due, D(2026, 3, 9)) is PromiseStatus.KEPT
    assert promise_status(Money("500"), Money("499"), due, D(2026, 3, 11)) is PromiseStatus.PENDING
    assert promise_status(Money("500"), Money("499"), due, D(2026, 3, 12)) is PromiseStatus.BROKEN


def test_plan_broken_and_complete() -> None:
    plan = [
        PlanInstalment(D(2026, 3, 1), Money("300")),
        PlanInstalment(D(2026, 4, 1), Money("300")),
    ]
    assert not plan_broken(plan, Money("0"), D(2026, 3, 4))  # within grace
    assert plan_broken(plan, Money("0"), D(2026, 3, 5))
    assert not plan_broken(plan, Money("300"), D(2026, 4, 4))
    assert plan_broken(plan, Money("300"), D(2026, 4, 5))
    assert plan_complete(plan, Money("600")) and not plan_complete(plan, Money("599.99"))


def test_settlement_limits_and_four_eyes() -> None:
    policy = ResolutionPolicy(max_settlement_discount=Decimal("0.30"))
    validate_settlement(Money("700.00"), Money("1000.00"), policy)
    with pytest.raises(ValidationFailed):
        validate_settlement(Money("699.99"), Money("1000.00"), policy)
    with pytest.raises(ValidationFailed):
        validate_settlement(Money("1000.01"), Money("1000.00"), policy)
    with pytest.raises(SameApprover):
        require_second_person("staff:a", "staff:a")
    require_second_person("staff:a", "staff:b")


def test_assignment_round_robin_and_by_load() -> None:
    agents = [Assignee("a", 0, 10), Assignee("b", 0, 10), Assignee("c", 5, 6)]
    robin = AssignmentBoard(list(agents), AssignmentMode.ROUND_ROBIN)
    assert [robin.next() for _ in range(5)] == ["a", "b", "c", "a", "b"]
    load = AssignmentBoard(list(agents), AssignmentMode.BY_LOAD)
    picks = [load.next() for _ in range(6)]
    assert picks.count("c") == 0 and picks.count("a") == 3 and picks.count("b") == 3
    full = AssignmentBoard([Assignee("a", 2, 2)])
    assert full.next() is None


def test_settling_a_loan_pays_waives_the_rest_and_balances() -> None:
    loan = new_loan("3000", 3)
    book = Book(loan)
    book.post(loan.disburse(loan.terms.start_date))
    book.post(loan.accrue_to(D(2024, 4, 1)))
    owed = loan.receivables.total
    counter = iter(range(1000))
    result = settle_loan(loan, Money("2000.00"), D(2024, 4, 2), new_id=lambda: f"e{next(counter)}")
    book.post(result.entries)
    assert loan.status is LoanStatus.CLOSED
    assert result.paid.total == Money("2000.00")
    waiver = [p for e in result.entries for p in e.postings if p.account == WAIVER_ACCOUNT]
    assert sum((p.amount for p in waiver), Money("0")) == result.waived.total
    assert loan.receivables.total == result.waived.total  # what was not paid was waived
    assert result.paid.total + result.waived.total >= owed


def test_a_settlement_above_what_is_owed_changes_nothing() -> None:
    loan = new_loan("3000", 3)
    loan.disburse(loan.terms.start_date)
    loan.accrue_to(D(2024, 3, 1))
    before = loan.to_state()
    with pytest.raises(Conflict):
        settle_loan(loan, Money("99999.00"), D(2024, 3, 2), new_id=lambda: "x")
    assert loan.to_state() == before
