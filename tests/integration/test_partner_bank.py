"""Partner bank sandbox + HttpPartnerBank over real HTTP."""

from __future__ import annotations

import random

import pytest
from sandbox_fixtures import *  # noqa: F403  (fixtures)
from sandbox_fixtures import SANDBOX_SECRET, Sandbox, WebhookReceiver, wait_until

from mobilend.adapters.funders.http_partner import (
    HttpPartnerBank,
    PartnerDecisionEvent,
    verify_partner_webhook,
)
from mobilend.adapters.http_resilience import UnexpectedResponse
from mobilend.adapters.webhook_signature import InvalidWebhook
from mobilend.app.ports import PartnerApprovalRequest
from mobilend.domain.errors import GatewayUnavailable
from mobilend.domain.money import Money


def make_partner(sandbox: Sandbox, timeout: float = 5.0, retries: int = 2, **kw) -> HttpPartnerBank:
    kw.setdefault("sleep", lambda _s: None)
    kw.setdefault("rng", random.Random(1))
    return HttpPartnerBank(sandbox.base_url, SANDBOX_SECRET, timeout, retries, **kw)


def ask(request_id: str, yuan: str = "3000.00", band: str = "B", term_days: int = 90):
    return PartnerApprovalRequest(
        request_id, f"loan-{request_id}", Money(yuan), term_days, band, "P30", "310000"
    )


def decisions(receiver: WebhookReceiver) -> list[PartnerDecisionEvent]:
    return [verify_partner_webhook(c.headers, c.body, SANDBOX_SECRET) for c in receiver.snapshot()]


def test_partner_approves_by_signed_callback(
    partner_bank_sandbox: Sandbox, webhook_receiver: WebhookReceiver
) -> None:
    partner = make_partner(partner_bank_sandbox)
    ack = partner.request_approval(ask("a-1", "3000.00"))
    assert (ack.accepted, ack.status, ack.approved_amount) == (True, "pending", None)

    [decision] = wait_until(lambda: decisions(webhook_receiver))
    assert (decision.request_id, decision.loan_id, decision.status) == (
        "a-1",
        "loan-a-1",
        "approved",
    )
    assert decision.approved_amount == Money("3000.00")
    assert decision.partner_reference == ack.partner_reference
    assert decision.partner_code == "PB01"
    status = partner.approval_status("a-1")
    assert (status.status, status.approved_amount) == ("approved", Money("3000.00"))


@pytest.mark.parametrize(
    ("request_", "reason"),
    [
        (ask("d-band", band="D"), "score_band_not_accepted"),
        (ask("d-big", yuan="50000.01"), "amount_out_of_range"),
        (ask("d-term", term_days=720), "term_not_offered"),
    ],
)
def test_partner_declines_by_its_own_policy(
    partner_bank_sandbox: Sandbox,
    webhook_receiver: WebhookReceiver,
    request_: PartnerApprovalRequest,
    reason: str,
) -> None:
    make_partner(partner_bank_sandbox).request_approval(request_)
    [decision] = wait_until(lambda: decisions(webhook_receiver))
    assert (decision.status, decision.reason_code, decision.approved_amount) == (
        "declined",
        reason,
        None,
    )


def test_quota_and_regions_are_enforced(
    partner_bank_sandbox: Sandbox, webhook_receiver: WebhookReceiver
) -> None:
    partner_bank_sandbox.admin(
        "POST", "/admin/config", json={"policy": {"quota_fen": 1_000_000, "regions": ["310000"]}}
    )
    partner = make_partner(partner_bank_sandbox)
    partner.request_approval(ask("q-1", "6000.00"))
    wait_until(lambda: partner.approval_status("q-1").status != "pending")
    partner.request_approval(ask("q-2", "6000.00"))
    partner.request_approval(ask("q-3", "4000.00"))
    partner_bank_sandbox.wait_idle()
    outcome = {d.request_id: (d.status, d.reason_code) for d in decisions(webhook_receiver)}
    assert outcome == {
        "q-1": ("approved", ""),
        "q-2": ("declined", "quota_exhausted"),
        "q-3": ("approved", ""),
    }
    other_region = PartnerApprovalRequest(
        "q-4", "loan-q-4", Money("200.00"), 30, "A", "P30", "110000"
    )
    partner.request_approval(other_region)
    wait_until(lambda: partner.approval_status("q-4").reason_code == "region_not_served")


def test_a_decision_is_final_and_replayed_for_the_same_request(
    partner_bank_sandbox: Sandbox, webhook_receiver: WebhookReceiver
) -> None:
    partner = make_partner(partner_bank_sandbox)
    first = partner.request_approval(ask("f-1"))
    wait_until(lambda: decisions(webhook_receiver))
    partner_bank_sandbox.admin("POST", "/admin/config", json={"policy": {"accepted_bands": []}})
    again = partner.request_approval(ask("f-1"))
    assert (again.partner_reference, again.status) == (first.partner_reference, "approved")
    partner_bank_sandbox.wait_idle()
    assert len(decisions(webhook_receiver)) == 1
    with pytest.raises(UnexpectedResponse) as raised:
        partner.request_approval(ask("f-1", yuan="3000.01"))
    assert raised.value.status == 409


def test_partner_that_never_answers_stays_pending_without_callback(
    partner_bank_sandbox: Sandbox, webhook_receiver: WebhookReceiver
) -> None:
    partner_bank_sandbox.set_fault("never_answer")
    partner = make_partner(partner_bank_sandbox)
    assert partner.request_approval(ask("n-1")).accepted
    stats = partner_bank_sandbox.wait_idle()
    assert stats["by_status"] == {"pending": 1}
    assert webhook_receiver.snapshot() == []
    assert partner.approval_status("n-1").status == "pending"
    assert partner.approval_status("nobody").status == "unknown"


def test_partner_timing_out_raises_unavailable_for_the_router_to_fall_back(
    partner_bank_sandbox: Sandbox,
) -> None:
    partner_bank_sandbox.set_fault("timeout", phase="before", hang_ms=1500)
    partner = make_partner(partner_bank_sandbox, timeout=0.2, retries=1)
    with pytest.raises(GatewayUnavailable):
        partner.request_approval(ask("t-1"))
    partner_bank_sandbox.clear_faults()
    assert partner.approval_status("t-1").status == "unknown"
    assert partner_bank_sandbox.stats()["faults_fired"] == {"timeout": 2}


def test_duplicate_decision_callbacks_share_one_event_id(
    partner_bank_sandbox: Sandbox, webhook_receiver: WebhookReceiver
) -> None:
    partner_bank_sandbox.set_fault("duplicate_callbacks", copies=2)
    make_partner(partner_bank_sandbox).request_approval(ask("dup-1"))
    partner_bank_sandbox.wait_idle()
    received = decisions(webhook_receiver)
    assert len(received) == 2 and received[0].event_id == received[1].event_id


def test_forged_decision_is_rejected(
    partner_bank_sandbox: Sandbox, webhook_receiver: WebhookReceiver
) -> None:
    make_partner(partner_bank_sandbox).request_approval(ask("forge-1", band="E"))
    [call] = wait_until(webhook_receiver.snapshot)
    assert verify_partner_webhook(call.headers, call.body, SANDBOX_SECRET).status == "declined"
    forged = call.body.replace(b'"status":"declined"', b'"status":"approved"')
    assert forged != call.body
    with pytest.raises(InvalidWebhook, match="bad_signature"):
        verify_partner_webhook(call.headers, forged, SANDBOX_SECRET)
