"""The overdue notices (T+1, T+3, T+7) every open case gets, whatever its strategy — the
reminders servicing used to send through its own sender. They leave through the conduct
gate, so contact hours in the borrower's time, the approved templates and their
banned-words check, the daily message cap and a complaint's pause apply to them as to
every other contact; a refusal is logged with its rule. Sent once per case and step: a
case that already received the step's template today is skipped (the job may run twice,
and the strategy's own reminder may have gone the same day).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from mobilend.app.collections.desk import CollectionsDesk
from mobilend.app.collections.gate import STRATEGY_ACTOR, ContactRequest
from mobilend.domain.collections_conduct import ConductRefused


@dataclass(frozen=True, slots=True)
class NoticeSummary:
    sent: int = 0
    refused: int = 0
    failed: int = 0
    skipped: int = 0  # sent already


def send_overdue_notices(desk: CollectionsDesk, on: dt.date, *, batch: int = 500) -> NoticeSummary:
    """Send the day's T+n notices to every open case at exactly n days past due."""
    plan = {n.dpd: n for n in desk.settings.overdue_notices}
    sent = refused = failed = skipped = 0
    after = ""
    while True:
        with desk.uow_factory() as uow:
            due = uow.collections.cases.at_dpd(sorted(plan), batch, after)
            # Channels on which a step's template already left for a case today (the
            # strategy's own reminder counts: the borrower gets one, not two).
            already = uow.collections.contacts.sent_on([c.case_id for c in due], on)
        for case in due:
            notice = plan[case.dpd]
            for channel in notice.channels:
                if (case.case_id, notice.template, channel.value) in already:
                    skipped += 1
                    continue
                try:
                    record = desk.gate.contact(
                        ContactRequest(
                            case.case_id, STRATEGY_ACTOR, channel, notice.template,
                            note=f"{notice.name} overdue notice",
                        )
                    )  # fmt: skip
                except ConductRefused:
                    refused += 1
                    continue
                if record.outcome == "sent":
                    sent += 1
                else:
                    failed += 1
        if len(due) < batch:
            return NoticeSummary(sent, refused, failed, skipped)
        after = due[-1].case_id
