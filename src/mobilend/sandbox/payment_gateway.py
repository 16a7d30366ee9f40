"""Sandbox payment gateway: payouts to and debits from bank cards, over real HTTP.

Wire format (amounts are integer fen, never decimals):

* ``POST /payouts`` and ``POST /debits`` with header ``Idempotency-Key`` and body
  ``{"loan_id", "amount_fen", "currency", "account_name", "card_number", "bank_code",
  "callback_url"?}`` → ``202`` ``{"reference", "status": "pending", ...}``. The same key
  with the same body answers ``200`` with the same transaction (``"replayed": true``):
  money moves at most once per key. The same key with a different body → ``409``.
* ``GET /payouts/{key}``, ``GET /debits/{key}`` → the transaction as it stands, or 404.
* ``GET /statements/{YYYY-MM-DD}`` → NDJSON, one line per transaction settled that
  business date: ``reference, idempotency_key, direction, loan_id, amount_fen, currency,
  status, failure_code, settled_on``.
* The final status arrives by signed webhook (see ``webhooks.py``) to the request's
  ``callback_url`` or the one configured at startup. Event body::

      {"event_id", "type": "payout.succeeded" | "payout.failed" | "debit.…",
       "sequence", "attempt", "final", "created_at", "data": {…the transaction…}}

  A receiver applies an event only when ``final`` is true, ignores ``sequence`` numbers
  it has already passed, and deduplicates by ``event_id``.

Card rules (last four digits of the card number decide the outcome):

=========  =====================  ===============================
ends with  failure_code           applies to
=========  =====================  ===============================
``0051``   ``insufficient_funds``  debits (a payout still succeeds)
``0054``   ``card_expired``        debits and payouts
``0014``   ``invalid_card``        debits and payouts
``0062``   ``card_restricted``     debits and payouts (frozen account)
=========  =====================  ===============================

Any other card succeeds. Settlement happens ``settle_delay_ms`` after acceptance and is
dated with the gateway's business date (``POST /admin/config {"business_date"}``).

Callback faults (besides the request faults in ``faults.py``), keyed by idempotency key:

* ``duplicate_callbacks`` — the final event is sent ``copies`` times (same event id).
* ``out_of_order_callbacks`` — a stale, non-final ``failed`` event for attempt 1
  (``bank_timeout``) arrives ``delay_ms`` *after* the final event of attempt 2.
* ``unknown_callbacks`` — an extra, correctly signed event for a payout that never existed.
* ``never_confirm`` — settled (status endpoint and statement show it) but no callback.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from mobilend.sandbox.faults import FaultBoard, FaultSpec, admin_router, local_path
from mobilend.sandbox.webhooks import CallbackSender

CARD_RULES: dict[str, tuple[str, frozenset[str]]] = {
    "0051": ("insufficient_funds", frozenset({"debit"})),
    "0054": ("card_expired", frozenset({"debit", "payout"})),
    "0014": ("invalid_card", frozenset({"debit", "payout"})),
    "0062": ("card_restricted", frozenset({"debit", "payout"})),
}

WIRE_FIELDS = (
    "reference",
    "idempotency_key",
    "direction",
    "loan_id",
    "amount_fen",
    "currency",
    "status",
    "failure_code",
    "settled_on",
)

CALLBACK_FAULTS = frozenset(
    {"duplicate_callbacks", "out_of_order_callbacks", "unknown_callbacks", "never_confirm"}
)


def card_outcome(card_number: str, direction: str) -> str:
    """Failure code for this card and direction, or '' when it succeeds."""
    rule = CARD_RULES.get(card_number[-4:])
    if rule and direction in rule[1]:
        return rule[0]
    return ""


class TransferBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    loan_id: str = Field(min_length=1, max_length=100)
    amount_fen: StrictInt = Field(gt=0, le=10**12)
    currency: str = Field(default="CNY", pattern=r"^[A-Z]{3}$")
    account_name: str = Field(min_length=1, max_length=200)
    card_number: str = Field(pattern=r"^[0-9]{12,19}$")
    bank_code: str = Field(default="", max_length=20)
    callback_url: str = Field(default="", max_length=2000)


class GatewayConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    callback_url: str | None = None
    settle_delay_ms: int | None = Field(default=None, ge=0, le=600_000)
    business_date: dt.date | None = None


@dataclass(slots=True)
class Transaction:
    reference: str
    idempotency_key: str
    direction: str  # payout | debit
    loan_id: str
    amount_fen: int
    currency: str
    card_last4: str
    fingerprint: str
    callback_url: str
    status: str = "pending"  # pending | succeeded | failed
    failure_code: str = ""
    settled_on: str | None = None
    attempt: int = 1
    sequence: int = 0

    def view(self) -> dict[str, Any]:
        """What the wire shows: no card digits, no fingerprint."""
        data = asdict(self)
        return {k: data[k] for k in WIRE_FIELDS}


def _fingerprint(direction: str, body: TransferBody) -> str:
    fields = body.model_dump(exclude={"callback_url"})
    canonical = json.dumps({"direction": direction, **fields}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _today_in_china() -> dt.date:
    return dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()


class PaymentGateway:
    """In-memory state of the gateway. Touched only from the event loop, never across an
    ``await`` between a check and its update, so concurrent requests cannot race."""

    def __init__(
        self,
        secret: str,
        callback_url: str = "",
        seed: int = 0,
        settle_delay_ms: int = 50,
        business_date: dt.date | None = None,
    ) -> None:
        self.secret = secret
        self.callback_url = callback_url
        self.settle_delay_ms = settle_delay_ms
        self.business_date = business_date or _today_in_china()
        self.faults = FaultBoard(CALLBACK_FAULTS, seed)
        self.sender = CallbackSender(secret)
        self.transactions: dict[str, Transaction] = {}
        self._settling: set[asyncio.Task[None]] = set()

    # -- requests -------------------------------------------------------------
    def reference_for(self, key: str) -> str:
        digest = hashlib.sha256(f"{self.faults.seed}:{key}".encode()).hexdigest()
        return "PG" + digest[:20].upper()

    def submit(self, direction: str, key: str, body: TransferBody) -> tuple[int, dict[str, Any]]:
        fingerprint = _fingerprint(direction, body)
        existing = self.transactions.get(key)
        if existing is not None:
            if existing.fingerprint != fingerprint:
                return 409, {
                    "error": "idempotency_key_reused",
                    "message": "this Idempotency-Key was used with a different request",
                }
            return 200, {**existing.view(), "replayed": True}
        tx = Transaction(
            reference=self.reference_for(key),
            idempotency_key=key,
            direction=direction,
            loan_id=body.loan_id,
            amount_fen=body.amount_fen,
            currency=body.currency,
            card_last4=body.card_number[-4:],
            fingerprint=fingerprint,
            callback_url=body.callback_url or self.callback_url,
        )
        self.transactions[key] = tx
        # Callback faults are drawn now, in arrival order, so a seeded run repeats itself.
        plan = {mode: self.faults.fires(mode, key) for mode in sorted(CALLBACK_FAULTS)}
        task = asyncio.get_running_loop().create_task(self._settle(tx, body.card_number, plan))
        self._settling.add(task)
        task.add_done_callback(self._settling.discard)
        return 202, {**tx.view(), "replayed": False}

    async def _settle(
        self, tx: Transaction, card_number: str, plan: dict[str, FaultSpec | None]
    ) -> None:
        await asyncio.sleep(self.settle_delay_ms / 1000)
        failure = card_outcome(card_number, tx.direction)
        out_of_order = plan["out_of_order_callbacks"]
        stale_event = None
        if out_of_order:
            # Attempt 1 timed out at the bank; attempt 2 decided. Its event overtakes.
            tx.sequence += 1
            stale = Transaction(**{**asdict(tx), "status": "failed"})
            stale.failure_code = "bank_timeout"
            stale.settled_on = self.business_date.isoformat()
            stale_event = self._event(stale, final=False)
            tx.attempt = 2
        tx.status = "failed" if failure else "succeeded"
        tx.failure_code = failure
        tx.settled_on = self.business_date.isoformat()
        tx.sequence += 1
        if plan["never_confirm"]:
            return
        final_event = self._event(tx, final=True)
        duplicate = plan["duplicate_callbacks"]
        copies = duplicate.copies if duplicate else 1
        for copy in range(copies):
            self.sender.schedule(tx.callback_url, final_event, delay_s=0.02 * copy)
        if stale_event is not None and out_of_order is not None:
            self.sender.schedule(tx.callback_url, stale_event, delay_s=out_of_order.delay_ms / 1000)
        if plan["unknown_callbacks"]:
            self.sender.schedule(tx.callback_url, self._unknown_event(tx))

    def _event(self, tx: Transaction, final: bool) -> dict[str, Any]:
        return {
            "event_id": f"evt_{tx.reference}_{tx.sequence}",
            "type": f"{tx.direction}.{tx.status}",
            "sequence": tx.sequence,
            "attempt": tx.attempt,
            "final": final,
            "created_at": dt.datetime.now(dt.UTC).isoformat(),
            "data": tx.view(),
        }

    def _unknown_event(self, tx: Transaction) -> dict[str, Any]:
        ghost_key = "unknown-" + hashlib.sha256(tx.reference.encode()).hexdigest()[:16]
        ghost = Transaction(**{**asdict(tx), "idempotency_key": ghost_key})
        ghost.reference = self.reference_for(ghost_key)
        ghost.loan_id = "unknown-loan"
        return self._event(ghost, final=True)

    def lookup(self, direction: str, key: str) -> Transaction | None:
        tx = self.transactions.get(key)
        return tx if tx is not None and tx.direction == direction else None

    def statement(self, day: dt.date) -> list[dict[str, Any]]:
        iso = day.isoformat()
        lines = [tx.view() for tx in self.transactions.values() if tx.settled_on == iso]
        return sorted(lines, key=lambda line: line["reference"])

    # -- admin ----------------------------------------------------------------
    def configure(self, config: GatewayConfig) -> None:
        if config.callback_url is not None:
            self.callback_url = config.callback_url
        if config.settle_delay_ms is not None:
            self.settle_delay_ms = config.settle_delay_ms
        if config.business_date is not None:
            self.business_date = config.business_date

    async def reset(self, options: dict[str, Any]) -> None:
        tasks = list(self._settling)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.sender.cancel_all()
        self.transactions.clear()
        self.configure(
            GatewayConfig.model_validate({k: v for k, v in options.items() if k != "seed"})
        )

    def stats(self) -> dict[str, Any]:
        by_status: dict[str, int] = {}
        for tx in self.transactions.values():
            by_status[tx.status] = by_status.get(tx.status, 0) + 1
        return {
            "transactions": len(self.transactions),
            "by_status": by_status,
            "settling": len(self._settling),
            "business_date": self.business_date.isoformat(),
            **self.sender.stats(),
        }


def create_app(
    secret: str,
    callback_url: str = "",
    seed: int = 0,
    settle_delay_ms: int = 50,
    business_date: dt.date | None = None,
) -> FastAPI:
    gateway = PaymentGateway(secret, callback_url, seed, settle_delay_ms, business_date)
    app = FastAPI(title="mobilend sandbox payment gateway", version="1")
    app.state.gateway = gateway
    app.include_router(admin_router(gateway.faults, gateway.reset, gateway.stats))

    @app.post("/admin/config")
    async def configure(config: GatewayConfig) -> dict[str, Any]:
        gateway.configure(config)
        return gateway.stats()

    async def submit(direction: str, request: Request, key: str, body: TransferBody) -> Any:
        verdict = await gateway.faults.before(local_path(request), key)
        if verdict.response is not None:
            return verdict.response
        status, payload = gateway.submit(direction, key, body)
        late = await gateway.faults.after(verdict)
        return late or JSONResponse(payload, status_code=status)

    @app.post("/payouts", status_code=202)
    async def create_payout(
        request: Request,
        body: TransferBody,
        idempotency_key: str = Header(alias="Idempotency-Key", min_length=1, max_length=200),
    ) -> Any:
        return await submit("payout", request, idempotency_key, body)

    @app.post("/debits", status_code=202)
    async def create_debit(
        request: Request,
        body: TransferBody,
        idempotency_key: str = Header(alias="Idempotency-Key", min_length=1, max_length=200),
    ) -> Any:
        return await submit("debit", request, idempotency_key, body)

    async def show(direction: str, request: Request, key: str) -> Any:
        verdict = await gateway.faults.before(local_path(request), key)
        if verdict.response is not None:
            return verdict.response
        tx = gateway.lookup(direction, key)
        late = await gateway.faults.after(verdict)
        if late is not None:
            return late
        if tx is None:
            return JSONResponse({"error": "not_found"}, status_code=404)
        return tx.view()

    @app.get("/payouts/{key}")
    async def get_payout(key: str, request: Request) -> Any:
        return await show("payout", request, key)

    @app.get("/debits/{key}")
    async def get_debit(key: str, request: Request) -> Any:
        return await show("debit", request, key)

    @app.get("/statements/{day}")
    async def get_statement(day: dt.date, request: Request) -> Any:
        verdict = await gateway.faults.before(local_path(request), local_path(request))
        if verdict.response is not None:
            return verdict.response
        lines = gateway.statement(day)
        late = await gateway.faults.after(verdict)
        if late is not None:
            return late
        text = "".join(json.dumps(line, sort_keys=True) + "\n" for line in lines)
        return PlainTextResponse(text, media_type="application/x-ndjson")

    return app
