"""Reminders and notices by app push and SMS.

Texts are files (``templates/zh-CN.json``, ``templates/en.json``), rendered in the
borrower's language when the message leaves; messages carry amounts and loan numbers,
never personal data, and the phone number is decrypted only for the gateway call.

Rules every message obeys when it leaves:

- quiet hours (21:00–08:00 by default) in the borrower's time zone (Asia/Shanghai unless
  the borrower set another): a message due inside them waits for their end; whatever the
  setting, nothing leaves outside the collections conduct rules' contact hours
  (08:00–22:00 local), so no setting makes servicing louder than collections may be;
- nothing about a loan already past due: the overdue notices (T+1, T+3, T+7) are
  collection contact and leave only through the conduct gate (``app.collections.notices``);
  a pre-due reminder or a failed-debit notice still queued when its loan falls past due
  is suppressed (``past_due``); a receipt of payment still goes;
- a daily cap per borrower and local day on service and marketing messages (legal
  notices are exempt, since the law requires them); the slot is taken atomically, so
  concurrent senders cannot pass it; a message over the cap waits for the next day;
- marketing only with an active marketing consent (legal and service messages go to
  borrowers who opted out of marketing);
- a reminder whose installment was paid meanwhile is not sent;
- a gateway that fails is retried with growing pauses, then the message is dead-lettered
  for an operator; sending never blocks end of day (it runs as its own job).

Every message and every delivery receipt is stored.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

from mobilend.app.messaging import OutgoingMessage
from mobilend.app.servicing.desk import ServicingDesk
from mobilend.app.servicing.ports import Contact, MessageRecord, ReceiptRecord
from mobilend.app.servicing.settings import QuietHours
from mobilend.app.unit_of_work import UnitOfWork
from mobilend.domain.borrowers import mask_phone
from mobilend.domain.collections_conduct import ConductPolicy
from mobilend.domain.errors import NotFound
from mobilend.domain.money import Money

log = logging.getLogger(__name__)

LOCALES = ("zh-CN", "en")


# --------------------------------------------------------------------------- templates


@cache
def templates(locale: str) -> Mapping[str, Mapping[str, str]]:
    """The message texts of one language (``zh-CN`` or ``en``), from the template file."""
    text = resources.files(__package__).joinpath("templates", f"{locale}.json").read_text("utf-8")
    loaded: dict[str, dict[str, str]] = json.loads(text)
    return loaded


def normalise_locale(locale: str) -> str:
    return "en" if locale.lower().startswith("en") else "zh-CN"


def render(template: str, locale: str, params: Mapping[str, Any]) -> tuple[str, str]:
    """(title, body) of a message in ``locale`` from its stored values."""
    from mobilend.app.servicing.transfers import repayment_reference

    values: dict[str, Any] = dict(params)
    loan_id = str(values.get("loan_id", ""))
    values.setdefault("loan_ref", loan_id[-6:].upper())
    values.setdefault("reference", repayment_reference(loan_id) if loan_id else "")
    if "amount_fen" in values:
        # Grouped as people read money: 3,000.00.
        values["amount"] = f"{Money.from_minor(int(values['amount_fen'])).round().amount:,.2f}"
    text = templates(normalise_locale(locale))[template]
    return text["title"].format(**values), text["body"].format(**values)


# --------------------------------------------------------------------------- time rules


def next_allowed(now: dt.datetime, zone: str, quiet: QuietHours) -> dt.datetime:
    """``now`` when it is outside quiet hours in ``zone``, else the end of them."""
    tz = ZoneInfo(zone)
    local = now.astimezone(tz)
    if not quiet.contains(local.time()):
        return now
    end = local.replace(hour=quiet.end.hour, minute=quiet.end.minute, second=0, microsecond=0)
    if end <= local:
        end = end + dt.timedelta(days=1)
    # Rebuild from the wall-clock date and time, so a change of UTC offset is honoured.
    wall = dt.datetime.combine(end.date(), quiet.end, tzinfo=tz)
    return wall.astimezone(dt.UTC)


#: The conduct rules' contact hours, as quiet hours (22:00–08:00 by default).
_CONDUCT = ConductPolicy()
CONTACT_QUIET = QuietHours(_CONDUCT.contact_until, _CONDUCT.contact_from)


def send_time(now: dt.datetime, zone: str, quiet: QuietHours) -> dt.datetime:
    """The first moment from ``now`` outside both servicing's quiet hours and the conduct
    rules' no-contact hours."""
    moment = now
    for _ in range(3):  # two night windows: settles in at most two steps
        later = next_allowed(next_allowed(moment, zone, quiet), zone, CONTACT_QUIET)
        if later == moment:
            return moment
        moment = later
    return moment


def next_day_start(now: dt.datetime, zone: str, quiet: QuietHours) -> dt.datetime:
    """The first moment of the next local day that is outside quiet hours."""
    tz = ZoneInfo(zone)
    tomorrow = now.astimezone(tz).date() + dt.timedelta(days=1)
    start = dt.datetime.combine(tomorrow, dt.time(0, 0), tzinfo=tz).astimezone(dt.UTC)
    return send_time(start, zone, quiet)


