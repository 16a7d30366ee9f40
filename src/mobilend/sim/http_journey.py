"""``mobilend simulate --http``: each applicant's journey through the borrower API over
real HTTP.

The world's own platform (its simulated clock, counter ids, SMS sink and rail) is served
as ``mobilend serve`` serves it — the whole ASGI app with its routers and edge middleware
— by uvicorn in a background thread on 127.0.0.1 and a free port, and an httpx client
walks each applicant through it: sign-in code (read from the SMS sink, as a phone would
read it) → sign in → identity → the three consents → apply (授信) → offer → contract →
sign → the loan. The payout goes out as in process (the disbursement worker's pass, in
this process); the rail's webhook comes back over HTTP to ``/api/v1/callbacks/rail``,
signed with the rail's secret like the real gateway's.

Client addresses: every request comes from 127.0.0.1, so the simulation trusts 127.0.0.1
as a reverse proxy (``trusted_proxies``) and sends each applicant's own address in
``X-Forwarded-For`` — the per-address limits on sign-in codes and the fraud rules see the
same addresses as in process — and each applicant's own ``X-Device-Id``. No limit is
raised.

Repeatability: the client waits after each response until the server has finished that
request, background tasks (the notices a route sends after answering) included, so ids
from the counter are taken in the same order every run.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import socket
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, cast

import httpx
import uvicorn
from pydantic import SecretStr
from uvicorn.importer import import_from_string

from mobilend.adapters.webhook_signature import signed_headers
from mobilend.app.funding.worker import run_cycle
from mobilend.config import Settings
from mobilend.domain.decisions import DecisionOutcome
from mobilend.domain.errors import DomainError
from mobilend.domain.money import Money
from mobilend.sandbox.messaging_gateway import CODE_PATTERN
from mobilend.sim.applicants import Person
from mobilend.sim.journeys import PRODUCT, Decided, Drafted, Signed, address_of, device_of
from mobilend.sim.world import World

#: The service's ASGI app, named as ``mobilend serve`` names it: the entry points sit above
#: the simulation's layer, so it is looked up by name, not imported.
APP_FACTORY = "mobilend.asgi:create_app"
API = "/api/v1"
CONSENTS = ("credit_report_query", "data_use", "e_contract")
LOOPBACK = "127.0.0.1"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[
    [Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]],
    Awaitable[None],
]


def served_settings(settings: Settings) -> Settings:
    """The settings for a served world: 127.0.0.1 (the simulation's client) is a trusted
    proxy, the rail signs its webhooks with a secret of this run when none is set, and no
    access-log line per request (thousands of them would bury the progress and the
    report; the request latencies go to the report's ``timing``)."""
    update: dict[str, Any] = {"trusted_proxies": LOOPBACK, "access_log": False}
    if not settings.rail_secret.get_secret_value():
        update["rail_secret"] = SecretStr(secrets.token_urlsafe(32))
    return settings.model_copy(update=update)


class RefusedOverHttp(DomainError):
    """A 4xx answer, carrying the API's machine code (as the use case's refusal would)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class FinishedRequests:
    """The ASGI app, counting the HTTP requests it has finished (background tasks run
    inside the call, so a finished request has nothing left running)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.finished = 0
        self._changed = threading.Condition()

    async def __call__(
        self,
        scope: Scope,
        receive: Callable[[], Awaitable[Message]],
        send: Callable[[Message], Awaitable[None]],
    ) -> None:
        try:
            await self.app(scope, receive, send)
        finally:
            if scope["type"] == "http":
                with self._changed:
                    self.finished += 1
                    self._changed.notify_all()

    def wait_for(self, count: int, timeout: float = 60) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: self.finished >= count, timeout):
                raise RuntimeError(f"the server finished {self.finished} of {count} requests")


class ServedPlatform:
    """The platform's ASGI app under uvicorn on 127.0.0.1:<free port>, in a daemon thread."""

    def __init__(self, world: World) -> None:
        create_app = import_from_string(APP_FACTORY)
        self.app = FinishedRequests(cast(ASGIApp, create_app(world.platform)))
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((LOOPBACK, 0))
        self.base_url = f"http://{LOOPBACK}:{self._socket.getsockname()[1]}"
        config = uvicorn.Config(
            self.app, log_level="warning", lifespan="off", access_log=False,
            proxy_headers=False,  # as ``mobilend serve``: the edge middleware decides
            timeout_graceful_shutdown=1,
        )  # fmt: skip
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def start(self) -> ServedPlatform:
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the simulation's API server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()


class HttpJourneys:
    """``sim.journeys.Journeys`` over HTTP against the world's platform, served here."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.server = ServedPlatform(world).start()
        self.http = httpx.Client(base_url=self.server.base_url + API, timeout=60)
        self.rail_secret = world.platform.settings.rail_secret.get_secret_value()
        self.tokens: dict[str, str] = {}
        self.sent = 0
        self.request_ms: list[float] = []
        self.apply_ms: list[float] = []

    # -- the wire -------------------------------------------------------------------
    def _call(
        self,
        method: str,
        path: str,
        person: Person | None = None,
        *,
        borrower_id: str = "",
        body: Any = None,
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
    ) -> Any:
        sent_headers = dict(headers or {})
        if person is not None:
            sent_headers["X-Device-Id"] = device_of(person)
            sent_headers["X-Forwarded-For"] = address_of(person)
        if borrower_id:
            sent_headers["Authorization"] = f"Bearer {self.tokens[borrower_id]}"
        started = time.perf_counter()
        response = self.http.request(method, path, json=body, content=content, headers=sent_headers)
        self.request_ms.append((time.perf_counter() - started) * 1000)
        self.sent += 1
        self.server.app.wait_for(self.sent)
        if response.status_code >= 500 or response.status_code < 200:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:300]}")
        if response.status_code >= 400:
            error = response.json().get("error", {})
            raise RefusedOverHttp(
                str(error.get("code", response.status_code)), str(error.get("message", ""))
            )
        return response.json() if response.content else None

    # -- Journeys -------------------------------------------------------------------
    def register(self, person: Person) -> str:
        # The credit data sources answer from the applicant's dataset row.
        self.world.rows[person.national_id] = person.features
        phone = person.phone.removeprefix("+86")
        self._call("POST", "/auth/otp", person, body={"phone": phone})
        found = CODE_PATTERN.search(self.world.sink.latest_sms.get(person.phone, ""))
        if found is None:
            raise RuntimeError(f"no sign-in code reached {person.phone}")
        signed_in = self._call(
            "POST", "/auth/otp/verify", person, body={"phone": phone, "code": found.group()}
        )
        borrower_id = str(signed_in["borrower_id"])
        self.tokens[borrower_id] = str(signed_in["access_token"])
        identity = {
            "real_name": person.name,
            "national_id": person.national_id,
            "bank_card": person.bank_card,
        }
        self._call("PUT", "/me/kyc", person, borrower_id=borrower_id, body=identity)
        texts = {
            t["purpose"]: t["text_version"]
            for t in self._call("GET", "/consent-texts", person)["items"]
        }
        for purpose in CONSENTS:
            consent = {"purpose": purpose, "text_version": texts[purpose]}
            self._call("POST", "/me/consents", person, borrower_id=borrower_id, body=consent)
        return borrower_id

    def apply(self, person: Person, borrower_id: str) -> Decided:
        started = time.perf_counter()
        application = self._call(
            "POST", "/credit-applications", person, borrower_id=borrower_id,
            body={"product_code": PRODUCT, "monthly_income_fen": person.monthly_income_fen},
        )  # fmt: skip
        ms = (time.perf_counter() - started) * 1000
        self.apply_ms.append(ms)
        limit = application.get("limit")
        return Decided(
            DecisionOutcome(application["outcome"]),
            application.get("line_id"),
            Money.from_minor(limit["amount_fen"], limit["currency"]) if limit else None,
            application.get("price_band"),
            ms,
        )

    def draft(
        self, person: Person, borrower_id: str, line_id: str, amount: Money, periods: int
    ) -> Drafted:
        offer = {"line_id": line_id, "amount_fen": amount.to_minor(), "periods": periods}
        self._call("POST", "/offers", person, borrower_id=borrower_id, body=offer)
        contract = self._call("POST", "/contracts", person, borrower_id=borrower_id, body=offer)
        return Drafted(
            contract["contract_id"], contract["sha256"], contract["terms"]["apr"]["rate"]
        )

    def sign(self, person: Person, borrower_id: str, draft: Drafted) -> Signed:
        signed = self._call(
            "POST", f"/contracts/{draft.contract_id}/sign", person, borrower_id=borrower_id,
            body={"sha256": draft.sha256, "accept": True},
            headers={"Idempotency-Key": f"sign-{borrower_id}"},
        )  # fmt: skip
        loan_id = str(signed["loan"]["loan_id"])
        funders = tuple(
            (
                str(f["funder_code"]),
                Money.from_minor(f["amount"]["amount_fen"], f["amount"]["currency"]),
            )
            for f in signed["disbursement"]["funders"]
        )
        loan = self._call("GET", f"/loans/{loan_id}", person, borrower_id=borrower_id)
        installments = tuple(
            (int(line["n"]), dt.date.fromisoformat(line["due_date"])) for line in loan["schedule"]
        )
        return Signed(loan_id, funders, installments)

    def pay_out(self) -> dict[str, bool]:
        """The disbursement worker's pass here; each rail webhook signed and posted to
        the callback route."""
        run_cycle(self.world.platform.disbursement)
        outcomes = {}
        for event in self.world.rail.drain():
            loan_id = event.idempotency_key.removeprefix("payout-")
            payload = {
                "event_id": event.event_id, "type": event.event_type,
                "sequence": event.sequence, "attempt": 1, "final": event.final,
                "created_at": self.world.clock.now().isoformat(),
                "data": {
                    "idempotency_key": event.idempotency_key, "reference": event.rail_reference,
                    "direction": event.direction, "loan_id": loan_id,
                    "amount_fen": event.amount.to_minor(), "currency": event.amount.currency,
                    "status": event.status, "failure_code": event.failure_code,
                    "settled_on": event.settled_on.isoformat(),
                },
            }  # fmt: skip
            raw = json.dumps(payload).encode()
            headers = {"Content-Type": "application/json"}
            headers.update(signed_headers(self.rail_secret, raw))
            answer = self._call("POST", "/callbacks/rail", headers=headers, content=raw)
            outcomes[loan_id] = answer["outcome"] == "paid"
        return outcomes

    def close(self) -> dict[str, list[float]]:
        self.http.close()
        self.server.stop()
        return {"http.request_ms": self.request_ms, "http.apply_ms": self.apply_ms}
