"""Origination over HTTP: a borrower from nothing to money paid out, N at a time.

The service runs as in production on this machine: ``mobilend serve`` (one uvicorn
process, which also sends the payouts) on a fresh database, the SMS and payment sandboxes
in their own processes at zero latency. Each simulated borrower, over real HTTP:

    code by SMS → sign in → identity → 3 consents → apply (授信) → offer → contract →
    sign → poll the payout until paid out

Figures: apply → paid out p50/p99 (the borrower's wait, from the credit application to
the payout confirmed by the rail), loans paid out per second with N clients (whole
journeys, onboarding included), and API requests per second. References from the same
run: pgbench TPC-B on the same server, the one-row-insert endpoint and ``GET /health``
from the same number of clients.
"""

from __future__ import annotations

import random
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from stdnum import luhn
from stdnum.cn import ric

from mobilend.adapters.db.engine import normalise_url
from mobilend.benchmarks import processes
from mobilend.benchmarks.insert_endpoint import TABLE_DDL
from mobilend.benchmarks.measure import Results, Sizes, percentile
from mobilend.benchmarks.references import http_rate, pgbench_tpcb_tps

REFUSED_CARD_ENDINGS = ("0054", "0014", "0062")  # the payment sandbox refuses these


def pgbench_reference(results: Results, sizes: Sizes) -> None:
    """pgbench TPC-B on the same server, in a database of its own, once per run."""
    if "references.pgbench_tpcb_tps" in results.values:
        return
    with processes.fresh_database("pgbench", migrated=False) as url:
        tps = pgbench_tpcb_tps(url, sizes.pgbench_scale, sizes.pgbench_seconds)
    results.reference("pgbench_tpcb_tps", tps)


class Identities:
    """Distinct, valid phone numbers, national ids and bank cards (thread-safe)."""

    def __init__(self, seed: int = 20260302) -> None:
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def next(self) -> tuple[str, str, str]:
        with self._lock:
            rng = self._rng
            phone = f"13{rng.randint(0, 9)}{rng.randint(10_000_000, 99_999_998)}"
            year, month, day = 1985 + rng.randint(0, 15), rng.randint(1, 12), rng.randint(1, 28)
            body = f"110101{year}{month:02d}{day:02d}{rng.randint(100, 999)}"
            while True:
                stem = f"622202{rng.randint(10**11, 10**12 - 1)}"
                card = stem + luhn.calc_check_digit(stem)
                if card[-4:] not in REFUSED_CARD_ENDINGS:
                    break
        if phone.endswith("0000"):
            phone = phone[:-1] + "7"
        return phone, body + ric.calc_check_digit(body + "0"), card


@dataclass(frozen=True)
class Journey:
    apply_to_paid: float
    requests: int


#: Each client thread's two HTTP clients (the service, the SMS sandbox), kept across its
#: journeys as the reference's clients are: building one costs milliseconds of the
#: machine's CPU (an SSL context), which the borrowers' phones would not be taking.
_clients = threading.local()


def _open_clients(base_url: str, opened: list[httpx.Client]) -> None:
    _clients.http = httpx.Client(base_url=base_url, timeout=60)
    _clients.sms = httpx.Client(timeout=30)
    opened += (_clients.http, _clients.sms)  # one thread at a time: the GIL holds it


