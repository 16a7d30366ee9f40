"""Sandbox partner bank: decides on its own whether to fund a loan (or its share).

Wire format (amounts are integer fen):

* ``POST /approvals`` ``{"request_id", "loan_id", "amount_fen", "currency", "term_days",
  "score_band", "product_code", "region_code", "callback_url"?}`` → ``202``
  ``{"partner_reference", "request_id", "status": "pending"}``. Idempotent by
  ``request_id``: asking again returns the same answer (``200``, ``"replayed": true``),
  including a decision already made; a different request under the same id → 409.
* ``GET /approvals/{request_id}`` → ``{"status": "pending" | "approved" | "declined", …}``.
* The decision comes ``decision_delay_ms`` later by signed webhook (see ``webhooks.py``):
  ``{"event_id", "type": "approval.approved" | "approval.declined", "created_at",
  "data": {"request_id", "loan_id", "partner_code", "partner_reference", "status",
  "approved_amount_fen", "currency", "reason_code"}}``. A decision never changes.

The bank's own policy (``POST /admin/config`` changes it): score band in
``accepted_bands`` (default A, B, C) else ``score_band_not_accepted``; amount within
``[min_amount_fen, max_amount_fen]`` else ``amount_out_of_range``; ``term_days`` ≤
``max_term_days`` else ``term_not_offered``; region in ``regions`` when that list is not
empty else ``region_not_served``; total approved ≤ ``quota_fen`` when set else
``quota_exhausted``.

Faults: the request faults in ``faults.py`` plus ``never_answer`` (accepted, then silence:
no callback, status stays pending) and ``duplicate_callbacks``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from mobilend.sandbox.faults import FaultBoard, admin_router, local_path
from mobilend.sandbox.webhooks import CallbackSender


class ApprovalBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    request_id: str = Field(min_length=1, max_length=200)
    loan_id: str = Field(min_length=1, max_length=100)
    amount_fen: StrictInt = Field(gt=0, le=10**12)
    currency: str = Field(default="CNY", pattern=r"^[A-Z]{3}$")
    term_days: StrictInt = Field(gt=0, le=3660)
    score_band: str = Field(min_length=1, max_length=10)
    product_code: str = Field(default="", max_length=50)
    region_code: str = Field(default="", max_length=20)
    callback_url: str = Field(default="", max_length=2000)


class PartnerPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    accepted_bands: list[str] = ["A", "B", "C"]
    min_amount_fen: int = Field(default=10_000, ge=1)
    max_amount_fen: int = Field(default=5_000_000, ge=1)
    max_term_days: int = Field(default=365, ge=1)
    regions: list[str] = []
    quota_fen: int | None = Field(default=None, ge=0)


class PartnerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    callback_url: str | None = None
    decision_delay_ms: int | None = Field(default=None, ge=0, le=600_000)
    policy: PartnerPolicy | None = None


@dataclass(slots=True)
class Approval:
    partner_reference: str
    request_id: str
    loan_id: str
    amount_fen: int
    currency: str
    fingerprint: str
    callback_url: str
    status: str = "pending"  # pending | approved | declined
    approved_amount_fen: int = 0
    reason_code: str = ""

    def view(self, partner_code: str) -> dict[str, Any]:
        data = asdict(self)
        data.pop("fingerprint")
        data.pop("callback_url")
        return {**data, "partner_code": partner_code}


def decide(policy: PartnerPolicy, body: ApprovalBody, approved_so_far_fen: int) -> str:
    """The bank's reason to decline, or '' to approve."""
    if body.score_band not in policy.accepted_bands:
        return "score_band_not_accepted"
    if not policy.min_amount_fen <= body.amount_fen <= policy.max_amount_fen:
        return "amount_out_of_range"
    if body.term_days > policy.max_term_days:
        return "term_not_offered"
    if policy.regions and body.region_code not in policy.regions:
        return "region_not_served"
    if policy.quota_fen is not None and approved_so_far_fen + body.amount_fen > policy.quota_fen:
        return "quota_exhausted"
    return ""