# --------------------------------------------------------------------------- queueing


def plan_reminders(
    desk: ServicingDesk, send_day: dt.date, partition: int = 0, partitions: int = 1
) -> int:
    """Queue the reminder plan's messages for ``send_day`` (for the loans of one
    partition; idempotent); returns how many were new. They leave from the morning of
    ``send_day`` in each borrower's zone."""
    m = desk.settings.messaging
    with desk.uow_factory() as uow:
        planned = uow.servicing.messages.plan_reminders(
            send_day, m.reminder_plan, m.send_from, m.default_time_zone, partition, partitions
        )
        uow.commit()
    return planned


def queue_notice(
    desk: ServicingDesk,
    uow: UnitOfWork,
    borrower_id: str,
    template: str,
    params: Mapping[str, Any],
    *,
    dedupe_key: str,
    on: dt.date,
    loan_id: str | None = None,
    kind: str = "service",
    channels: Sequence[str] = ("push", "sms"),
) -> int:
    """Queue one notice on each channel inside the caller's transaction; returns how many
    were new (the dedupe key makes a repeated event queue nothing)."""
    added = 0
    for channel in channels:
        added += uow.servicing.messages.add(
            MessageRecord(
                message_id=desk.new_id(),
                borrower_id=borrower_id,
                loan_id=loan_id,
                template=template,
                kind=kind,
                channel=channel,
                locale="zh-CN",  # replaced by the borrower's language when sent
                params=dict(params),
                dedupe_key=f"{dedupe_key}:{channel}",
                business_date=on,
                next_attempt_at=desk.now(),
            )
        )
    return added


def queue_marketing(
    desk: ServicingDesk,
    borrower_id: str,
    template: str,
    params: Mapping[str, Any],
    *,
    campaign: str,
    on: dt.date,
) -> int:
    """Queue a marketing message (sent only while the borrower's marketing consent holds)."""
    with desk.uow_factory() as uow:
        added = queue_notice(
            desk, uow, borrower_id, template, params,
            dedupe_key=f"{campaign}:{borrower_id}", on=on, kind="marketing", channels=("sms",),
        )  # fmt: skip
        uow.commit()
    return added


# --------------------------------------------------------------------------- sending


@dataclass(frozen=True, slots=True)
class SendReport:
    sent: int = 0
    deferred: int = 0
    retried: int = 0
    dead: int = 0
    suppressed: int = 0
    refused: int = 0

    def __add__(self, other: SendReport) -> SendReport:
        return SendReport(*(a + b for a, b in zip(_values(self), _values(other), strict=True)))


def _values(report: SendReport) -> tuple[int, ...]:
    return dataclasses.astuple(report)


def send_due_messages(desk: ServicingDesk, limit: int = 200) -> SendReport:
    """Send every queued message whose time has come (one pass)."""
    if desk.messages is None or desk.contacts is None:
        return SendReport()
    now = desk.now()
    with desk.uow_factory() as uow:
        due = uow.servicing.messages.due(now, limit)
    report = SendReport()
    for message_id in due:
        report = report + _send_one(desk, message_id)
    return report


def _recipient(message: MessageRecord, contact: Contact) -> tuple[str | None, str]:
    if message.channel == "sms":
        return contact.phone, mask_phone(contact.phone) if contact.phone else ""
    token = contact.push_token
    return token, (token[:6] + "…") if token else ""


def _still_owed(uow: UnitOfWork, message: MessageRecord) -> bool:
    n = message.params.get("installment")
    if message.loan_id is None or n is None:
        return True
    try:
        loan = uow.lending.loans.get(message.loan_id)
    except NotFound:
        return False
    if loan.status.value != "active":
        return False
    return not loan.installment(int(n)).is_settled


