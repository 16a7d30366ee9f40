"""The overdue notices (T+1, T+3, T+7) leave through the conduct gate: contact hours in the
borrower's time, a complaint's pause and the approved templates apply to them, every
refusal is logged with its rule, and a step is sent once per case."""

from __future__ import annotations

import datetime as dt

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
from mobilend.app.collections.notices import send_overdue_notices
from mobilend.app.collections.promises import file_complaint, review_complaint
from mobilend.domain.collections_conduct import ConductRule

pytestmark = pytest.mark.db


def logged(world, case_id: str):  # type: ignore[no-untyped-def]
    with world.desk.uow_factory() as uow:
        return uow.collections.contacts.for_case(case_id)


def test_a_t1_notice_at_23_00_borrower_time_is_refused_and_logged(db, clock, vault) -> None:  # type: ignore[no-untyped-def]
    world = build_world(db, clock, vault)
    on = overdue_loan(world, "loan-t1", "b-t1", dpd=1)
    sync_cases(world.desk, on)
    case = case_for_loan(world, "loan-t1")
    assert case.dpd == 1

    clock.set(at_local(on, 23, 0))
    summary = send_overdue_notices(world.desk, on)
    assert (summary.sent, summary.refused) == (0, 1)
    assert world.gateway.sent == []
    [refusal] = logged(world, case.case_id)
    assert not refusal.allowed and refusal.template == "overdue_reminder"
    assert refusal.rules == (ConductRule.CONTACT_HOURS.value,)
    assert refusal.actor == "system:strategy"

    # In the morning it goes, once: a second run the same day sends nothing more.
    clock.set(at_local(on, 10, 0))
    assert send_overdue_notices(world.desk, on).sent == 1
    again = send_overdue_notices(world.desk, on)
    assert (again.sent, again.skipped) == (0, 1)
    [sms] = world.gateway.sent
    assert sms.channel == "sms" and sms.recipient == "13800138000"
    assert "已逾期1天" in sms.body and "尾号" in sms.body


def test_a_complained_case_gets_no_t3_notice_until_the_complaint_is_reviewed(
    db, clock, vault
) -> None:  # type: ignore[no-untyped-def]
    world = build_world(db, clock, vault)
    on = overdue_loan(world, "loan-t3", "b-t3", dpd=3)
    sync_cases(world.desk, on)
    case = case_for_loan(world, "loan-t3")
    clock.set(at_local(on, 10, 0))
    complaint = file_complaint(
        world.desk, case.case_id, channel="hotline", summary="催收太频繁", actor="staff:cs-1"
    )
    summary = send_overdue_notices(world.desk, on)
    assert summary.sent == 0 and summary.refused == 2  # push and SMS, both refused
    assert world.gateway.sent == []
    refusals = [c for c in logged(world, case.case_id) if not c.allowed]
    assert len(refusals) == 2
    assert all(ConductRule.CASE_PAUSED.value in c.rules for c in refusals)

    review_complaint(
        world.desk, complaint.complaint_id, upheld=False, resolution="已解释", reviewer="staff:m-1"
    )
    clock.set(at_local(on, 11, 0))
    assert send_overdue_notices(world.desk, on).sent == 1  # SMS; no push token on file
    assert [m.channel for m in world.gateway.sent] == ["sms"]


def test_the_t7_notice_is_the_credit_reporting_notice_and_other_days_get_none(
    db: sa.Engine, clock, vault
) -> None:  # type: ignore[no-untyped-def]
    world = build_world(db, clock, vault)
    on = overdue_loan(world, "loan-t7", "b-t7", dpd=7)
    overdue_loan(world, "loan-t5", "b-t5", dpd=5, phone="13800138005")
    sync_cases(world.desk, on)
    clock.set(at_local(on + dt.timedelta(days=0), 10, 0))
    summary = send_overdue_notices(world.desk, on)
    assert summary.sent == 1
    [sms] = world.gateway.sent
    assert sms.recipient == "13800138000"
    assert "已逾期7天" in sms.body and "金融信用信息基础数据库" in sms.body
    assert logged(world, case_for_loan(world, "loan-t5").case_id) == []
