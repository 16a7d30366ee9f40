"""What follows end of day for a business date, once the loans have been aged.

After end of day ``D`` the loans stand as of the end of ``D``; the steps here prepare
the next calendar day, ``D + 1``, on which the messages and debits leave. Per loan (so a
partition of the loans can do its share as soon as it is aged):

1. behaviour scores (set-based), flagging roll risk;
2. the reminder plan for ``D + 1`` (T-3, T-1, due day, after due) is queued;
3. the auto-debits for ``D + 1`` (due day and the retry plan) are planned;

and once for the date: money still held on loans that closed is refunded (when the
policy says so).

Each step is idempotent, so closing a date twice queues nothing twice. Sending (messages,
debits, refunds) is separate work (``send_due_messages``, ``submit_debits``,
``send_refunds``) that the job queue runs after the close and on its own schedule, so a
failing gateway never holds up end of day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from mobilend.app.servicing.autodebit import plan_debits
from mobilend.app.servicing.desk import ServicingDesk
from mobilend.app.servicing.notifications import plan_reminders
from mobilend.app.servicing.payments import refund_closed_loans

ONE_DAY = dt.timedelta(days=1)


@dataclass(frozen=True, slots=True)
class DayClose:
    business_date: dt.date
    roll_risk: int
    refunds: int
    reminders: int
    debits: int

    def to_state(self) -> dict[str, int | str]:
        return {
            "business_date": self.business_date.isoformat(),
            "roll_risk": self.roll_risk,
            "refunds": self.refunds,
            "reminders": self.reminders,
            "debits": self.debits,
        }


def score_loans(
    desk: ServicingDesk,
    business_date: dt.date,
    partition: int = 0,
    partitions: int = 1,
    only: Sequence[str] | None = None,
) -> int:
    """Behaviour scores of the active loans (of one partition, or ``only`` those of it);
    returns how many of them are flagged roll risk."""
    with desk.uow_factory() as uow:
        flagged = uow.servicing.scores.compute(
            business_date, desk.settings.early_warning, partition, partitions, only
        )
        uow.commit()
    return flagged


@dataclass(frozen=True, slots=True)
class ScoredByEndOfDay:
    """What end of day already scored as it aged a partition (its loans on the business
    date): the loans it left to score, and how many it flagged."""

    left_to_score: Sequence[str]
    flagged: int


def prepare_next_day(
    desk: ServicingDesk,
    business_date: dt.date,
    partition: int = 0,
    partitions: int = 1,
    scored: ScoredByEndOfDay | None = None,
) -> dict[str, int]:
    """Steps 1–3 for the loans of one partition: scores (only those end of day left, when
    it ``scored`` the others), reminders and debits."""
    service_day = business_date + ONE_DAY
    if scored is None:
        flagged = score_loans(desk, business_date, partition, partitions)
    else:
        left = score_loans(desk, business_date, partition, partitions, scored.left_to_score)
        flagged = scored.flagged + left
    return {
        "roll_risk": flagged,
        "reminders": plan_reminders(desk, service_day, partition, partitions),
        "debits": plan_debits(desk, service_day, partition, partitions),
    }


def close_business_date(
    desk: ServicingDesk, business_date: dt.date, *, prepared: dict[str, int] | None = None
) -> DayClose:
    """Run the steps after end of day ``business_date``; ``prepared`` gives the counts
    when the partitions already did steps 1–3 (else they are done here for every loan)."""
    counts = prepared if prepared is not None else prepare_next_day(desk, business_date)
    refunds = (
        refund_closed_loans(desk, business_date, send=False)
        if desk.settings.refund_credit_on_close
        else 0
    )
    with desk.uow_factory() as uow:
        flagged = uow.servicing.scores.count_roll_risk()
    return DayClose(
        business_date,
        flagged,
        refunds,
        counts.get("reminders", 0),
        counts.get("debits", 0),
    )
