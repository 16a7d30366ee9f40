"""Maker-checker kinds the features own, on PostgreSQL: a settlement asked for in the
console becomes an approved offer on the collection case only when someone else
approves it (and the borrower's payment then settles the loan); a policy version, a
model and a champion/challenger split are promoted only by a second person, and the
promotion is what the engine reads next (``active.json``, the champion model)."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.integration.collections_fixtures import build_world, case_for_loan, overdue_loan
from tests.integration.risk_fixtures import small_model_dir
from tests.integration.servicing_fixtures import *  # noqa: F403  (fixtures)
from tests.integration.servicing_fixtures import stored_loan, trial_balance_is_zero

from mobilend.adapters.auth import AuditLog, InMemoryAuditStore
from mobilend.adapters.risk_versions import FileRiskVersions, promoted_model_dir
from mobilend.app.collections.cases import sync_cases
from mobilend.app.collections.resolutions import announce_approved, pay_settlement
from mobilend.app.operations import approvals as cases
from mobilend.app.operations.approvals import ApprovalDesk
from mobilend.app.operations.executors import platform_executors
from mobilend.app.operations.ports import StaffActor
from mobilend.app.operations.promotions import ModelPromotionExecutor, PolicyPromotionExecutor
from mobilend.app.operations.settlement import SettlementExecutor, settlement_payload
from mobilend.domain.approvals import ApprovalKind, ApprovalStatus, SecondPersonRequired
from mobilend.domain.collections import ApprovalStatus as OfferStatus
from mobilend.domain.errors import Conflict, ValidationFailed
from mobilend.domain.loans_rules import LoanStatus
from mobilend.domain.money import Money
from mobilend.domain.staff import Forbidden
from mobilend.risk.policy import PolicyBook
from mobilend.risk.policy.loader import FILES_DIR

pytestmark = pytest.mark.db

AGENT = StaffActor("c1", "collections-1", frozenset({"collections"}))
MANAGER = StaffActor("m1", "manager-1", frozenset({"collections_manager"}))
RISK_1 = StaffActor("r1", "risk-1", frozenset({"risk"}))
RISK_2 = StaffActor("r2", "risk-2", frozenset({"risk"}))


def approval_desk(lending, versions: FileRiskVersions | None = None) -> ApprovalDesk:  # type: ignore[no-untyped-def]
    executors = {**platform_executors(), ApprovalKind.SETTLEMENT: SettlementExecutor()}
    if versions is not None:
        executors[ApprovalKind.POLICY_PROMOTION] = PolicyPromotionExecutor(versions)
        executors[ApprovalKind.MODEL_PROMOTION] = ModelPromotionExecutor(versions)
    return ApprovalDesk(
        uow_factory=lending.uow_factory,
        new_id=lending.new_id,
        clock=lending.clock,
        today=lending.today,
        audit=AuditLog(InMemoryAuditStore()),
        cost_caps=lending.cost_caps,
        executors=executors,
    )


def test_a_settlement_waits_for_a_second_person_then_the_payment_settles_the_loan(
    db: sa.Engine,
    clock,
    vault,  # type: ignore[no-untyped-def]
) -> None:
    world = build_world(db, clock, vault)
    on = overdue_loan(world, "l-s1", "b-s1", dpd=70)
    sync_cases(world.desk, on)
    case = case_for_loan(world, "l-s1")
    desk = approval_desk(world.wired.lending)
    desk.today = lambda: on  # the business date the loan was aged to
    owed = stored_loan(world.wired, "l-s1").receivables.total
    # Over the policy's largest discount: refused before anyone is asked.
    with pytest.raises(ValidationFailed):
        cases.request_approval(
            desk, AGENT, kind=ApprovalKind.SETTLEMENT, target="loan:l-s1",
            payload=settlement_payload("l-s1", 1), reason="offer",
        )  # fmt: skip
    amount = Money(str((owed.amount * 8 / 10).quantize(Decimal("0.01"))))
    asked = cases.request_approval(
        desk, AGENT, kind=ApprovalKind.SETTLEMENT, target="loan:l-s1",
        payload=settlement_payload("l-s1", amount.to_minor()), reason="失业，一次性结清",
    )  # fmt: skip
    with pytest.raises(SecondPersonRequired):
        cases.approve(desk, AGENT, asked.request_id)
    with pytest.raises(Forbidden):  # an agent may ask, not approve
        cases.approve(desk, StaffActor("c2", "collections-2", frozenset({"collections"})),
                      asked.request_id)  # fmt: skip
    with world.desk.uow_factory() as uow:
        assert uow.collections.resolutions.for_case(case.case_id) == []
    desk.after_approval[ApprovalKind.SETTLEMENT] = lambda d: announce_approved(
        world.desk, str(d.result["resolution_id"])
    )
    assert world.gateway.sent == []
    done = cases.approve(desk, MANAGER, asked.request_id, "同意")
    assert done.status is ApprovalStatus.APPROVED
    # The borrower is told of the offer, through the conduct gate, as after a manager's
    # approval in the collections desk.
    with world.desk.uow_factory() as uow:
        asked_gate = [
            c for c in uow.collections.contacts.for_case(case.case_id)
            if c.template == "settlement_offer"
        ]  # fmt: skip
    [attempt] = asked_gate
    assert attempt.allowed, attempt.rules
    [told] = world.gateway.sent
    assert amount.format() in told.body
    assert done.result["case_id"] == case.case_id
    assert done.result["amount_fen"] == amount.to_minor()
    with world.desk.uow_factory() as uow:
        [offer] = uow.collections.resolutions.for_case(case.case_id)
    assert (
        offer.status is OfferStatus.APPROVED and offer.resolution_id == done.result["resolution_id"]
    )
    assert (offer.proposed_by, offer.approved_by) == (AGENT.actor, MANAGER.actor)
    # A second settlement on the same case is refused while this offer stands.
    with pytest.raises(Conflict):
        cases.request_approval(
            desk, AGENT, kind=ApprovalKind.SETTLEMENT, target="loan:l-s1-again",
            payload=settlement_payload("l-s1", amount.to_minor()), reason="again",
        )  # fmt: skip
    pay_settlement(world.desk, offer.resolution_id, amount=amount, on=on, idempotency_key="s-1")
    assert stored_loan(world.wired, "l-s1").status is LoanStatus.CLOSED
    assert trial_balance_is_zero(db)


@pytest.fixture
def policy_root(tmp_path: Path) -> Path:
    root = tmp_path / "policy"
    shutil.copytree(FILES_DIR, root)
    v2 = root / "cash" / "v2"
    shutil.copytree(root / "cash" / "v1", v2)
    manifest = json.loads((v2 / "policy.json").read_text("utf-8"))
    manifest["version"] = "v2"
    (v2 / "policy.json").write_text(json.dumps(manifest), "utf-8")
    return root


def test_policy_and_model_promotion_and_the_split_take_two_people(
    db: sa.Engine,
    clock,
    vault,
    policy_root: Path,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    world = build_world(db, clock, vault)
    models = tmp_path / "models"
    shutil.copytree(small_model_dir(), models / "candidate")
    (models / "broken").mkdir()
    versions = FileRiskVersions(policy_root, models, models / "default", writable=True)
    desk = approval_desk(world.wired.lending, versions)

    def ask(kind: ApprovalKind, payload: dict[str, object]):  # type: ignore[no-untyped-def]
        return cases.request_approval(
            desk, RISK_1, kind=kind, target=f"{kind.value}:{json.dumps(payload)}",
            payload=payload, reason="回测通过 (backtest passed)",
        )  # fmt: skip

    # Unknown versions and broken models are refused when asked for.
    with pytest.raises(ValidationFailed):
        ask(ApprovalKind.POLICY_PROMOTION, {"scenario": "cash", "version": "v9"})
    with pytest.raises(ValidationFailed):
        ask(ApprovalKind.MODEL_PROMOTION, {"model": "broken"})
    with pytest.raises(ValidationFailed):
        ask(ApprovalKind.MODEL_PROMOTION, {"model": "../etc"})

    policy = ask(ApprovalKind.POLICY_PROMOTION, {"scenario": "cash", "version": "v2"})
    with pytest.raises(SecondPersonRequired):
        cases.approve(desk, RISK_1, policy.request_id)
    assert PolicyBook(policy_root).active["cash"] == "v1"
    done = cases.approve(desk, RISK_2, policy.request_id, "ok")
    assert done.result == {"scenario": "cash", "version": "v2", "previous": "v1",
                           "takes_effect": "next_decision"}  # fmt: skip
    book = PolicyBook(policy_root)
    assert book.active == {"cash": "v2", "phone": "v1", "sme": "v1"}
    assert book.get("cash").params.version == "v2"

    model = ask(ApprovalKind.MODEL_PROMOTION, {"model": "candidate"})
    assert promoted_model_dir(policy_root) is None
    cases.approve(desk, RISK_2, model.request_id, "ok")
    assert promoted_model_dir(policy_root) == (models / "candidate").resolve()
    assert versions.in_force().model == "candidate"
    assert versions.in_force().model_version != ""

    split = {"challenger": {"name": "v1-trial", "share": "0.10", "policy_version": "v1"}}
    with pytest.raises(ValidationFailed):  # a share of the whole book is no challenger
        ask(ApprovalKind.POLICY_PROMOTION, {"challenger": {"name": "x", "share": "1",
                                                          "policy_version": "v1"}})  # fmt: skip
    asked = ask(ApprovalKind.POLICY_PROMOTION, split)
    with pytest.raises(SecondPersonRequired):
        cases.approve(desk, RISK_1, asked.request_id)
    cases.approve(desk, RISK_2, asked.request_id, "ok")
    challenger = versions.in_force().challenger
    assert challenger is not None
    assert (challenger.name, str(challenger.share), challenger.policy_version) == (
        "v1-trial", "0.10", "v1",
    )  # fmt: skip
    with desk.uow_factory() as uow:
        approved = uow.operations.approvals.list(ApprovalStatus.APPROVED, 10)
    assert {r.kind for r in approved} == {
        ApprovalKind.POLICY_PROMOTION,
        ApprovalKind.MODEL_PROMOTION,
    }


def test_the_shipped_policy_files_are_never_written(
    db: sa.Engine,
    clock,
    vault,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    world = build_world(db, clock, vault)
    versions = FileRiskVersions(FILES_DIR, tmp_path, tmp_path / "default", writable=False)
    desk = approval_desk(world.wired.lending, versions)
    asked = cases.request_approval(
        desk, RISK_1, kind=ApprovalKind.POLICY_PROMOTION, target="policy:cash",
        payload={"scenario": "cash", "version": "v1"}, reason="same again",
    )  # fmt: skip
    before = (FILES_DIR / "active.json").read_bytes()
    with pytest.raises(Conflict):
        cases.approve(desk, RISK_2, asked.request_id, "ok")
    assert (FILES_DIR / "active.json").read_bytes() == before
    with desk.uow_factory() as uow:
        assert uow.operations.approvals.get(asked.request_id).status is ApprovalStatus.PENDING
