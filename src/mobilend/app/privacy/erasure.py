"""Erasure of a borrower's personal data (PIPL art. 47), once the law lets it go.

A request (the borrower's, or an operator's on their behalf) ends the relationship as
far as it can at once: the borrower's lines are closed, so nothing new is lent (loans
already drawn run on).
What the law requires is kept for its retention period after the relationship ends —
``settings.privacy_retention_years`` (anti-money-laundering law: five years) after the
later of the last loan settled and the request. Until then the
request waits; ``erase_due`` (a daily job, or ``mobilend privacy erase --due``) carries
out every request whose period has ended. While the borrower still owes, no date can be
set: the relationship has not ended.

Erasure follows the register: personal columns are emptied and personal rows deleted,
with nothing copied aside, so it cannot be undone; the ledger, loans, contracts and the
other records the law requires stay, keyed by the borrower id alone. The account is
closed, its national ID and phone free for a new account.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

from mobilend.app.privacy.ports import ErasureRequest, Relationship
from mobilend.app.unit_of_work import UnitOfWork
from mobilend.domain.errors import NotFound
from mobilend.domain.lines import LineStatus

Outcome = Literal["erased", "waiting", "owes", "already_erased"]


@dataclass(frozen=True, slots=True)
class ErasureResult:
    borrower_id: str
    outcome: Outcome
    #: When the retention period ends (or ended); None while the borrower owes.
    retention_ends_on: dt.date | None
    removed: dict[str, int] = field(default_factory=dict)

    @property
    def message(self) -> str:
        if self.outcome == "erased":
            return f"已删除个人信息 / personal data erased ({sum(self.removed.values())} rows)"
        if self.outcome == "already_erased":
            return "个人信息此前已删除 / personal data was erased before"
        if self.outcome == "owes":
            return "尚有未结清借款，依法保留 / loans still owed: kept as the law requires"
        return (
            f"依法保留至 {self.retention_ends_on} / kept as the law requires until "
            f"{self.retention_ends_on}"
        )


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def retention_ends_on(
    relationship: Relationship, requested_on: dt.date, years: int
) -> dt.date | None:
    """``years`` after the relationship ended — the last loan settled or the request,
    whichever came later; None while a loan is owed or a line can still be drawn."""
    if relationship.owes or relationship.usable_lines:
        return None
    ended = max(
        d
        for d in (relationship.registered_on, relationship.last_loan_closed_on, requested_on)
        if d is not None
    )
    return _add_years(ended, years)


def request_erasure_in(
    uow: UnitOfWork, borrower_id: str, *, now: dt.datetime, requested_by: str
) -> ErasureRequest:
    """Record the request (once) and close the borrower's unused lines."""
    if uow.onboarding.borrowers.get(borrower_id) is None:
        raise NotFound(f"borrower {borrower_id} not found")
    held = uow.privacy.erasures.request_of(borrower_id)
    if held is not None:
        return held
    request = ErasureRequest(borrower_id, now, requested_by)
    uow.privacy.erasures.add_request(request)
    for line in uow.lending.lines.for_borrower(borrower_id):
        if line.status in (LineStatus.ACTIVE, LineStatus.FROZEN):
            # No new draw; loans drawn on it run on and are repaid as agreed.
            locked = uow.lending.lines.get(line.line_id, for_update=True)
            locked.close()
            uow.lending.lines.save(locked)
    return request


def erase_if_due_in(
    uow: UnitOfWork, borrower_id: str, *, on: dt.date, now: dt.datetime, years: int
) -> ErasureResult:
    """Erase the borrower's personal data if the request's retention period has ended
    by ``on``; otherwise say until when it is kept."""
    erasures = uow.privacy.erasures
    request = erasures.request_of(borrower_id)
    relationship = erasures.relationship(borrower_id, on)
    if request is None or relationship is None:
        raise NotFound(f"no erasure request for borrower {borrower_id}")
    if request.erased_at is not None or relationship.erased:
        return ErasureResult(borrower_id, "already_erased", request.retention_ended_on)
    ends = retention_ends_on(relationship, request.requested_at.date(), years)
    if ends is None:
        return ErasureResult(borrower_id, "owes", None)
    if on < ends:
        return ErasureResult(borrower_id, "waiting", ends)
    removed = erasures.erase(borrower_id)
    erasures.mark_erased(borrower_id, now, ends, removed)
    return ErasureResult(borrower_id, "erased", ends, removed)


def erase_due_in(
    uow: UnitOfWork, *, on: dt.date, now: dt.datetime, years: int, limit: int = 500
) -> list[ErasureResult]:
    """Every pending request whose retention period has ended by ``on``, erased."""
    return [
        erase_if_due_in(uow, request.borrower_id, on=on, now=now, years=years)
        for request in uow.privacy.erasures.pending(limit)
    ]
