"""Payment gateway sandbox + HttpPaymentRail over real HTTP: idempotency, signatures,
card rules, statements, every fault mode, adapter retries and circuit breaker."""

from __future__ import annotations

import datetime as dt
import random
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sandbox_fixtures import *  # noqa: F403  (fixtures)
from sandbox_fixtures import SANDBOX_SECRET, Sandbox, WebhookReceiver, wait_until

from mobilend.adapters.http_resilience import (
    Backoff,
    CircuitBreaker,
    CircuitOpen,
    UnexpectedResponse,
    UpstreamUnavailable,
)
from mobilend.adapters.rails.http_rail import HttpPaymentRail, RailWebhookEvent, verify_webhook
from mobilend.adapters.webhook_signature import InvalidWebhook, signed_headers
from mobilend.app.ports import DebitRequest, PayoutRequest
from mobilend.domain.errors import GatewayUnavailable
from mobilend.domain.money import Money, MoneyError

BUSINESS_DATE = dt.date(2026, 3, 2)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_rail(gw: Sandbox, *, timeout: float = 5.0, retries: int = 3, **kwargs) -> HttpPaymentRail:
    kwargs.setdefault("sleep", lambda _s: None)  # no real waiting between retries
    kwargs.setdefault("rng", random.Random(1))
    return HttpPaymentRail(gw.base_url, SANDBOX_SECRET, timeout, retries, **kwargs)


def payout(key: str, yuan: str = "1000.00", card: str = "6222020200112233") -> PayoutRequest:
    return PayoutRequest(key, f"loan-{key}", Money(yuan), "张三", card, "ICBC")


def debit(key: str, card: str, yuan: str = "250.50") -> DebitRequest:
    return DebitRequest(key, f"loan-{key}", Money(yuan), "李四", card)


def events(receiver: WebhookReceiver) -> list[RailWebhookEvent]:
    return [verify_webhook(c.headers, c.body, SANDBOX_SECRET) for c in receiver.snapshot()]


def apply_in_order(received: list[RailWebhookEvent]) -> dict[str, RailWebhookEvent]:
    """What a correct receiver keeps: final events only, highest sequence wins, dedupe by id."""
    applied: dict[str, RailWebhookEvent] = {}
    seen: set[str] = set()
    for event in received:
        if event.event_id in seen or not event.final:
            continue
        seen.add(event.event_id)
        current = applied.get(event.idempotency_key)
        if current is None or event.sequence > current.sequence:
            applied[event.idempotency_key] = event
    return applied


# --------------------------------------------------------------------------- happy path


def test_payout_is_confirmed_by_a_signed_callback_and_listed_on_the_statement(
    payment_gateway: Sandbox, webhook_receiver: WebhookReceiver
) -> None:
    rail = make_rail(payment_gateway)
    ack = rail.send_payout(payout("p-1", "1234.56"))
    assert ack.accepted and ack.status == "pending" and ack.rail_reference.startswith("PG")

    [event] = wait_until(lambda: events(webhook_receiver))
    assert (event.idempotency_key, event.status, event.final) == ("p-1", "succeeded", True)
    assert event.amount == Money("1234.56")
    assert event.rail_reference == ack.rail_reference
    assert event.settled_on == BUSINESS_DATE

    assert rail.payout_status("p-1").status == "succeeded"
    [line] = rail.statement(BUSINESS_DATE)
    assert (line.idempotency_key, line.direction, line.status) == ("p-1", "payout", "succeeded")
    assert line.amount == Money("1234.56")
    assert rail.statement(BUSINESS_DATE + dt.timedelta(days=1)) == []


def test_amounts_cross_the_wire_as_integer_fen(payment_gateway: Sandbox) -> None:
    rail = make_rail(payment_gateway)
    rail.send_payout(payout("fen-1", "0.07"))
    body = httpx.get(f"{payment_gateway.base_url}/payouts/fen-1").json()
    assert body["amount_fen"] == 7 and isinstance(body["amount_fen"], int)
    with pytest.raises(MoneyError):
        rail.send_payout(payout("fen-2", "1.005"))  # refused before anything is sent
    assert rail.payout_status("fen-2").status == "unknown"
    raw = httpx.post(
        f"{payment_gateway.base_url}/payouts",
        headers={"Idempotency-Key": "fen-3"},
        json={
            "loan_id": "l",
            "amount_fen": 10.5,
            "account_name": "a",
            "card_number": "6222020200112233",
        },
    )
    assert raw.status_code == 422


