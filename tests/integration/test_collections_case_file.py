"""The legal case file: a PDF opened with pypdf whose text carries the case, the borrower
(in Chinese), the schedule, the ledger statement, the payments and the contact history."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import sqlalchemy as sa
from pypdf import PdfReader
from tests.integration.collections_fixtures import (
    add_team,
    at_local,
    build_world,
    case_for_loan,
    overdue_loan,
    set_case,
)
from tests.integration.servicing_fixtures import *  # noqa: F403  (fixtures)

from mobilend.app.collections.cases import sync_cases
from mobilend.app.collections.gate import ContactRequest
from mobilend.app.collections.legal import escalate_to_legal, render_case_file
from mobilend.app.collections.promises import make_promise
from mobilend.app.lending.repayments import post_repayment
from mobilend.domain.collections import Placement
from mobilend.domain.collections_conduct import Channel
from mobilend.domain.errors import Conflict
from mobilend.domain.money import Money

pytestmark = pytest.mark.db


def test_the_case_file_pdf_holds_the_case_in_chinese_and_english(
    db: sa.Engine, clock, vault
) -> None:  # type: ignore[no-untyped-def]
    world = build_world(db, clock, vault)
    on = overdue_loan(world, "loan-legal-1", "b-1", dpd=70)
    post_repayment(
        world.wired.lending.uow_factory, world.wired.lending.new_id, loan_id="loan-legal-1",
        amount=Money("123.45"), on=on, idempotency_key="p-1", channel="transfer",
    )  # fmt: skip
    sync_cases(world.desk, on)
    case = case_for_loan(world, "loan-legal-1")
    add_team(world, [("agent-1", "lender")])
    set_case(world, case.case_id, placement=Placement.AGENT, agent_id="agent-1")
    clock.set(at_local(on, 10))
    call = world.desk.gate.contact(
        ContactRequest(case.case_id, "staff:agent-1", Channel.CALL, "call_script")
    )
    make_promise(
        world.desk, case.case_id, amount=Money("800.00"), due_on=on + dt.timedelta(days=3),
        on=on, actor="staff:agent-1",
    )  # fmt: skip
    with pytest.raises(Conflict):
        render_case_file(world.desk, case.case_id, on=on)  # not in legal action yet
    escalate_to_legal(world.desk, case.case_id, actor="staff:mgr", on=on)
    pdf = render_case_file(world.desk, case.case_id, on=on)
    assert pdf.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(pdf))
    text = "\n".join(page.extract_text() for page in reader.pages)
    flat = text.replace("\n", "")  # long ids wrap inside table cells
    for expected in (
        "催收案件材料 Collection case file",
        case.case_id,
        "loan-legal-1",
        "王小明",  # the borrower's name, in Chinese
        "138****8000",
        "还款计划 Schedule",
        "账务明细 Ledger statement",
        "disbursement",
        "123.45",  # the payment
        "联系记录 Contact history",
        call.recording_ref,
        "承诺还款 Promises to pay",
        "800.00",
    ):
        assert expected in flat, expected
    assert "13800138000" not in text  # the phone only masked
