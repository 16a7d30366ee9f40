"""Sandbox SMS + app-push gateway: records every message, returns delivery receipts.

Wire format:

* ``POST /sms`` ``{"message_id", "recipient": phone, "body", "kind", "callback_url"?}`` and
  ``POST /push`` ``{"message_id", "recipient": device token, "title"?, "body", "kind",
  "callback_url"?}`` → ``202`` ``{"gateway_reference", "message_id", "status": "accepted"}``.
  Idempotent by ``message_id``: the same message again → ``200`` with the same reference
  (``"replayed": true``) and nothing is sent twice; another message under the same id → 409.
* ``GET /messages?recipient=…&channel=…&limit=…`` → newest first, each with ``codes``: the
  4–8 digit numbers in the body, so a developer can read an OTP.
* ``GET /`` → a page for people: the sandbox test identities (``test_identities.py``)
  with the newest sign-in code sent to each one's phone, and the latest messages.
  ``GET /test-identities`` → the identities as JSON.
  ``GET /messages/{message_id}`` → one message with its delivery status.
* Receipts: a signed webhook (see ``webhooks.py``) to the message's or the configured
  ``callback_url``: ``{"event_id", "type": "message.delivered" | "message.failed",
  "created_at", "data": {"message_id", "gateway_reference", "channel", "recipient",
  "status", "error"}}``; or poll ``GET /receipts?since=<seq>`` → ``{"receipts", "next"}``.

Delivery rules: a phone number ending in ``0000`` is unreachable (``failed``,
``unreachable``); a push token starting with ``invalid`` is ``failed``, ``token_invalid``;
everything else is ``delivered`` ``receipt_delay_ms`` after acceptance.

Faults: the request faults in ``faults.py`` (``down`` = failing forever), plus
``drop_receipts`` (message recorded, no receipt ever).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import html
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from mobilend.sandbox.faults import FaultBoard, admin_router, local_path
from mobilend.sandbox.test_identities import IDENTITIES, identities_table_html, page
from mobilend.sandbox.webhooks import CallbackSender

CODE_PATTERN = re.compile(r"(?<!\d)\d{4,8}(?!\d)")


class SmsBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message_id: str = Field(min_length=1, max_length=200)
    recipient: str = Field(pattern=r"^\+?[0-9]{6,15}$")
    body: str = Field(min_length=1, max_length=1000)
    kind: Literal["service", "legal", "marketing", "otp"] = "service"
    callback_url: str = Field(default="", max_length=2000)


class PushBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message_id: str = Field(min_length=1, max_length=200)
    recipient: str = Field(min_length=1, max_length=500)
    title: str = Field(default="", max_length=200)
    body: str = Field(min_length=1, max_length=2000)
    kind: Literal["service", "legal", "marketing", "otp"] = "service"
    callback_url: str = Field(default="", max_length=2000)


class MessagingConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    callback_url: str | None = None
    receipt_delay_ms: int | None = Field(default=None, ge=0, le=600_000)


@dataclass(slots=True)
class Message:
    gateway_reference: str
    message_id: str
    channel: str
    recipient: str
    title: str
    body: str
    kind: str
    callback_url: str
    received_at: str
    status: str = "accepted"  # accepted | delivered | failed
    error: str = ""
    codes: list[str] = field(default_factory=list)

    def view(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("callback_url")
        return data


def delivery_outcome(channel: str, recipient: str) -> str:
    """Error code, or '' when the message reaches the phone."""
    if channel == "sms" and recipient.endswith("0000"):
        return "unreachable"
    if channel == "push" and recipient.startswith("invalid"):
        return "token_invalid"
    return ""


class MessagingGateway:
    """In-memory state; touched only from the event loop with no await inside a check-and-set."""

    def __init__(
        self, secret: str, callback_url: str = "", seed: int = 0, receipt_delay_ms: int = 50
    ) -> None:
        self.callback_url = callback_url
        self.receipt_delay_ms = receipt_delay_ms
        self.faults = FaultBoard(frozenset({"drop_receipts"}), seed)
        self.sender = CallbackSender(secret)
        self.messages: dict[str, Message] = {}
        self.receipts: list[dict[str, Any]] = []
        self._pending: set[asyncio.Task[None]] = set()

    def accept(self, channel: str, body: SmsBody | PushBody) -> tuple[int, dict[str, Any]]:
        title = body.title if isinstance(body, PushBody) else ""
        existing = self.messages.get(body.message_id)
        if existing is not None:
            same = (existing.channel, existing.recipient, existing.title, existing.body) == (
                channel,
                body.recipient,
                title,
                body.body,
            )
            if not same:
                return 409, {"error": "message_id_reused"}
            return 200, {**self._ack(existing), "replayed": True}
        digest = hashlib.sha256(f"{self.faults.seed}:{body.message_id}".encode()).hexdigest()
        message = Message(
            gateway_reference=("SM" if channel == "sms" else "PU") + digest[:18].upper(),
            message_id=body.message_id,
            channel=channel,
            recipient=body.recipient,
            title=title,
            body=body.body,
            kind=body.kind,
            callback_url=body.callback_url or self.callback_url,
            received_at=dt.datetime.now(dt.UTC).isoformat(),
            codes=CODE_PATTERN.findall(body.body),
        )
        self.messages[body.message_id] = message
        drop = self.faults.fires("drop_receipts", body.message_id) is not None  # arrival order
        task = asyncio.get_running_loop().create_task(self._deliver(message, drop))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        return 202, {**self._ack(message), "replayed": False}

    @staticmethod
    def _ack(message: Message) -> dict[str, Any]:
        return {
            "gateway_reference": message.gateway_reference,
            "message_id": message.message_id,
            "status": "accepted",
        }

    async def _deliver(self, message: Message, drop_receipt: bool) -> None:
        await asyncio.sleep(self.receipt_delay_ms / 1000)
        if drop_receipt:
            return
        error = delivery_outcome(message.channel, message.recipient)
        message.status = "failed" if error else "delivered"
        message.error = error
        data = {
            "message_id": message.message_id,
            "gateway_reference": message.gateway_reference,
            "channel": message.channel,
            "recipient": message.recipient,
            "status": message.status,
            "error": error,
        }
        self.receipts.append({"seq": len(self.receipts) + 1, **data})
        event = {
            "event_id": f"rcpt_{message.gateway_reference}",
            "type": f"message.{message.status}",
            "created_at": dt.datetime.now(dt.UTC).isoformat(),
            "data": data,
        }
        self.sender.schedule(message.callback_url, event)

    def find(self, recipient: str | None, channel: str | None, limit: int) -> list[dict[str, Any]]:
        found = [
            m.view()
            for m in reversed(self.messages.values())
            if (recipient is None or m.recipient == recipient)
            and (channel is None or m.channel == channel)
        ]
        return found[:limit]

    def latest_code(self, phone: str) -> str:
        """The newest sign-in code sent to an 11-digit mainland number ('' if none)."""
        for message in reversed(self.messages.values()):
            mine = message.recipient.removeprefix("+86") == phone
            if mine and message.message_id.startswith("otp-") and message.codes:
                return message.codes[0]
        return ""

    def index_page(self, latest: int = 20) -> str:
        codes = {i.phone: self.latest_code(i.phone) for i in IDENTITIES}
        table = identities_table_html({"最新验证码 Latest code": codes})
        rows = "".join(
            "<tr>"
            + "".join(
                f"<td>{html.escape(str(v))}</td>"
                for v in (m.received_at[:19], m.channel, m.recipient, m.body)
            )
            + "</tr>"
            for m in list(reversed(self.messages.values()))[:latest]
        )
        recent = (
            "<h2>最新消息 / Latest messages</h2><table><thead><tr><th>UTC</th><th>channel</th>"
            f"<th>recipient</th><th>body</th></tr></thead><tbody>{rows}</tbody></table>"
        )
        intro = (
            "<p>用下列任一手机号登录，验证码显示在本页（刷新即可）；实名认证时填写同一行的"
            "姓名、身份证号和银行卡，审批结果如第一列所示（默认评分引擎）。</p>"
            "<p>Sign in with any phone number below; its code appears on this page (reload). "
            "At identity verification enter the same row's name, resident ID and card: the "
            "decision is the first column's (default scoring engine).</p>"
        )
        return page("短信沙盒 / SMS sandbox", intro + table + recent)

    def configure(self, config: MessagingConfig) -> None:
        if config.callback_url is not None:
            self.callback_url = config.callback_url
        if config.receipt_delay_ms is not None:
            self.receipt_delay_ms = config.receipt_delay_ms

    async def reset(self, options: dict[str, Any]) -> None:
        tasks = list(self._pending)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.sender.cancel_all()
        self.messages.clear()
        self.receipts.clear()
        self.configure(
            MessagingConfig.model_validate({k: v for k, v in options.items() if k != "seed"})
        )

    def stats(self) -> dict[str, Any]:
        return {
            "messages": len(self.messages),
            "receipts": len(self.receipts),
            "receipts_pending": len(self._pending),
            **self.sender.stats(),
        }


def create_app(
    secret: str, callback_url: str = "", seed: int = 0, receipt_delay_ms: int = 50
) -> FastAPI:
    gateway = MessagingGateway(secret, callback_url, seed, receipt_delay_ms)
    app = FastAPI(title="mobilend sandbox SMS and push gateway", version="1")
    app.state.gateway = gateway
    app.include_router(admin_router(gateway.faults, gateway.reset, gateway.stats))

    @app.post("/admin/config")
    async def configure(config: MessagingConfig) -> dict[str, Any]:
        gateway.configure(config)
        return gateway.stats()

    async def accept(channel: str, request: Request, body: SmsBody | PushBody) -> Any:
        verdict = await gateway.faults.before(local_path(request), body.message_id)
        if verdict.response is not None:
            return verdict.response
        status, payload = gateway.accept(channel, body)
        late = await gateway.faults.after(verdict)
        return late or JSONResponse(payload, status_code=status)

    @app.post("/sms", status_code=202)
    async def send_sms(body: SmsBody, request: Request) -> Any:
        return await accept("sms", request, body)

    @app.post("/push", status_code=202)
    async def send_push(body: PushBody, request: Request) -> Any:
        return await accept("push", request, body)

    @app.get("/", response_class=HTMLResponse)
    async def index() -> str:
        return gateway.index_page()

    @app.get("/test-identities")
    async def test_identities() -> dict[str, Any]:
        return {"identities": [identity.as_json() for identity in IDENTITIES]}

    @app.get("/messages")
    async def list_messages(
        recipient: str | None = None, channel: str | None = None, limit: int = 50
    ) -> dict[str, Any]:
        return {"messages": gateway.find(recipient, channel, max(1, min(limit, 1000)))}

    @app.get("/messages/{message_id}")
    async def get_message(message_id: str) -> Any:
        message = gateway.messages.get(message_id)
        if message is None:
            return JSONResponse({"error": "not_found"}, status_code=404)
        return message.view()

    @app.get("/receipts")
    async def list_receipts(since: int = 0, limit: int = 500) -> dict[str, Any]:
        chunk = gateway.receipts[max(0, since) : max(0, since) + max(1, min(limit, 5000))]
        return {"receipts": chunk, "next": chunk[-1]["seq"] if chunk else since}

    return app