def test_statement_holds_only_settled_transactions_of_that_business_date(
    payment_gateway: Sandbox,
) -> None:
    rail = make_rail(payment_gateway)
    rail.send_payout(payout("d1-a", "10.00"))
    rail.request_debit(debit("d1-b", "6222020200110051", "5.00"))  # insufficient funds
    payment_gateway.wait_idle()
    payment_gateway.admin("POST", "/admin/config", json={"business_date": "2026-03-03"})
    rail.send_payout(payout("d2-a", "20.00"))
    payment_gateway.admin("POST", "/admin/config", json={"settle_delay_ms": 600_000})
    rail.send_payout(payout("pending-1", "30.00"))
    wait_until(lambda: rail.payout_status("d2-a").status == "succeeded")

    day1 = {line.idempotency_key: line for line in rail.statement(BUSINESS_DATE)}
    assert set(day1) == {"d1-a", "d1-b"}
    assert (day1["d1-b"].direction, day1["d1-b"].status) == ("debit", "failed")
    day2 = rail.statement(dt.date(2026, 3, 3))
    assert [line.idempotency_key for line in day2] == ["d2-a"]
    assert rail.payout_status("pending-1").status == "pending"


# --------------------------------------------------------------------------- idempotency


def test_concurrent_retries_of_one_payout_create_one_transaction(
    payment_gateway: Sandbox, webhook_receiver: WebhookReceiver
) -> None:
    rail = make_rail(payment_gateway)
    request = payout("same-key", "888.88")
    with ThreadPoolExecutor(max_workers=8) as pool:
        acks = list(pool.map(lambda _i: rail.send_payout(request), range(40)))
    assert all(a.accepted for a in acks)
    assert len({a.rail_reference for a in acks}) == 1
    stats = payment_gateway.wait_idle()
    assert stats["transactions"] == 1
    assert len(rail.statement(BUSINESS_DATE)) == 1
    assert [e.idempotency_key for e in events(webhook_receiver)] == ["same-key"]
    # A retry after settlement still answers with the same, now final, transaction.
    again = rail.send_payout(request)
    assert (again.rail_reference, again.status) == (acks[0].rail_reference, "succeeded")


def test_same_key_with_a_different_body_is_refused(payment_gateway: Sandbox) -> None:
    rail = make_rail(payment_gateway)
    rail.send_payout(payout("k-1", "100.00"))
    with pytest.raises(UnexpectedResponse) as raised:
        rail.send_payout(payout("k-1", "100.01"))
    assert raised.value.status == 409
    assert payment_gateway.stats()["transactions"] == 1
    assert make_rail(payment_gateway).payout_status("k-1").rail_reference


def test_many_concurrent_payouts_are_each_recorded_once(payment_gateway: Sandbox) -> None:
    rail = make_rail(payment_gateway)
    keys = [f"bulk-{i}" for i in range(150)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda k: rail.send_payout(payout(k, "1.01")), keys + keys[:50]))
    payment_gateway.wait_idle()
    lines = rail.statement(BUSINESS_DATE)
    assert sorted(line.idempotency_key for line in lines) == sorted(keys)
    assert sum((line.amount for line in lines), Money("0")) == Money("151.50")


# --------------------------------------------------------------------------- card rules


