"""Use cases: legal escalation and the case file (案件材料) a lawyer or court receives —
the contract as signed, the schedule, the ledger statement, the payment history and the
contact history, rendered as a PDF by an adapter (``CaseFileRenderer``)."""

from __future__ import annotations

import dataclasses
import datetime as dt

from mobilend.app.collections.desk import CollectionsDesk
from mobilend.app.collections.ports import CaseFileData, CaseRecord
from mobilend.app.unit_of_work import UnitOfWork
from mobilend.domain.borrowers import mask_phone
from mobilend.domain.collections import CaseStatus
from mobilend.domain.errors import Conflict
from mobilend.domain.ledger import loan_balances
from mobilend.domain.money import Money

CASE_FILE_CONTACTS = 200


def escalate_to_legal(
    desk: CollectionsDesk, case_id: str, *, actor: str, on: dt.date
) -> CaseRecord:
    """Move a case to legal action; its file can then be produced."""
    with desk.uow_factory() as uow:
        case = uow.collections.cases.get(case_id, for_update=True)
        if case.status not in (CaseStatus.OPEN, CaseStatus.LEGAL):
            raise Conflict(
                f"案件状态为{case.status.value}，不能转法务 (case is {case.status.value})"
            )
        escalated = dataclasses.replace(
            case, status=CaseStatus.LEGAL, next_action_on=on, version=case.version + 1
        )
        uow.collections.cases.save(escalated)
        uow.commit()
    return escalated


def _fen(amount: Money) -> str:
    return amount.format()


def case_file_data(
    uow: UnitOfWork, case_id: str, *, on: dt.date, borrower_name: str = "", id_masked: str = "",
    phone: str = "",
) -> CaseFileData:  # fmt: skip
    case = uow.collections.cases.get(case_id)
    loan = uow.lending.loans.get(case.loan_id)
    contract = uow.journey.contracts.by_loan(case.loan_id)
    terms = loan.terms
    summary = {
        "loan_id": loan.loan_id,
        "principal": _fen(terms.principal),
        "annual_rate": f"{terms.annual_rate * 100:.2f}%",
        "periods": str(terms.periods),
        "method": str(terms.method.value),
        "start_date": terms.start_date.isoformat(),
        "penalty_rate": f"{loan.rules.penalty_rate * 100:.2f}%",
        "contract_id": contract.contract_id if contract else "",
        "contract_sha256": contract.sha256 if contract else "",
        "signed_at": contract.signed_at.isoformat() if contract and contract.signed_at else "",
        "template_version": contract.template_version if contract else "",
    }
    schedule = [
        {
            "n": str(i.n),
            "due_date": i.due_date.isoformat(),
            "principal": _fen(i.principal_due),
            "interest": _fen(i.interest_scheduled),
            "fees": _fen(i.fees_due),
            "penalty": _fen(i.penalty),
            "paid": _fen(i.paid.total),
            "status": i.status_on(loan.accrued_through or on).value,
        }
        for i in loan.installments
    ]
    entries = uow.lending.ledger.entries_for_loan(loan.loan_id)
    ledger = [
        {
            "date": e.business_date.isoformat(),
            "entry": e.entry_id,
            "kind": e.kind.value,
            "account": p.account,
            "amount": _fen(p.amount),
            "memo": e.memo,
        }
        for e in entries
        for p in e.postings
        if p.loan_id == loan.loan_id
    ]
    payments = [
        {
            "date": r.received_on.isoformat(),
            "amount": _fen(r.amount),
            "channel": r.channel,
            "id": r.repayment_id,
        }
        for r in uow.lending.repayments.for_loan(loan.loan_id)
    ]
    balances = {str(k.value): _fen(v) for k, v in loan_balances(entries, loan.loan_id).items()}
    return CaseFileData(
        case=case,
        borrower_name=borrower_name,
        borrower_id_masked=id_masked,
        phone_masked=mask_phone(phone) if phone else "",
        contract=summary,
        contract_body=contract.body if contract else "",
        schedule=schedule,
        ledger=ledger,
        payments=payments,
        contacts=uow.collections.contacts.for_case(case_id, CASE_FILE_CONTACTS),
        promises=uow.collections.promises.for_case(case_id),
        generated_on=on,
        balances=balances,
    )


def render_case_file(desk: CollectionsDesk, case_id: str, *, on: dt.date) -> bytes:
    """The case file PDF of a case in legal action (or written off)."""
    if desk.case_files is None:
        raise Conflict("no case-file renderer is configured")
    borrower_name = id_masked = phone = ""
    with desk.uow_factory() as uow:
        borrower_id = uow.collections.cases.get(case_id).borrower_id
    if desk.identities is not None:
        who = desk.identities.identity(borrower_id)
        borrower_name, id_masked, phone = who.name, who.national_id_masked, who.phone
    with desk.uow_factory() as uow:
        case = uow.collections.cases.get(case_id)
        if case.status not in (CaseStatus.LEGAL, CaseStatus.WRITTEN_OFF):
            raise Conflict("先转法务再生成案件材料 (escalate the case to legal first)")
        data = case_file_data(
            uow, case_id, on=on, borrower_name=borrower_name, id_masked=id_masked, phone=phone
        )
    return desk.case_files.render(data)