def originate(sms_url: str, identities: Identities) -> Journey:
    """One borrower's journey on this thread's clients (``_open_clients``)."""
    phone, national_id, card = identities.next()
    http: httpx.Client = _clients.http
    sms: httpx.Client = _clients.sms
    headers: dict[str, str] = {}
    requests = 0

    def call(method: str, path: str, **kwargs: Any) -> Any:
        nonlocal requests
        requests += 1
        response = http.request(
            method, path, headers={**headers, **kwargs.pop("headers", {})}, **kwargs
        )
        if response.status_code >= 300:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:300]}")
        return response.json() if response.content else None

    call("POST", "/api/v1/auth/otp", json={"phone": phone})
    code = ""
    while not code:
        found = sms.get(
            f"{sms_url}/messages", params={"recipient": "+86" + phone, "limit": 1}
        ).json()
        code = found["messages"][0]["codes"][0] if found["messages"] else ""
    tokens = call("POST", "/api/v1/auth/otp/verify", json={"phone": phone, "code": code})
    headers["Authorization"] = f"Bearer {tokens['access_token']}"
    headers["X-Device-Id"] = f"bench-{uuid.uuid4().hex[:10]}"
    call(
        "PUT",
        "/api/v1/me/kyc",
        json={"real_name": "王小明", "national_id": national_id, "bank_card": card},
    )
    texts = {t["purpose"]: t["text_version"] for t in call("GET", "/api/v1/consent-texts")["items"]}
    for purpose in ("credit_report_query", "data_use", "e_contract"):
        call(
            "POST",
            "/api/v1/me/consents",
            json={"purpose": purpose, "text_version": texts[purpose]},
        )
    applied = time.perf_counter()
    line_id = call("POST", "/api/v1/credit-applications", json={"monthly_income_fen": 1_200_000})[
        "line_id"
    ]
    offer = {"line_id": line_id, "amount_fen": 500_000, "periods": 6}
    call("POST", "/api/v1/offers", json=offer)
    contract = call("POST", "/api/v1/contracts", json=offer)
    signed = call(
        "POST",
        f"/api/v1/contracts/{contract['contract_id']}/sign",
        json={"sha256": contract["sha256"], "accept": True},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    loan_id = signed["loan"]["loan_id"]
    # As the app does after signing: the payout's status alone until the money arrives.
    while (status := call("GET", f"/api/v1/loans/{loan_id}/disbursement")["status"]) == ("pending"):
        time.sleep(0.01)
    if status != "paid":
        raise RuntimeError(f"loan {loan_id}: payout {status}")
    return Journey(time.perf_counter() - applied, requests)


def run_journeys(
    base_url: str, sms_url: str, count: int, clients: int, identities: Identities
) -> tuple[list[Journey], float, list[str]]:
    errors: list[str] = []
    done: list[Journey] = []
    opened: list[httpx.Client] = []
    with ThreadPoolExecutor(
        clients, initializer=_open_clients, initargs=(base_url, opened)
    ) as pool:
        # Every thread started (and its clients open) before the clock starts.
        list(pool.map(lambda _: time.sleep(0.05), range(clients)))
        started = time.perf_counter()
        futures = [pool.submit(originate, sms_url, identities) for _ in range(count)]
        for future in futures:
            try:
                done.append(future.result())
            except Exception as exc:  # reported, and the run fails below
                errors.append(str(exc))
        elapsed = time.perf_counter() - started
    for client in opened:
        client.close()
    return done, elapsed, errors


def origination(results: Results, sizes: Sizes) -> None:
    pgbench_reference(results, sizes)
    children = processes.Children()
    with processes.fresh_database("origination") as url:
        try:
            engine = sa.create_engine(normalise_url(url), pool_size=1)
            with engine.begin() as conn:
                conn.execute(sa.text(TABLE_DDL))
            engine.dispose()
            insert_base = processes.start_insert_endpoint(children, url)
            insert = http_rate(
                insert_base, "/rows", sizes.clients, sizes.reference_seconds, {"amount_fen": 500}
            )
            children.stop()
            gateways = processes.start_gateways(children)
            var_dir = Path(tempfile.mkdtemp(prefix="mobilend-bench-var-"))
            env = processes.service_env(url, var_dir, gateways)
            base = processes.start_service(children, env, sizes.serve_workers)
            identities = Identities()
            warm, _, _ = run_journeys(base, gateways.sms_url, min(4, sizes.loans), 2, identities)
            journeys, elapsed, errors = run_journeys(
                base, gateways.sms_url, sizes.loans, sizes.clients, identities
            )
            health = http_rate(base, "/health", sizes.clients, sizes.reference_seconds)
        finally:
            children.stop()
    if errors or not journeys:
        raise RuntimeError(
            f"{len(errors)} of {sizes.loans} journeys failed; first: {errors[:1] or '—'}"
        )
    results.reference("insert_endpoint_per_s", insert.per_s)
    results.reference("insert_endpoint_p50_ms", insert.p50_ms)
    results.reference("insert_endpoint_p99_ms", insert.p99_ms)
    results.reference("health_per_s", health.per_s)
    waits = [j.apply_to_paid * 1000 for j in journeys]
    label = f"apply → paid out over HTTP, sandbox at zero latency, {sizes.clients} clients"
    if sizes.serve_workers > 1:
        label += f", {sizes.serve_workers} service processes"
    for name, q in (("origination.p50_ms", 50), ("origination.p99_ms", 99)):
        results.figure(
            name, percentile(waits, q),
            label=f"{label}, p{q}", unit="ms",
            reference=f"insert_endpoint_p{q}_ms",
            reference_label=f"one-row-insert endpoint, same clients, p{q} ms",
            per="× an insert request",
        )  # fmt: skip
    results.figure(
        "origination.loans_per_s", len(journeys) / elapsed,
        label=f"loans signed and paid out per second (whole journeys), {sizes.clients} clients",
        unit="/s", reference="pgbench_tpcb_tps",
        reference_label="pgbench TPC-B, same server, 4 clients, tps",
        per="loans per TPC-B transaction; goal ≥ 0.10",
    )  # fmt: skip
    requests = sum(j.requests for j in journeys)
    results.figure(
        "origination.requests_per_s", requests / elapsed,
        label=f"borrower API requests per second during those journeys ({requests // len(journeys)} each)",
        unit="/s", reference="health_per_s",
        reference_label=f"`GET /health`, {sizes.clients} clients, /s",
        per="journey requests per `/health` request",
    )  # fmt: skip
    results.details["origination"] = {
        "loans": len(journeys),
        "clients": sizes.clients,
        "warm_up_loans": len(warm),
        "serve_workers": sizes.serve_workers,
        "seconds": round(elapsed, 2),
    }