@pytest.mark.parametrize(
    ("card", "direction", "status", "failure_code"),
    [
        ("6222020200110051", "debit", "failed", "insufficient_funds"),
        ("6222020200110051", "payout", "succeeded", ""),
        ("6222020200110054", "debit", "failed", "card_expired"),
        ("6222020200110054", "payout", "failed", "card_expired"),
        ("6222020200110014", "debit", "failed", "invalid_card"),
        ("6222020200110062", "payout", "failed", "card_restricted"),
        ("6222020200119999", "debit", "succeeded", ""),
    ],
)
def test_card_rules_decide_the_outcome(
    payment_gateway: Sandbox,
    webhook_receiver: WebhookReceiver,
    card: str,
    direction: str,
    status: str,
    failure_code: str,
) -> None:
    rail = make_rail(payment_gateway)
    if direction == "debit":
        rail.request_debit(debit("c-1", card))
    else:
        rail.send_payout(payout("c-1", card=card))
    [event] = wait_until(lambda: events(webhook_receiver))
    assert (event.direction, event.status, event.failure_code) == (direction, status, failure_code)
    assert event.event_type == f"{direction}.{status}"
    if direction == "debit":
        assert rail.debit_status("c-1").failure_code == failure_code
        assert rail.payout_status("c-1").status == "unknown"  # keys are per direction on GET


# --------------------------------------------------------------------------- signatures


def test_tampered_stale_or_unsigned_callbacks_are_rejected(
    payment_gateway: Sandbox, webhook_receiver: WebhookReceiver
) -> None:
    make_rail(payment_gateway).send_payout(payout("sig-1", "500.00"))
    [call] = wait_until(webhook_receiver.snapshot)
    assert verify_webhook(call.headers, call.body, SANDBOX_SECRET).amount == Money("500.00")

    tampered = call.body.replace(b'"amount_fen":50000', b'"amount_fen":90000')
    assert tampered != call.body
    with pytest.raises(InvalidWebhook, match="bad_signature"):
        verify_webhook(call.headers, tampered, SANDBOX_SECRET)
    with pytest.raises(InvalidWebhook, match="bad_signature"):
        verify_webhook(call.headers, call.body, "another-secret")
    moved = {**call.headers, "X-Timestamp": str(int(call.headers["X-Timestamp"]) + 1)}
    with pytest.raises(InvalidWebhook, match="bad_signature"):
        verify_webhook(moved, call.body, SANDBOX_SECRET)
    stamp = int(call.headers["X-Timestamp"])
    with pytest.raises(InvalidWebhook, match="stale_timestamp"):
        verify_webhook(call.headers, call.body, SANDBOX_SECRET, now=stamp + 301)
    assert verify_webhook(call.headers, call.body, SANDBOX_SECRET, now=stamp + 299).final
    with pytest.raises(InvalidWebhook, match="missing_signature"):
        verify_webhook({"Content-Type": "application/json"}, call.body, SANDBOX_SECRET)
    replayed = signed_headers(SANDBOX_SECRET, call.body, timestamp=stamp - 3600)
    with pytest.raises(InvalidWebhook, match="stale_timestamp"):
        verify_webhook(replayed, call.body, SANDBOX_SECRET, now=stamp)
    garbage = b'{"event_id": "x"}'
    with pytest.raises(InvalidWebhook, match="bad_payload"):
        verify_webhook(signed_headers(SANDBOX_SECRET, garbage), garbage, SANDBOX_SECRET)


# --------------------------------------------------------------------------- request faults


def test_latency_past_the_client_timeout_fails_and_within_it_succeeds(
    payment_gateway: Sandbox,
) -> None:
    payment_gateway.set_fault("latency", latency_ms=400)
    with pytest.raises(GatewayUnavailable):
        make_rail(payment_gateway, timeout=0.1, retries=1).payout_status("none")
    assert make_rail(payment_gateway, timeout=5).payout_status("none").status == "unknown"
    assert payment_gateway.stats()["faults_fired"]["latency"] == 3


def test_answer_lost_to_a_timeout_is_recovered_by_retry_without_paying_twice(
    payment_gateway: Sandbox, webhook_receiver: WebhookReceiver
) -> None:
    payment_gateway.set_fault("timeout", count=1, hang_ms=1500)  # phase "after": work done
    sleeps: list[float] = []
    rail = make_rail(payment_gateway, timeout=0.3, retries=2, sleep=sleeps.append)
    ack = rail.send_payout(payout("t-1", "300.00"))
    assert ack.accepted and len(sleeps) == 1
    stats = payment_gateway.wait_idle()
    assert stats["transactions"] == 1
    assert [e.idempotency_key for e in events(webhook_receiver)] == ["t-1"]


