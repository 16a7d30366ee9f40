"""Reminders and notices over the sandbox SMS/push gateway (real HTTP) on PostgreSQL:
quiet hours, the daily cap, time zones, marketing opt-out, receipts, and a gateway that
fails for good while end of day carries on."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from tests.integration.sandbox_fixtures import *  # noqa: F403  (sandbox fixtures)
from tests.integration.sandbox_fixtures import SANDBOX_SECRET, Sandbox
from tests.integration.servicing_fixtures import *  # noqa: F403  (fixtures)
from tests.integration.servicing_fixtures import (
    DAY,
    FakeClock,
    LoanSpec,
    add_borrower,
    make_runtime,
    open_loan,
)

from mobilend.adapters.http_resilience import Backoff, CircuitBreaker
from mobilend.adapters.notify.http_gateway import HttpMessageGateway
from mobilend.app.servicing.daily import close_business_date
from mobilend.app.servicing.notifications import (
    poll_receipts,
    queue_marketing,
    queue_notice,
    render,
    send_due_messages,
)
from mobilend.app.servicing.settings import MessagingSettings, QuietHours, ServicingSettings

pytestmark = pytest.mark.db

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
SEND_DAY = dt.date(2026, 3, 10)


def gateway(sandbox: Sandbox) -> HttpMessageGateway:
    return HttpMessageGateway(
        sandbox.base_url,
        SANDBOX_SECRET,
        timeout=2.0,
        retries=1,
        backoff=Backoff(base=0.0),
        breaker=CircuitBreaker(failure_threshold=1000),
        sleep=lambda _: None,
    )


def at(day: dt.date, hour: int, minute: int = 0, zone: ZoneInfo = SHANGHAI) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=zone).astimezone(dt.UTC)


def sent_messages(db: sa.Engine) -> list[sa.Row]:
    with db.connect() as conn:
        return conn.execute(
            sa.text(
                "SELECT m.id, m.borrower_id, m.kind, m.channel, m.sent_at, m.body,"
                " coalesce(s.time_zone, 'Asia/Shanghai') AS zone"
                " FROM servicing_messages m"
                " LEFT JOIN borrower_contact_settings s ON s.borrower_id = m.borrower_id"
                " WHERE m.sent_at IS NOT NULL ORDER BY m.sent_at"
            )
        ).all()


def test_reminders_keep_quiet_hours_and_the_daily_cap(
    db, vault, messaging_gateway_sandbox: Sandbox
) -> None:
    clock = FakeClock(at(SEND_DAY - DAY, 20, 0))
    wired = make_runtime(db, clock, vault, messages=gateway(messaging_gateway_sandbox))
    desk = wired.desk
    # B1 in Shanghai: four installments due on the send day (push + SMS each: 8 service
    # reminders) and one loan a week overdue (its T+7 notice is collection contact: the
    # conduct gate sends it, servicing plans nothing for it).
    add_borrower(db, vault, "B1", phone="13900000001")
    desk.contacts.update("B1", push_token="tok-b1")
    for k in range(4):
        open_loan(wired, f"L1-{k}", "B1", SEND_DAY - 30 * DAY, LoanSpec(principal="600.00"))
    open_loan(wired, "L1-late", "B1", SEND_DAY - 37 * DAY, LoanSpec(principal="600.00"))
    # B2 in New York, English: one installment due in three days (a push at T-3).
    add_borrower(db, vault, "B2", phone="13900000002")
    desk.contacts.update("B2", time_zone="America/New_York", locale="en", push_token="tok-b2")
    open_loan(wired, "L2", "B2", SEND_DAY - 27 * DAY, LoanSpec(principal="600.00"))
    wired.eod.run(SEND_DAY - DAY)
    planned = close_business_date(desk, SEND_DAY - DAY)
    assert planned.reminders == 4 * 2 + 1

    # Walk the clock through four days, a send pass every half hour; a notice is queued
    # late in the evening (inside quiet hours) on the way.
    moment = at(SEND_DAY - DAY, 20, 0)
    while moment < at(SEND_DAY + 4 * DAY, 0, 0):
        clock.set(moment)
        if moment == at(SEND_DAY, 22, 30):
            with desk.uow_factory() as uow:
                queue_notice(
                    desk, uow, "B1", "autodebit_failed",
                    {"loan_id": "L1-0", "amount_fen": 61000}, dedupe_key="night", on=SEND_DAY,
                )  # fmt: skip
                uow.commit()
        send_due_messages(desk)
        moment += dt.timedelta(minutes=30)

    sent = sent_messages(db)
    # Three of B1's due-day reminders went (the cap); the other five, and the night's
    # failed-debit notice, would have left the next morning — when the installments were
    # past due, so they were suppressed: servicing says nothing about an overdue loan.
    assert len(sent) == 3 + 1
    with db.connect() as conn:
        suppressed = conn.execute(
            sa.text(
                "SELECT template, count(*) FROM servicing_messages"
                " WHERE status = 'suppressed' AND last_error = 'past_due' GROUP BY template"
            )
        ).all()
    assert dict(suppressed) == {"reminder_due_today": 5, "autodebit_failed": 2}
    per_day: dict[tuple[str, dt.date], int] = {}
    for row in sent:
        local = row.sent_at.astimezone(ZoneInfo(row.zone))
        assert QuietHours().contains(local.time()) is False, (row.id, local)
        if row.kind != "legal":
            key = (row.borrower_id, local.date())
            per_day[key] = per_day.get(key, 0) + 1
    assert max(per_day.values()) == 3  # the cap, reached and never passed
    assert per_day[("B1", SEND_DAY)] == 3
    assert all(row.sent_at < at(SEND_DAY + DAY, 0, 0) for row in sent)
    # New York: the T-3 push left at 09:00 there, in English.
    b2 = [row for row in sent if row.borrower_id == "B2"]
    assert [row.sent_at for row in b2] == [at(SEND_DAY, 9, 0, NEW_YORK)]
    assert b2[0].body.startswith("[mobilend] Installment 1")
    # Everything the gateway holds is what we recorded as sent.
    assert messaging_gateway_sandbox.stats()["messages"] == len(sent)


def test_marketing_needs_consent_but_service_notices_do_not(
    db, vault, messaging_gateway_sandbox: Sandbox
) -> None:
    clock = FakeClock(at(SEND_DAY, 10, 0))
    wired = make_runtime(db, clock, vault, messages=gateway(messaging_gateway_sandbox))
    desk = wired.desk
    add_borrower(db, vault, "B-out", phone="13900000011", marketing=False)
    add_borrower(db, vault, "B-in", phone="13900000012", marketing=True)
    for borrower in ("B-out", "B-in"):
        queue_marketing(desk, borrower, "line_increase_offer", {}, campaign="spring", on=SEND_DAY)
        with desk.uow_factory() as uow:
            queue_notice(
                desk, uow, borrower, "repayment_received",
                {"loan_id": "L-x", "amount_fen": 100}, dedupe_key=f"paid-{borrower}",
                on=SEND_DAY, channels=("sms",),
            )  # fmt: skip
            uow.commit()
    report = send_due_messages(desk)
    assert (report.sent, report.suppressed) == (3, 1)
    with db.connect() as conn:
        rows = dict(
            conn.execute(
                sa.text(
                    "SELECT borrower_id || ':' || template, status || ':' || last_error"
                    " FROM servicing_messages"
                )
            ).all()
        )
    assert rows["B-out:line_increase_offer"] == "suppressed:marketing_opt_out"
    assert rows["B-in:line_increase_offer"] == "sent:"
    assert rows["B-out:repayment_received"] == "sent:"
    # Receipts come back from the gateway and are stored with the messages.
    messaging_gateway_sandbox.wait_idle()
    assert poll_receipts(desk) == 3
    assert poll_receipts(desk) == 0  # seen once
    with db.connect() as conn:
        delivered = conn.execute(
            sa.text("SELECT count(*) FROM servicing_messages WHERE status = 'delivered'")
        ).scalar_one()
        receipts = conn.execute(sa.text("SELECT count(*) FROM message_receipts")).scalar_one()
    assert (delivered, receipts) == (3, 3)


def test_a_failing_sms_gateway_is_retried_then_dead_lettered_without_blocking_eod(
    db, vault, jobs, messaging_gateway_sandbox: Sandbox
) -> None:
    clock = FakeClock(at(SEND_DAY, 10, 0))
    settings = ServicingSettings(messaging=MessagingSettings(max_attempts=4))
    wired = make_runtime(
        db, clock, vault, messages=gateway(messaging_gateway_sandbox), settings=settings
    )
    jobs.use(wired)
    add_borrower(db, vault, "B1", phone="13900000021")  # no push token: SMS only
    open_loan(wired, "L1", "B1", SEND_DAY - 30 * DAY, LoanSpec(principal="600.00"))
    messaging_gateway_sandbox.set_fault("down")  # every request: 503, for good

    jobs.run_date(SEND_DAY - DAY)  # plans the due-day reminder for SEND_DAY
    jobs.work(("servicing",))  # the senders the close woke: the gateway fails
    attempts = []
    for _ in range(6):
        clock.set(clock.now() + dt.timedelta(hours=3))  # past every retry pause
        send_due_messages(wired.desk)
        with db.connect() as conn:
            attempts.append(
                conn.execute(
                    sa.text("SELECT status, attempts FROM servicing_messages WHERE channel = 'sms'")
                ).one()
            )
    assert [tuple(a) for a in attempts[:3]] == [("pending", 2), ("pending", 3), ("dead", 4)]
    assert tuple(attempts[-1]) == ("dead", 4)  # dead letters are left alone
    with wired.desk.uow_factory() as uow:
        dead = uow.servicing.messages.dead_letters()
    assert [m.template for m in dead] == ["reminder_due_today"]
    assert "503" in dead[0].last_error or "unavailable" in dead[0].last_error
    # End of day carried on regardless: the dates closed and the next one runs.
    jobs.run_date(SEND_DAY)
    assert jobs.closed_dates() == [SEND_DAY - DAY, SEND_DAY]
    assert jobs.statuses().get("failed", 0) == 0
    assert messaging_gateway_sandbox.stats()["messages"] == 0


def test_templates_exist_in_both_languages_with_the_same_placeholders() -> None:
    params = {"loan_id": "01jabcdefgh", "installment": 2, "amount_fen": 123456,
              "due_date": "2026-03-10", "days": 3}  # fmt: skip
    from mobilend.app.servicing.notifications import templates

    assert set(templates("zh-CN")) == set(templates("en"))
    for name in templates("zh-CN"):
        zh = render(name, "zh-CN", params)
        en = render(name, "en", params)
        assert zh[1] != en[1]
        if "{amount}" in templates("zh-CN")[name]["body"]:
            assert "1,234.56" in zh[1] and "1,234.56" in en[1]  # grouped as people read it
