"""Use case: post what partner funders are owed out of each day's collections.

Money borrowers pay on a partner-funded loan is split between its funders exactly, by
share and component (``domain.funding.split_collection``); fees owed to third parties
(an insurer) are left out first — they are no funder's. For each partner's part one
``funder_share`` entry moves it to ``funder_payable:<funder>`` until it is remitted:

- principal: Dr the funder's cash account (its money, lent through the platform, is
  coming back) / Cr funder payable;
- its interest, fees and penalty: Dr the lender's income / Cr funder payable (that part
  was never the lender's income).

The own pool's part stays where it is. Postings carry no loan id (they are between the
lender and its funders, not part of the loan's balances); the entry names the loan.
One entry per loan, day and funder (its id says which), so running a day twice posts
nothing more.
"""

from __future__ import annotations

import datetime as dt

from mobilend.app.unit_of_work import UnitOfWorkFactory
from mobilend.domain.funders import OWN_POOL
from mobilend.domain.funding import Tranche, split_collection
from mobilend.domain.ledger import (
    Account,
    ComponentAmounts,
    EntryKind,
    JournalEntry,
    Posting,
    account_key,
)
from mobilend.domain.loans_fees import lenders_fees


def share_entry_id(loan_id: str, day: dt.date, funder_code: str) -> str:
    return f"fs-{loan_id}-{day:%Y%m%d}-{funder_code}"


def _share_entry(
    loan_id: str, day: dt.date, tranche: Tranche, take: ComponentAmounts
) -> JournalEntry | None:
    party = tranche.funder_code
    postings = [
        Posting(account, amount, None, party)
        for account, amount in (
            (tranche.cash_account, take.principal),
            (Account.INTEREST_INCOME.value, take.interest),
            (Account.FEE_INCOME.value, take.fees),
            (Account.PENALTY_INCOME.value, take.penalty),
        )
        if amount.is_positive()
    ]
    if not postings:
        return None
    payable = account_key(Account.FUNDER_PAYABLE, party)
    postings.append(Posting(payable, -take.total, None, party))
    return JournalEntry(
        share_entry_id(loan_id, day, party),
        EntryKind.FUNDER_SHARE,
        day,
        tuple(postings),
        loan_id,
        None,
        f"{party}'s share of collections on loan {loan_id}",
    )


def post_funder_shares(uow_factory: UnitOfWorkFactory, day: dt.date) -> int:
    """Post the partners' shares of ``day``'s collections; returns how many entries."""
    posted = 0
    with uow_factory() as uow:
        lines = uow.funding.ledger_queries.collections(day, day)
        tranches = uow.funding.tranches.for_loans(sorted({line.loan_id for line in lines}))
        for line in lines:
            parts = tranches.get(line.loan_id) or []
            partners = [t for t in parts if t.funder_code != OWN_POOL]
            if not partners:
                continue
            loan = uow.lending.loans.get(line.loan_id)
            collected = line.collected
            shared = ComponentAmounts(
                collected.principal,
                collected.interest,
                lenders_fees(loan.terms, collected.fees),
                collected.penalty,
            )
            takes = {t.funder_code: t for t in split_collection(shared, parts)}
            entries = []
            for tranche in partners:
                take = takes[tranche.funder_code]
                amounts = ComponentAmounts(take.principal, take.interest, take.fees, take.penalty)
                entry = _share_entry(line.loan_id, line.business_date, tranche, amounts)
                if entry is None or uow.funding.ledger_queries.has_entry(entry.entry_id):
                    continue
                entries.append(entry)
            if entries:
                uow.lending.ledger.append(entries, loan.borrower_id)
                posted += len(entries)
        uow.commit()
    return posted