def test_gateway_hanging_before_work_exhausts_retries_and_creates_nothing(
    payment_gateway: Sandbox,
) -> None:
    payment_gateway.set_fault("timeout", phase="before", hang_ms=1500, paths=["/payouts"])
    sleeps: list[float] = []
    rail = make_rail(payment_gateway, timeout=0.2, retries=2, sleep=sleeps.append)
    with pytest.raises(UpstreamUnavailable) as raised:
        rail.send_payout(payout("t-2"))
    assert raised.value.attempts == 3 and "Timeout" in raised.value.last_error
    assert len(sleeps) == 2
    payment_gateway.clear_faults()
    assert rail.payout_status("t-2").status == "unknown"
    assert payment_gateway.stats()["transactions"] == 0


def test_5xx_is_retried_with_bounded_exponential_backoff(payment_gateway: Sandbox) -> None:
    payment_gateway.set_fault("error_5xx", count=3, status=502)
    sleeps: list[float] = []
    backoff = Backoff(base=0.1, cap=0.3)
    rail = make_rail(payment_gateway, retries=3, sleep=sleeps.append, backoff=backoff)
    assert rail.send_payout(payout("e-1")).accepted
    assert len(sleeps) == 3
    assert all(0 <= s <= backoff.ceiling(i) for i, s in enumerate(sleeps))
    assert [backoff.ceiling(i) for i in range(4)] == pytest.approx([0.1, 0.2, 0.3, 0.3])
    assert payment_gateway.stats()["faults_fired"]["error_5xx"] == 3


def test_5xx_after_the_work_is_done_is_safe_to_retry(payment_gateway: Sandbox) -> None:
    payment_gateway.set_fault("error_5xx", count=1, phase="after")
    rail = make_rail(payment_gateway, retries=0)
    with pytest.raises(UpstreamUnavailable):
        rail.send_payout(payout("e-2"))
    assert rail.payout_status("e-2").status in ("pending", "succeeded")
    ack = rail.send_payout(payout("e-2"))
    assert ack.accepted
    assert payment_gateway.wait_idle()["transactions"] == 1


def test_circuit_breaker_opens_on_a_down_gateway_and_recovers_after_a_trial(
    payment_gateway: Sandbox,
) -> None:
    payment_gateway.set_fault("down")
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=3, reset_after=30, clock=clock)
    rail = make_rail(payment_gateway, retries=5, breaker=breaker)
    with pytest.raises(CircuitOpen):
        rail.send_payout(payout("b-1"))  # 3 failed attempts open it mid-retry
    assert breaker.state == "open"
    assert payment_gateway.stats()["faults_fired"]["down"] == 3
    with pytest.raises(CircuitOpen):
        rail.payout_status("b-1")
    assert payment_gateway.stats()["faults_fired"]["down"] == 3  # not even attempted

    clock.now += 31  # half-open: one trial goes out, fails, opens again
    assert breaker.state == "half_open"
    with pytest.raises(CircuitOpen):
        rail.payout_status("b-1")
    assert payment_gateway.stats()["faults_fired"]["down"] == 4
    assert breaker.state == "open"

    payment_gateway.clear_faults()
    clock.now += 31
    assert rail.send_payout(payout("b-1")).accepted
    assert breaker.state == "closed"


# --------------------------------------------------------------------------- callback faults


def test_duplicate_callbacks_share_one_event_id(
    payment_gateway: Sandbox, webhook_receiver: WebhookReceiver
) -> None:
    payment_gateway.set_fault("duplicate_callbacks", copies=3)
    make_rail(payment_gateway).send_payout(payout("dup-1"))
    payment_gateway.wait_idle()
    received = events(webhook_receiver)
    assert len(received) == 3 and len({e.event_id for e in received}) == 1
    assert list(apply_in_order(received)) == ["dup-1"]


