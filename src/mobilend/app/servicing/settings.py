"""Servicing policy as data: the reminder plan, quiet hours, the daily cap, the auto-debit
retry plan, message retries and the behaviour-score weights. Defaults are what a Chinese
consumer lender would start from; every figure can be changed per deployment."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from mobilend.domain.errors import Problem, ValidationFailed

DEFAULT_TIME_ZONE = "Asia/Shanghai"

#: Money the rail has taken from borrowers' cards and not yet paid into the lender's
#: bank account (``collection_settlement`` moves it there from the rail's statement).
COLLECTIONS_IN_TRANSIT = "cash:rail:collections_in_transit"
#: Where the rail pays collected money (and where bank transfers land).
COLLECTIONS_BANK = "cash:bank:collection"


@dataclass(frozen=True, slots=True)
class ReminderStep:
    """One step of the reminder plan: ``offset`` days from the due date (-3 = T-3,
    0 = due day, 2 = two days after), the template, the channels and the message kind
    (``service`` reminders count against the daily cap; ``legal`` notices do not)."""

    offset: int
    template: str
    channels: tuple[str, ...] = ("push", "sms")
    kind: str = "service"

    def __post_init__(self) -> None:
        if self.offset > 0:
            raise ValidationFailed(
                [
                    Problem(
                        "reminder_plan",
                        "逾期提醒属于催收，须经催收行为闸门发送 (a reminder after the due date is "
                        "collection contact: it goes through the collections conduct gate)",
                    )
                ]
            )

    @property
    def name(self) -> str:
        return f"T{self.offset:+d}" if self.offset else "T0"


#: Before the due date only: the overdue notices (T+1, T+3, T+7) are collection contact and
#: leave through the collections conduct gate (``app.collections.notices``).
DEFAULT_REMINDER_PLAN: tuple[ReminderStep, ...] = (
    ReminderStep(-3, "reminder_before_due", ("push",)),
    ReminderStep(-1, "reminder_before_due", ("push", "sms")),
    ReminderStep(0, "reminder_due_today", ("push", "sms")),
)


@dataclass(frozen=True, slots=True)
class QuietHours:
    """No message leaves between ``start`` and ``end`` local time (the window may wrap
    midnight, as the default 21:00–08:00 does)."""

    start: dt.time = dt.time(21, 0)
    end: dt.time = dt.time(8, 0)

    def contains(self, local: dt.time) -> bool:
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


@dataclass(frozen=True, slots=True)
class MessagingSettings:
    reminder_plan: tuple[ReminderStep, ...] = DEFAULT_REMINDER_PLAN
    quiet_hours: QuietHours = field(default_factory=QuietHours)
    #: Reminders are planned for this local time of the business date (never earlier).
    send_from: dt.time = dt.time(9, 0)
    #: Service and marketing messages per borrower per local day (legal notices exempt).
    daily_cap: int = 3
    #: A message the gateway keeps refusing is dead-lettered after this many attempts.
    max_attempts: int = 5
    #: Pause before retry n is ``retry_base × 4^(n-1)``, capped at ``retry_max``.
    retry_base: dt.timedelta = dt.timedelta(minutes=1)
    retry_max: dt.timedelta = dt.timedelta(hours=2)
    default_time_zone: str = DEFAULT_TIME_ZONE

    def retry_pause(self, attempts: int) -> dt.timedelta:
        pause: dt.timedelta = self.retry_base * (4 ** max(attempts - 1, 0))
        return min(pause, self.retry_max)


#: Failures after which trying the same card again is pointless until the borrower acts.
PERMANENT_DEBIT_FAILURES = frozenset({"card_expired", "invalid_card", "card_restricted"})


@dataclass(frozen=True, slots=True)
class AutoDebitSettings:
    #: Days after the oldest unpaid due date on which the card is debited (D0, D+1, D+3).
    plan_days: tuple[int, ...] = (0, 1, 3)
    #: Nothing is debited below this amount (fen).
    minimum_fen: int = 100


@dataclass(frozen=True, slots=True)
class EarlyWarningWeights:
    """Points per unit of each behaviour signal (each signal capped); a score of 0–1000,
    higher is riskier. ``threshold`` and ``horizon_days`` define the roll-risk flag: a
    loan is flagged when its score reaches the threshold and it would enter the next
    bucket within the horizon if nothing is paid."""

    per_dpd: int = 6
    dpd_cap: int = 90
    per_max_dpd: int = 2
    max_dpd_cap: int = 90
    per_late_installment: int = 40
    late_installments_cap: int = 6
    per_avg_day_late: int = 5
    avg_days_late_cap: int = 30
    per_partial_installment: int = 60
    partial_installments_cap: int = 3
    per_failed_debit: int = 50
    failed_debits_cap: int = 5
    per_bureau_event: int = 80
    bureau_events_cap: int = 5
    #: Failed debits and bureau events count over this many days up to the business date.
    lookback_days: int = 90
    threshold: int = 300
    horizon_days: int = 7
    #: Band upper bounds (exclusive) for A, B, C, D; E above.
    bands: tuple[int, int, int, int] = (200, 400, 600, 800)


@dataclass(frozen=True, slots=True)
class ServicingSettings:
    messaging: MessagingSettings = field(default_factory=MessagingSettings)
    autodebit: AutoDebitSettings = field(default_factory=AutoDebitSettings)
    early_warning: EarlyWarningWeights = field(default_factory=EarlyWarningWeights)
    #: Money still held for a borrower when a loan closes is paid back (else kept as credit
    #: until the borrower or an operator asks for it).
    refund_credit_on_close: bool = True
    #: Where bank transfers land, and the cash account a refund leaves from.
    transfer_cash_account: str = "cash:bank:collection"
    refund_cash_account: str = "cash:rail:refunds"
    #: A refund above this (fen) waits for an operator's approval before any money moves.
    refund_approval_above_fen: int = 50_000
