"""The collection scripts and messages (话术模板). Only approved ones leave the gate; each
names the channels and parties it is approved for.

They are records (``collection_templates``): the gate reads the live (approved) version
of a code with ``live_template``; new versions are proposed and approved with four eyes
(``app.collections.template_admin``). ``CATALOGUE`` below is the shipped set that
migration 0015 seeded the records with; ``approved_templates()`` returns it, checked (it
refuses a catalogue in which any template breaks the conduct rules itself) — what a
fresh database starts from, not necessarily what is live now (``live_templates``).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

from mobilend.app.unit_of_work import UnitOfWork
from mobilend.domain.collections_conduct import (
    Channel,
    ConductPolicy,
    ContactTemplate,
    Party,
    template_problems,
)
from mobilend.domain.errors import ValidationFailed

_B = frozenset({Party.BORROWER})
_MSG = frozenset({Channel.SMS, Channel.PUSH})

CATALOGUE: tuple[ContactTemplate, ...] = (
    ContactTemplate(
        "overdue_reminder", "2026.1", _MSG, _B,
        "【移动贷】{name}您好，您的借款（尾号{loan_ref}）已逾期{dpd}天，应还{amount}元。"
        "请在App内还款；如有困难，请致电{callback}协商还款方案。",
        "[mobilend] Dear {name}, your loan ending {loan_ref} is {dpd} days past due; "
        "{amount} CNY is owed. Please repay in the app, or call {callback} to agree a plan.",
    ),
    ContactTemplate(
        "promise_reminder", "2026.1", _MSG, _B,
        "【移动贷】{name}您好，您承诺于{due_on}还款{promised}元（借款尾号{loan_ref}），"
        "请按时在App内还款。如有变化，请致电{callback}。",
        "[mobilend] Dear {name}, you agreed to pay {promised} CNY on {due_on} (loan ending "
        "{loan_ref}). Please pay in the app; if anything changed, call {callback}.",
    ),
    ContactTemplate(
        "settlement_offer", "2026.1", _MSG, _B,
        "【移动贷】{name}您好，经协商，您的借款（尾号{loan_ref}）可按{amount}元结清，"
        "请于{valid_until}前在App内还款。详情请致电{callback}。",
        "[mobilend] Dear {name}, as agreed, your loan ending {loan_ref} can be settled for "
        "{amount} CNY if paid in the app by {valid_until}. Questions: {callback}.",
    ),
    ContactTemplate(
        "hardship_plan", "2026.1", _MSG, _B,
        "【移动贷】{name}您好，您的还款计划已生效（借款尾号{loan_ref}）：下一期{next_due}应还"
        "{next_amount}元。如需调整，请致电{callback}。",
        "[mobilend] Dear {name}, your repayment plan is in force (loan ending {loan_ref}): "
        "{next_amount} CNY is due on {next_due}. To change it, call {callback}.",
    ),
    ContactTemplate(
        "legal_notice", "2026.1", frozenset({Channel.SMS}), _B,
        "【移动贷】{name}您好，您的借款（尾号{loan_ref}）已逾期{dpd}天，应还{amount}元。"
        "我司将依据借款合同依法处理，您仍可致电{callback}协商还款。",
        "[mobilend] Dear {name}, your loan ending {loan_ref} is {dpd} days past due with "
        "{amount} CNY owed. We will pursue it under the loan contract and the law; you can "
        "still call {callback} to agree a repayment.",
    ),
    ContactTemplate(
        "credit_report_notice", "2026.1", frozenset({Channel.SMS}), _B,
        "【移动贷】{name}您好，您的借款（尾号{loan_ref}）已逾期{dpd}天，应还{amount}元。根据借款合同约定，"
        "逾期期间按日计收罚息，逾期信息将依法报送金融信用信息基础数据库。请尽快在App内还款；"
        "如有困难，请致电{callback}协商。",
        "[mobilend] Dear {name}, your loan ending {loan_ref} is {dpd} days past due with "
        "{amount} CNY owed. Under the loan contract penalty interest accrues daily and the "
        "arrears will be reported to the credit reference centre as the law requires. Please "
        "repay in the app, or call {callback} to agree a plan.",
    ),
    ContactTemplate(
        "agent_message", "2026.1", frozenset({Channel.SMS}), _B,
        "【移动贷】{name}您好，{note}（借款尾号{loan_ref}，客服电话{callback}）",
        "[mobilend] Dear {name}, {note} (loan ending {loan_ref}; call {callback})",
        free_text=frozenset({"note"}),
    ),
    ContactTemplate(
        "call_script", "2026.1", frozenset({Channel.CALL}), _B,
        "您好，请问是{name}本人吗？我是移动贷客服中心工号{agent_ref}，本次通话将被录音。"
        "您的借款（尾号{loan_ref}）已逾期{dpd}天，应还{amount}元，请问您何时方便还款？",
        "Hello, am I speaking with {name}? This is mobilend customer service, agent "
        "{agent_ref}; this call is recorded. Your loan ending {loan_ref} is {dpd} days past "
        "due with {amount} CNY owed. When could you repay?",
    ),
    ContactTemplate(
        "visit_script", "2026.1", frozenset({Channel.VISIT}), _B,
        "上门人员出示工作证与授权书，仅与{name}本人沟通借款（尾号{loan_ref}）还款事宜，"
        "不得进入住所、不得滞留、不得向他人透露债务信息。",
        "The visitor shows their staff card and mandate, speaks only with {name} about the "
        "loan ending {loan_ref}, does not enter or stay, and tells no one else of the debt.",
    ),
    ContactTemplate(
        "callback_request", "2026.1", frozenset({Channel.CALL, Channel.SMS}),
        frozenset({Party.CONTACT_PERSON}),
        "您好，这里是移动贷客服中心，有事需联系{name}，麻烦您转告其回电{callback}，谢谢。{message}",
        "Hello, this is mobilend customer service. Please ask {name} to call us back on "
        "{callback}. Thank you. {message}",
        free_text=frozenset({"message"}),
    ),
)  # fmt: skip


@cache
def approved_templates(policy: ConductPolicy | None = None) -> Mapping[str, ContactTemplate]:
    """The shipped catalogue by code, each template checked against the conduct rules."""
    policy = policy or ConductPolicy()
    problems = [p for t in CATALOGUE for p in template_problems(t, policy)]
    if problems:
        raise ValidationFailed(problems, "a collection template breaks the conduct rules")
    return {t.code: t for t in CATALOGUE}


def live_templates(uow: UnitOfWork) -> Mapping[str, ContactTemplate]:
    """Every approved (live) template by code."""
    return {r.code: r.template for r in uow.collections.templates.listing("approved")}


def live_template(uow: UnitOfWork, code: str) -> ContactTemplate | None:
    """The approved version of ``code``, or None (the gate then refuses the contact)."""
    record = uow.collections.templates.live(code)
    return record.template if record is not None else None