class PartnerBank:
    """In-memory state; touched only from the event loop with no await inside a check-and-set."""

    def __init__(
        self,
        secret: str,
        callback_url: str = "",
        seed: int = 0,
        decision_delay_ms: int = 100,
        partner_code: str = "PB01",
        policy: PartnerPolicy | None = None,
    ) -> None:
        self.callback_url = callback_url
        self.decision_delay_ms = decision_delay_ms
        self.partner_code = partner_code
        self.policy = policy or PartnerPolicy()
        self.faults = FaultBoard(frozenset({"never_answer", "duplicate_callbacks"}), seed)
        self.sender = CallbackSender(secret)
        self.approvals: dict[str, Approval] = {}
        self.approved_fen = 0
        self._deciding: set[asyncio.Task[None]] = set()

    def submit(self, body: ApprovalBody) -> tuple[int, dict[str, Any]]:
        canonical = json.dumps(body.model_dump(exclude={"callback_url"}), sort_keys=True)
        fingerprint = hashlib.sha256(canonical.encode()).hexdigest()
        existing = self.approvals.get(body.request_id)
        if existing is not None:
            if existing.fingerprint != fingerprint:
                return 409, {"error": "request_id_reused"}
            return 200, {**existing.view(self.partner_code), "replayed": True}
        digest = hashlib.sha256(f"{self.faults.seed}:{body.request_id}".encode()).hexdigest()
        approval = Approval(
            partner_reference=self.partner_code + "-" + digest[:16].upper(),
            request_id=body.request_id,
            loan_id=body.loan_id,
            amount_fen=body.amount_fen,
            currency=body.currency,
            fingerprint=fingerprint,
            callback_url=body.callback_url or self.callback_url,
        )
        self.approvals[body.request_id] = approval
        # Faults are drawn now, in arrival order, so a seeded run repeats itself.
        silent = self.faults.fires("never_answer", body.request_id) is not None
        duplicate = self.faults.fires("duplicate_callbacks", body.request_id)
        copies = duplicate.copies if duplicate else 1
        task = asyncio.get_running_loop().create_task(self._decide(approval, body, silent, copies))
        self._deciding.add(task)
        task.add_done_callback(self._deciding.discard)
        return 202, {**approval.view(self.partner_code), "replayed": False}

    async def _decide(
        self, approval: Approval, body: ApprovalBody, silent: bool, copies: int
    ) -> None:
        await asyncio.sleep(self.decision_delay_ms / 1000)
        if silent:
            return
        reason = decide(self.policy, body, self.approved_fen)
        approval.status = "declined" if reason else "approved"
        approval.reason_code = reason
        approval.approved_amount_fen = 0 if reason else approval.amount_fen
        self.approved_fen += approval.approved_amount_fen
        data = approval.view(self.partner_code)
        event = {
            "event_id": f"dec_{approval.partner_reference}",
            "type": f"approval.{approval.status}",
            "created_at": dt.datetime.now(dt.UTC).isoformat(),
            "data": data,
        }
        for copy in range(copies):
            self.sender.schedule(approval.callback_url, event, delay_s=0.02 * copy)

    def configure(self, config: PartnerConfig) -> None:
        if config.callback_url is not None:
            self.callback_url = config.callback_url
        if config.decision_delay_ms is not None:
            self.decision_delay_ms = config.decision_delay_ms
        if config.policy is not None:
            self.policy = config.policy

    async def reset(self, options: dict[str, Any]) -> None:
        tasks = list(self._deciding)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.sender.cancel_all()
        self.approvals.clear()
        self.approved_fen = 0
        self.policy = PartnerPolicy()
        self.configure(
            PartnerConfig.model_validate({k: v for k, v in options.items() if k != "seed"})
        )

    def stats(self) -> dict[str, Any]:
        by_status: dict[str, int] = {}
        for approval in self.approvals.values():
            by_status[approval.status] = by_status.get(approval.status, 0) + 1
        return {
            "approvals": len(self.approvals),
            "by_status": by_status,
            "approved_fen": self.approved_fen,
            "deciding": len(self._deciding),
            **self.sender.stats(),
        }


def create_app(
    secret: str,
    callback_url: str = "",
    seed: int = 0,
    decision_delay_ms: int = 100,
    partner_code: str = "PB01",
    policy: PartnerPolicy | None = None,
) -> FastAPI:
    bank = PartnerBank(secret, callback_url, seed, decision_delay_ms, partner_code, policy)
    app = FastAPI(title=f"mobilend sandbox partner bank {partner_code}", version="1")
    app.state.bank = bank
    app.include_router(admin_router(bank.faults, bank.reset, bank.stats))

    @app.post("/admin/config")
    async def configure(config: PartnerConfig) -> dict[str, Any]:
        bank.configure(config)
        return {**bank.stats(), "policy": bank.policy.model_dump()}

    @app.post("/approvals", status_code=202)
    async def request_approval(body: ApprovalBody, request: Request) -> Any:
        verdict = await bank.faults.before(local_path(request), body.request_id)
        if verdict.response is not None:
            return verdict.response
        status, payload = bank.submit(body)
        late = await bank.faults.after(verdict)
        return late or JSONResponse(payload, status_code=status)

    @app.get("/approvals/{request_id}")
    async def approval_status(request_id: str, request: Request) -> Any:
        verdict = await bank.faults.before(local_path(request), request_id)
        if verdict.response is not None:
            return verdict.response
        approval = bank.approvals.get(request_id)
        late = await bank.faults.after(verdict)
        if late is not None:
            return late
        if approval is None:
            return JSONResponse({"error": "not_found"}, status_code=404)
        return approval.view(bank.partner_code)

    return app
