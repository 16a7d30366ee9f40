"""Collection templates as records: seeded from the shipped catalogue, a new version goes
live only when a second manager approves it (the live one retires, in one transaction),
the banned-words filter refuses a proposal at once, and the conduct gate speaks only with
the live version."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from tests.integration.collections_fixtures import (
    at_local,
    build_world,
    case_for_loan,
    overdue_loan,
)
from tests.integration.servicing_fixtures import *  # noqa: F403  (fixtures)

from mobilend.app.collections.cases import sync_cases
from mobilend.app.collections.gate import STRATEGY_ACTOR, ContactRequest
from mobilend.app.collections.template_admin import (
    decide_template,
    list_templates,
    propose_template,
)
from mobilend.app.collections.templates import CATALOGUE, live_templates
from mobilend.domain.collections import SameApprover
from mobilend.domain.collections_conduct import (
    Channel,
    ConductRefused,
    ConductRule,
    ContactTemplate,
    Party,
)
from mobilend.domain.collections_templates import TemplateStatus
from mobilend.domain.errors import Conflict, ValidationFailed

pytestmark = pytest.mark.db

SMS = frozenset({Channel.SMS})
BORROWER = frozenset({Party.BORROWER})
NEW_TEXT = "【移动贷】{name}您好，您的借款（尾号{loan_ref}）已逾期{dpd}天。请在App内还款，或致电{callback}。"


def reminder(version: str, body_zh: str = NEW_TEXT) -> ContactTemplate:
    return ContactTemplate(
        "overdue_reminder", version, SMS, BORROWER, body_zh,
        "[mobilend] Dear {name}, loan ending {loan_ref} is {dpd} days past due; call {callback}.",
    )  # fmt: skip


@pytest.fixture
def world(db: sa.Engine, clock, vault):  # type: ignore[no-untyped-def]
    w = build_world(db, clock, vault)
    on = overdue_loan(w, "loan-t", "b-t", dpd=10)
    sync_cases(w.desk, on)
    clock.set(at_local(on, 10))
    return w


def sms(world, template: str = "overdue_reminder") -> str:  # type: ignore[no-untyped-def]
    case = case_for_loan(world, "loan-t")
    world.desk.gate.contact(ContactRequest(case.case_id, STRATEGY_ACTOR, Channel.SMS, template))
    return world.gateway.sent[-1].body


def test_the_records_start_as_the_shipped_catalogue(world) -> None:  # type: ignore[no-untyped-def]
    with world.desk.uow_factory() as uow:
        live = live_templates(uow)
    assert live == {t.code: t for t in CATALOGUE}
    assert all(r.status is TemplateStatus.APPROVED for r in list_templates(world.desk))


def test_a_new_version_goes_live_only_when_a_second_manager_approves(world) -> None:  # type: ignore[no-untyped-def]
    before = sms(world)
    assert "应还" in before  # the shipped text names the amount

    proposed = propose_template(world.desk, reminder("2026.2"), actor="staff:mgr-1")
    assert proposed.status is TemplateStatus.PROPOSED
    assert "应还" in sms(world)  # still the live version
    with pytest.raises(Conflict):  # one proposal per code at a time
        propose_template(world.desk, reminder("2026.3"), actor="staff:mgr-2")
    with pytest.raises(SameApprover):
        decide_template(world.desk, proposed.template_id, approve=True, actor="staff:mgr-1")

    approved = decide_template(world.desk, proposed.template_id, approve=True, actor="staff:mgr-2")
    assert approved.status is TemplateStatus.APPROVED and approved.decided_by == "staff:mgr-2"
    after = sms(world)
    assert "应还" not in after and "请在App内还款，或致电400-820-0000" in after
    versions = {
        r.template.version: r.status for r in list_templates(world.desk, code="overdue_reminder")
    }
    assert versions == {"2026.1": TemplateStatus.RETIRED, "2026.2": TemplateStatus.APPROVED}
    with pytest.raises(Conflict):  # decided once
        decide_template(world.desk, proposed.template_id, approve=False, actor="staff:mgr-3")


def test_banned_words_and_debt_talk_to_contact_persons_are_refused_on_proposal(world) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationFailed) as caught:
        propose_template(
            world.desk, reminder("2026.2", "{name}，再不还钱就报 警，后果自负"), actor="staff:mgr-1"
        )
    fields = {p.field: p.message for p in caught.value.problems}
    assert "报警" in fields["body_zh"] and "后果自负" in fields["body_zh"]
    contact_person = ContactTemplate(
        "callback_debt", "1", SMS, frozenset({Party.CONTACT_PERSON}),
        "请转告{name}尽快还款，已逾期{dpd}天", "Ask {name} to repay the overdue loan",
    )  # fmt: skip
    with pytest.raises(ValidationFailed) as caught:
        propose_template(world.desk, contact_person, actor="staff:mgr-1")
    messages = " ".join(p.message for p in caught.value.problems)
    assert "unknown placeholders: dpd" in messages and "must not mention the debt" in messages
    sneaky = reminder("2026.2", "{name.__class__}您好")
    with pytest.raises(ValidationFailed):
        propose_template(world.desk, sneaky, actor="staff:mgr-1")
    assert list_templates(world.desk, status="proposed") == []


def test_a_rejected_template_never_reaches_a_borrower(world, db) -> None:  # type: ignore[no-untyped-def]
    fresh = ContactTemplate(
        "gentle_nudge", "1", SMS, BORROWER, "【移动贷】{name}您好，请记得在App内还款。",
        "[mobilend] Dear {name}, please remember to repay in the app.",
    )  # fmt: skip
    proposed = propose_template(world.desk, fresh, actor="staff:mgr-1")
    with pytest.raises(ConductRefused) as refused:
        sms(world, "gentle_nudge")
    assert ConductRule.UNAPPROVED_TEMPLATE in refused.value.rules
    decide_template(world.desk, proposed.template_id, approve=False, actor="staff:mgr-2")
    with pytest.raises(ConductRefused):
        sms(world, "gentle_nudge")
    # Four eyes in the database too.
    with pytest.raises(sa.exc.IntegrityError), db.begin() as conn:
        conn.execute(
            sa.text("UPDATE collection_templates SET decided_by = proposed_by WHERE code = :c"),
            {"c": "gentle_nudge"},
        )
