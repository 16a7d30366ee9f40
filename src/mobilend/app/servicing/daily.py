"""What follows end of day for a business date, once every loan has been aged.

After end of day ``D`` the loans stand as of the end of ``D``; the steps here prepare
the next calendar day, ``D + 1``, on which the messages and debits leave:

1. behaviour scores for every active loan (set-based), flagging roll risk;
2. money still held on loans that closed is refunded (when the policy says so);
3. the reminder plan for ``D + 1`` (T-3, T-1, due day, after due) is queued;
4. the auto-debits for ``D + 1`` (due day and the retry plan) are planned.

Each step is idempotent, so closing a date twice queues nothing twice. Sending (messages,
debits, refunds) is separate work (``send_due_messages``, ``submit_debits``,
``send_refunds``) that the job queue runs after the close and on its own schedule, so a
failing gateway never holds up end of day.
"""

from __future__ import annotations

import datetime as dt
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
    desk: ServicingDesk, business_date: dt.date, partition: int = 0, partitions: int = 1
) -> int:
    """Behaviour scores of the active loans (of one partition); returns how many are
    flagged roll risk."""
    with desk.uow_factory() as uow:
        flagged = uow.servicing.scores.compute(
            business_date, desk.settings.early_warning, partition, partitions
        )
        uow.commit()
    return flagged


def close_business_date(
    desk: ServicingDesk, business_date: dt.date, *, scores: bool = True
) -> DayClose:
    """Run the steps after end of day ``business_date`` (``scores=False`` when the
    partitions already scored their loans)."""
    flagged = score_loans(desk, business_date) if scores else 0
    refunds = (
        refund_closed_loans(desk, business_date, send=False)
        if desk.settings.refund_credit_on_close
        else 0
    )
    service_day = business_date + ONE_DAY
    reminders = plan_reminders(desk, service_day)
    debits = plan_debits(desk, service_day)
    return DayClose(business_date, flagged, refunds, reminders, debits)
