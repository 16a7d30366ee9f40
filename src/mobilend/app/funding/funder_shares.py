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
What was posted for a loan, day and funder is compared with what it is owed now, and
only the difference is posted: running a day twice posts nothing more, and a payment
that bounces after its day was posted gives its share back (the reversal runs the
loan's day again, in its own transaction).
"""

from __future__ import annotations

import datetime as dt
import hashlib

from mobilend.app.unit_of_work import UnitOfWork, UnitOfWorkFactory
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


def _share_entry(
    loan_id: str, day: dt.date, tranche: Tranche, change: ComponentAmounts
) -> JournalEntry | None:
    """The entry moving ``change`` (signed: a bounced payment's share comes back) of the
    loan's collections on ``day`` to the funder; None when nothing changes."""
    party = tranche.funder_code
    postings = [
        Posting(account, amount, None, party)
        for account, amount in (
            (tranche.cash_account, change.principal),
            (Account.INTEREST_INCOME.value, change.interest),
            (Account.FEE_INCOME.value, change.fees),
            (Account.PENALTY_INCOME.value, change.penalty),
        )
        if not amount.is_zero()
    ]
    if not postings:
        return None
    total = change.total
    if not total.is_zero():
        postings.append(Posting(account_key(Account.FUNDER_PAYABLE, party), -total, None, party))
    if len(postings) < 2:
        return None
    digest = hashlib.sha256(
        "|".join(f"{p.account}={p.amount.to_minor()}" for p in postings).encode()
    ).hexdigest()[:12]
    return JournalEntry(
        f"fs-{loan_id}-{day:%Y%m%d}-{party}-{digest}",
        EntryKind.FUNDER_SHARE,
        day,
        tuple(postings),
        loan_id,
        None,
        f"{party}'s share of collections on loan {loan_id}",
    )


def post_funder_shares_in(uow: UnitOfWork, day: dt.date, loan_ids: set[str] | None = None) -> int:
    """Bring the partners' posted shares of ``day``'s collections to what they are owed
    (of the listed loans, or all); returns how many entries it posted."""
    queries = uow.funding.ledger_queries
    lines = [
        line
        for line in queries.collections(day, day)
        if loan_ids is None or line.loan_id in loan_ids
    ]
    posted_before = queries.shares_posted(day)
    wanted = {line.loan_id for line in lines} | {
        loan_id for loan_id, _ in posted_before if loan_ids is None or loan_id in loan_ids
    }
    tranches = uow.funding.tranches.for_loans(sorted(wanted))
    collected = {line.loan_id: line for line in lines}
    changes: list[tuple[str, list[JournalEntry]]] = []
    for loan_id in sorted(wanted):
        parts = tranches.get(loan_id) or []
        partners = [t for t in parts if t.funder_code != OWN_POOL]
        if not partners:
            continue
        line = collected.get(loan_id)
        borrower_id = line.borrower_id if line is not None else None
        c = line.collected if line is not None else None
        # The loan itself only where its terms weigh (fees, split by payee) or the
        # collections do not name its borrower (a bounced payment's day run again).
        loan = None
        if borrower_id is None or (c is not None and c.fees.is_positive()):
            loan = uow.lending.loans.get(loan_id)
            borrower_id = loan.borrower_id
        zero = ComponentAmounts.zero(parts[0].principal.currency)
        takes: dict[str, ComponentAmounts] = {}
        if c is not None and c.total.is_positive():
            fees = lenders_fees(loan.terms, c.fees) if loan is not None else c.fees
            shared = ComponentAmounts(c.principal, c.interest, fees, c.penalty)
            for take in split_collection(shared, parts):
                takes[take.funder_code] = ComponentAmounts(
                    take.principal, take.interest, take.fees, take.penalty
                )
        entries = []
        for tranche in partners:
            owed = takes.get(tranche.funder_code, zero)
            already = posted_before.get((loan_id, tranche.funder_code), zero)
            change = ComponentAmounts(
                owed.principal - already.principal,
                owed.interest - already.interest,
                owed.fees - already.fees,
                owed.penalty - already.penalty,
            )
            entry = _share_entry(loan_id, day, tranche, change)
            if entry is not None:
                entries.append(entry)
        if entries:
            changes.append((borrower_id, entries))
    # Entry ids name the change, so one already posted is this very change: left out.
    done = queries.posted([e.entry_id for _, entries in changes for e in entries])
    posted = 0
    for borrower_id, entries in changes:
        new = [e for e in entries if e.entry_id not in done]
        if new:
            uow.lending.ledger.append(new, borrower_id)
            posted += len(new)
    return posted


def post_funder_shares(uow_factory: UnitOfWorkFactory, day: dt.date) -> int:
    """Post the partners' shares of ``day``'s collections (once: a second run posts
    nothing); returns how many entries."""
    with uow_factory() as uow:
        posted = post_funder_shares_in(uow, day)
        uow.commit()
    return posted