def _send_one(desk: ServicingDesk, message_id: str) -> SendReport:
    assert desk.messages is not None and desk.contacts is not None
    settings = desk.settings.messaging
    now = desk.now()
    with desk.uow_factory() as uow:
        store = uow.servicing.messages
        message = store.claim(message_id, now)
        if message is None:
            return SendReport()
        try:
            contact = desk.contacts.contact(message.borrower_id)
        except NotFound:
            contact = None
        local_today = now.astimezone(
            ZoneInfo((contact.time_zone if contact else "") or settings.default_time_zone)
        ).date()
        reason = _suppression(uow, message, contact, local_today)
        if reason:
            store.save(dataclasses.replace(message, status="suppressed", last_error=reason))
            uow.commit()
            return SendReport(suppressed=1)
        assert contact is not None
        zone = contact.time_zone or settings.default_time_zone
        allowed = send_time(now, zone, settings.quiet_hours)
        if allowed > now:
            store.save(dataclasses.replace(message, next_attempt_at=allowed))
            uow.commit()
            return SendReport(deferred=1)
        local_day = now.astimezone(ZoneInfo(zone)).date()
        counted = message.kind != "legal"
        if counted and not store.take_daily_slot(
            message.borrower_id, local_day, settings.daily_cap
        ):
            later = next_day_start(now, zone, settings.quiet_hours)
            store.save(dataclasses.replace(message, next_attempt_at=later))
            uow.commit()
            return SendReport(deferred=1)
        recipient, masked = _recipient(message, contact)
        assert recipient is not None
        locale = normalise_locale(contact.locale)
        title, body = render(message.template, locale, message.params)
        message = dataclasses.replace(
            message, locale=locale, title=title, body=body, recipient_masked=masked
        )
        attempts = message.attempts + 1
        try:
            ack = desk.messages.send(
                OutgoingMessage(message.message_id, message.channel, recipient, body, message.kind)
            )
        except Exception as exc:  # the gateway did not answer: retry later, then dead-letter
            if counted:
                store.release_daily_slot(message.borrower_id, local_day)
            dead = attempts >= settings.max_attempts
            store.save(
                dataclasses.replace(
                    message,
                    attempts=attempts,
                    status="dead" if dead else "pending",
                    last_error=f"{type(exc).__name__}: {exc}"[:500],
                    next_attempt_at=now + settings.retry_pause(attempts),
                )
            )
            uow.commit()
            return SendReport(dead=1) if dead else SendReport(retried=1)
        if not ack.accepted:
            if counted:
                store.release_daily_slot(message.borrower_id, local_day)
            store.save(
                dataclasses.replace(
                    message, attempts=attempts, status="failed", last_error=ack.error
                )
            )
            uow.commit()
            return SendReport(refused=1)
        store.save(
            dataclasses.replace(
                message,
                attempts=attempts,
                status="sent",
                gateway_reference=ack.gateway_reference,
                sent_at=now,
                last_error="",
            )
        )
        uow.commit()
        return SendReport(sent=1)


#: What servicing may still say about a loan that is past due: that money arrived.
_WHILE_PAST_DUE = frozenset({"repayment_received"})


def _past_due(uow: UnitOfWork, message: MessageRecord, local_today: dt.date) -> bool:
    """Whether the message's loan has an installment unpaid after its due date."""
    loan_id = message.loan_id or str(message.params.get("loan_id") or "")
    if not loan_id or message.template in _WHILE_PAST_DUE:
        return False
    try:
        loan = uow.lending.loans.get(loan_id)
    except NotFound:
        return False
    return loan.status.value == "active" and loan.days_past_due(local_today) > 0


def _suppression(
    uow: UnitOfWork, message: MessageRecord, contact: Contact | None, local_today: dt.date
) -> str:
    """Why the message must not go at all ('' when it may)."""
    if contact is None:
        return "no_contact"
    if message.template not in templates("zh-CN"):
        return "unknown_template"  # e.g. an overdue notice queued before they moved
    if _past_due(uow, message, local_today):
        return "past_due"  # collection contact goes through the conduct gate only
    if message.kind == "marketing" and not contact.marketing_allowed:
        return "marketing_opt_out"
    if _recipient(message, contact)[0] is None:
        return f"no_{message.channel}_recipient"
    if message.kind != "marketing" and not _still_owed(uow, message):
        return "already_paid"
    return ""


# --------------------------------------------------------------------------- receipts


def record_receipts(desk: ServicingDesk, receipts: Iterable[Any]) -> int:
    """Store delivery receipts (poll or webhook) and move their messages to delivered or
    failed; a receipt seen before changes nothing. Returns how many were new."""
    new = 0
    with desk.uow_factory() as uow:
        store = uow.servicing.messages
        for receipt in receipts:
            event_key = getattr(receipt, "event_id", "") or f"receipt:{receipt.gateway_reference}"
            fresh = store.add_receipt(
                ReceiptRecord(
                    receipt.message_id,
                    receipt.gateway_reference,
                    receipt.status,
                    receipt.error or "",
                    event_key,
                )
            )
            if not fresh:
                continue
            new += 1
            message = store.get(receipt.message_id)
            if message is not None and message.status in ("sent", "pending"):
                status = "delivered" if receipt.status == "delivered" else "failed"
                store.save(
                    dataclasses.replace(message, status=status, last_error=receipt.error or "")
                )
        uow.commit()
    return new


def poll_receipts(desk: ServicingDesk, cursor_name: str = "message_receipts") -> int:
    """Fetch new receipts from the gateway and record them; returns how many were new."""
    if desk.receipts is None:
        return 0
    with desk.uow_factory() as uow:
        since = uow.servicing.messages.cursor(cursor_name)
    receipts, position = desk.receipts.poll_receipts(since)
    new = record_receipts(desk, receipts)
    with desk.uow_factory() as uow:
        uow.servicing.messages.set_cursor(cursor_name, position)
        uow.commit()
    return new
