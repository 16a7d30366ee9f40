"""A collections day, in order: cases follow the loans aged by end of day; promises,
plans and offers are reviewed; eligible write-offs are proposed for a manager; unassigned
cases are dealt out; the strategy's reminders go out through the conduct gate. What the
job queue runs after end of day closes, and what ``mobilend collections run`` runs."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

from mobilend.app.collections.cases import (
    AssignmentSummary,
    CaseSyncSummary,
    StrategySummary,
    assign_cases,
    run_strategy,
    sync_cases,
)
from mobilend.app.collections.desk import CollectionsDesk
from mobilend.app.collections.notices import send_overdue_notices
from mobilend.app.collections.promises import PromiseReview, review_promises
from mobilend.app.collections.resolutions import (
    ResolutionReview,
    propose_write_offs,
    review_resolutions,
)


def send_reminders(desk: CollectionsDesk, on: dt.date) -> StrategySummary:
    """The morning's messages: the strategy's reminders, the T+n overdue notices and the
    reminders of promises due tomorrow."""
    messages = _messages(desk, on)
    reminded = review_promises(desk, on).reminded
    return dataclasses.replace(messages, sent=messages.sent + reminded)


def _messages(desk: CollectionsDesk, on: dt.date) -> StrategySummary:
    strategy = run_strategy(desk, on)
    notices = send_overdue_notices(desk, on)
    return StrategySummary(
        strategy.sent + notices.sent,
        strategy.refused + notices.refused,
        strategy.failed + notices.failed,
    )


@dataclass(frozen=True, slots=True)
class CollectionsDay:
    business_date: dt.date
    cases: CaseSyncSummary
    promises: PromiseReview
    resolutions: ResolutionReview
    write_offs_proposed: int
    assignment: AssignmentSummary
    strategy: StrategySummary


def run_collections_day(
    desk: CollectionsDesk, on: dt.date, *, send_messages: bool = True
) -> CollectionsDay:
    cases = sync_cases(desk, on)
    # Reminders of promises due tomorrow go with the strategy's messages, in daytime.
    promises = review_promises(desk, on, remind=send_messages)
    resolutions = review_resolutions(desk, on)
    proposed = propose_write_offs(desk, on)
    assignment = assign_cases(desk)
    strategy = _messages(desk, on) if send_messages else StrategySummary()
    return CollectionsDay(on, cases, promises, resolutions, proposed, assignment, strategy)