def test_out_of_order_callbacks_deliver_a_stale_failure_after_the_success(
    payment_gateway: Sandbox, webhook_receiver: WebhookReceiver
) -> None:
    payment_gateway.set_fault("out_of_order_callbacks", delay_ms=300)
    rail = make_rail(payment_gateway)
    rail.send_payout(payout("ooo-1"))
    payment_gateway.wait_idle()
    received = events(webhook_receiver)
    final = [e for e in received if e.final]
    stale = [e for e in received if not e.final]
    assert [(e.status, e.attempt) for e in final] == [("succeeded", 2)]
    assert [(e.status, e.attempt, e.failure_code) for e in stale] == [("failed", 1, "bank_timeout")]
    assert stale[0].sequence < final[0].sequence
    # Whatever order they arrive in, the receiver's rule keeps the success.
    assert apply_in_order(received)["ooo-1"].status == "succeeded"
    assert apply_in_order(received[::-1])["ooo-1"].status == "succeeded"
    assert rail.payout_status("ooo-1").status == "succeeded"
    assert [line.status for line in rail.statement(BUSINESS_DATE)] == ["succeeded"]


def test_callbacks_for_unknown_payouts_are_signed_but_match_nothing(
    payment_gateway: Sandbox, webhook_receiver: WebhookReceiver
) -> None:
    payment_gateway.set_fault("unknown_callbacks")
    rail = make_rail(payment_gateway)
    rail.send_payout(payout("real-1"))
    payment_gateway.wait_idle()
    keys = {e.idempotency_key for e in events(webhook_receiver)}
    assert "real-1" in keys and len(keys) == 2
    [ghost] = keys - {"real-1"}
    assert rail.payout_status(ghost).status == "unknown"
    assert [line.idempotency_key for line in rail.statement(BUSINESS_DATE)] == ["real-1"]


def test_payout_never_confirmed_is_still_found_by_status_and_statement(
    payment_gateway: Sandbox, webhook_receiver: WebhookReceiver
) -> None:
    payment_gateway.set_fault("never_confirm", count=1)
    rail = make_rail(payment_gateway)
    rail.send_payout(payout("silent-1"))
    rail.send_payout(payout("loud-1"))
    payment_gateway.wait_idle()
    assert [e.idempotency_key for e in events(webhook_receiver)] == ["loud-1"]
    assert rail.payout_status("silent-1").status == "succeeded"
    keys = {line.idempotency_key for line in rail.statement(BUSINESS_DATE)}
    assert keys == {"silent-1", "loud-1"}


def test_unacknowledged_callbacks_are_redelivered(
    payment_gateway: Sandbox, webhook_receiver: WebhookReceiver
) -> None:
    webhook_receiver.fail_next(2)
    make_rail(payment_gateway).send_payout(payout("redeliver-1"))
    stats = payment_gateway.wait_idle()
    assert stats["callbacks_delivered"] == 1 and stats["callbacks_undelivered"] == 0
    assert [e.idempotency_key for e in events(webhook_receiver)] == ["redeliver-1"]


def test_fault_choices_repeat_with_the_same_seed(
    payment_gateway: Sandbox, webhook_receiver: WebhookReceiver
) -> None:
    def duplicated_keys(seed: int) -> set[str]:
        payment_gateway.reset(seed=seed, settle_delay_ms=0)
        webhook_receiver.reset()
        payment_gateway.set_fault("duplicate_callbacks", rate=0.5)
        rail = make_rail(payment_gateway)
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda i: rail.send_payout(payout(f"seed-{i}")), range(30)))
        payment_gateway.wait_idle()
        keys = [e.idempotency_key for e in events(webhook_receiver)]
        return {k for k in keys if keys.count(k) > 1}

    first = duplicated_keys(11)
    assert 0 < len(first) < 30
    assert duplicated_keys(11) == first


def test_unknown_fault_mode_is_refused(payment_gateway: Sandbox) -> None:
    response = httpx.post(f"{payment_gateway.base_url}/admin/faults", json={"mode": "gremlins"})
    assert response.status_code == 422
