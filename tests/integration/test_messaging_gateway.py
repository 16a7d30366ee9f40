"""SMS/push gateway sandbox + HttpMessageGateway over real HTTP."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sandbox_fixtures import *  # noqa: F403  (fixtures)
from sandbox_fixtures import SANDBOX_SECRET, Sandbox, WebhookReceiver, wait_until

from mobilend.adapters.http_resilience import CircuitBreaker, CircuitOpen
from mobilend.adapters.notify.http_gateway import (
    DeliveryReceipt,
    HttpMessageGateway,
    verify_receipt_webhook,
)
from mobilend.adapters.webhook_signature import InvalidWebhook
from mobilend.app.messaging import OutgoingMessage
from mobilend.domain.errors import GatewayUnavailable

OTP_TEXT = "【移动贷】您的验证码是 482913，5分钟内有效。Your code is 482913."


def make_gateway(sandbox: Sandbox, **kwargs) -> HttpMessageGateway:
    kwargs.setdefault("sleep", lambda _s: None)
    kwargs.setdefault("rng", random.Random(1))
    timeout = kwargs.pop("timeout", 5.0)
    retries = kwargs.pop("retries", 3)
    return HttpMessageGateway(sandbox.base_url, SANDBOX_SECRET, timeout, retries, **kwargs)


def sms(message_id: str, phone: str = "13800138000", body: str = OTP_TEXT) -> OutgoingMessage:
    return OutgoingMessage(message_id, "sms", phone, body, "service")


def receipts(receiver: WebhookReceiver) -> list[DeliveryReceipt]:
    return [verify_receipt_webhook(c.headers, c.body, SANDBOX_SECRET) for c in receiver.snapshot()]


def test_sms_is_recorded_readable_by_recipient_and_receipted(
    messaging_gateway_sandbox: Sandbox, webhook_receiver: WebhookReceiver
) -> None:
    gateway = make_gateway(messaging_gateway_sandbox)
    ack = gateway.send(sms("otp-1"))
    assert ack.accepted and ack.gateway_reference.startswith("SM")

    listed = httpx.get(
        f"{messaging_gateway_sandbox.base_url}/messages", params={"recipient": "13800138000"}
    ).json()["messages"]
    assert [m["message_id"] for m in listed] == ["otp-1"]
    assert listed[0]["codes"] == ["482913", "482913"] and listed[0]["body"] == OTP_TEXT

    [receipt] = wait_until(lambda: receipts(webhook_receiver))
    assert (receipt.message_id, receipt.status, receipt.error) == ("otp-1", "delivered", "")
    assert receipt.gateway_reference == ack.gateway_reference
    one = httpx.get(f"{messaging_gateway_sandbox.base_url}/messages/otp-1").json()
    assert one["status"] == "delivered"


def test_same_message_id_is_sent_once_even_when_retried_concurrently(
    messaging_gateway_sandbox: Sandbox, webhook_receiver: WebhookReceiver
) -> None:
    gateway = make_gateway(messaging_gateway_sandbox)
    with ThreadPoolExecutor(max_workers=8) as pool:
        acks = list(pool.map(lambda _i: gateway.send(sms("m-1")), range(24)))
    assert len({a.gateway_reference for a in acks}) == 1
    stats = messaging_gateway_sandbox.wait_idle()
    assert (stats["messages"], stats["receipts"]) == (1, 1)
    assert len(receipts(webhook_receiver)) == 1

    clash = gateway.send(sms("m-1", body="另一条消息 another text"))
    assert (clash.accepted, clash.error) == (False, "message_id_reused")


def test_undeliverable_recipients_get_failed_receipts_also_by_polling(
    messaging_gateway_sandbox: Sandbox, webhook_receiver: WebhookReceiver
) -> None:
    gateway = make_gateway(messaging_gateway_sandbox)
    gateway.send(sms("dead-phone", phone="13900000000"))
    gateway.send(OutgoingMessage("dead-token", "push", "invalid-token-1", "还款提醒 reminder"))
    gateway.send(OutgoingMessage("good-push", "push", "device-abc", "还款提醒 reminder"))
    messaging_gateway_sandbox.wait_idle()

    by_id = {r.message_id: r for r in receipts(webhook_receiver)}
    assert (by_id["dead-phone"].status, by_id["dead-phone"].error) == ("failed", "unreachable")
    assert (by_id["dead-token"].status, by_id["dead-token"].error) == ("failed", "token_invalid")
    assert by_id["good-push"].status == "delivered"
    assert by_id["good-push"].gateway_reference.startswith("PU")

    polled, next_seq = gateway.poll_receipts(0)
    assert {(r.message_id, r.status) for r in polled} == {
        (r.message_id, r.status) for r in by_id.values()
    }
    assert next_seq == 3
    assert gateway.poll_receipts(next_seq) == ([], 3)


def test_definitive_refusals_come_back_as_not_accepted(messaging_gateway_sandbox: Sandbox) -> None:
    gateway = make_gateway(messaging_gateway_sandbox)
    bad_phone = gateway.send(sms("bad-1", phone="not-a-phone"))
    assert (bad_phone.accepted, bad_phone.error) == (False, "invalid_request")
    letter = gateway.send(OutgoingMessage("bad-2", "letter", "addr", "text"))
    assert (letter.accepted, letter.error) == (False, "unsupported_channel")
    assert messaging_gateway_sandbox.stats()["messages"] == 0


def test_tampered_receipt_is_rejected(
    messaging_gateway_sandbox: Sandbox, webhook_receiver: WebhookReceiver
) -> None:
    make_gateway(messaging_gateway_sandbox).send(sms("sig-1", phone="13900000000"))
    [call] = wait_until(webhook_receiver.snapshot)
    assert verify_receipt_webhook(call.headers, call.body, SANDBOX_SECRET).status == "failed"
    forged = call.body.replace(b'"status":"failed"', b'"status":"delivered"')
    assert forged != call.body
    with pytest.raises(InvalidWebhook, match="bad_signature"):
        verify_receipt_webhook(call.headers, forged, SANDBOX_SECRET)


def test_transient_5xx_and_latency_are_absorbed_by_retries(
    messaging_gateway_sandbox: Sandbox,
) -> None:
    messaging_gateway_sandbox.set_fault("error_5xx", count=2)
    sleeps: list[float] = []
    assert make_gateway(messaging_gateway_sandbox, sleep=sleeps.append).send(sms("r-1")).accepted
    assert len(sleeps) == 2

    messaging_gateway_sandbox.set_fault("latency", latency_ms=400, count=1)
    gateway = make_gateway(messaging_gateway_sandbox, timeout=0.1, retries=1)
    assert gateway.send(sms("r-2")).accepted  # first attempt timed out, second went through
    stats = messaging_gateway_sandbox.wait_idle()
    assert stats["messages"] == 2 and stats["faults_fired"] == {"error_5xx": 2, "latency": 1}


def test_gateway_failing_forever_raises_unavailable_then_the_breaker_opens(
    messaging_gateway_sandbox: Sandbox,
) -> None:
    messaging_gateway_sandbox.set_fault("down")
    breaker = CircuitBreaker(failure_threshold=4, reset_after=60)
    gateway = make_gateway(messaging_gateway_sandbox, retries=2, breaker=breaker)
    with pytest.raises(GatewayUnavailable):
        gateway.send(sms("down-1"))
    with pytest.raises(CircuitOpen):
        gateway.send(sms("down-2"))
    assert messaging_gateway_sandbox.stats()["faults_fired"]["down"] == 4
    assert messaging_gateway_sandbox.stats()["messages"] == 0


def test_dropped_receipts_leave_the_message_accepted_without_news(
    messaging_gateway_sandbox: Sandbox, webhook_receiver: WebhookReceiver
) -> None:
    messaging_gateway_sandbox.set_fault("drop_receipts", count=1)
    gateway = make_gateway(messaging_gateway_sandbox)
    gateway.send(sms("quiet-1"))
    gateway.send(sms("heard-1"))
    messaging_gateway_sandbox.wait_idle()
    assert [r.message_id for r in receipts(webhook_receiver)] == ["heard-1"]
    quiet = httpx.get(f"{messaging_gateway_sandbox.base_url}/messages/quiet-1").json()
    assert quiet["status"] == "accepted"
