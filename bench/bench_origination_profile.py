"""One borrower's origination, request by request: wall time, SQL statements, commits
and pool checkouts of each call, then the payout worker's share from sign to paid.

The service runs in this process (uvicorn on a thread, as ``mobilend serve`` runs it,
on a fresh benchmark database), the SMS and payment sandboxes in their own processes at
zero latency. SQLAlchemy engine events count what each request sends to PostgreSQL:
every statement, every COMMIT and every pool checkout (a checkout with
``pool_pre_ping`` on costs a ``SELECT 1`` round trip). Requests are made one at a time
by one client, so the counts of the request threads between two calls belong to that
call; the service's background thread (payouts, notices) is counted apart.

    .venv/bin/python bench/bench_origination_profile.py            # 5 journeys, median
    .venv/bin/python bench/bench_origination_profile.py -n 10 --json

Under load, profile ``mobilend serve`` itself while ``mobilend bench --only origination``
drives 16 clients: ``py-spy record -o serve.svg --pid <pid of mobilend serve>``
(docs/performance.md has the findings). Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
import uvicorn
from sqlalchemy.engine import Engine

from mobilend.benchmarks import processes
from mobilend.benchmarks.origination import Identities

BACKGROUND_THREAD = "background-work"


class SqlCounter:
    """Statements, commits and checkouts per thread kind (request or background)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: dict[str, Counter[str]] = defaultdict(Counter)

    def _add(self, what: str) -> None:
        kind = "background" if threading.current_thread().name == BACKGROUND_THREAD else "request"
        with self._lock:
            self.counts[kind][what] += 1

    def install(self) -> None:
        sa.event.listen(Engine, "before_cursor_execute", self._statement)
        sa.event.listen(Engine, "commit", lambda _c: self._add("commits"))
        sa.event.listen(sa.pool.Pool, "checkout", lambda *_a: self._add("checkouts"))

    def _statement(self, _conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        self._add("statements")
        verb = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "?"
        self._add(f"sql:{verb}")

    def snapshot(self, kind: str) -> Counter[str]:
        with self._lock:
            return Counter(self.counts[kind])


class WorkerClock:
    """Wall time of the payout worker's duties, as (name, start, end) events."""

    def __init__(self) -> None:
        self.events: list[tuple[str, float, float]] = []

    def install(self) -> None:
        from mobilend.app.funding import dispatch, worker
        from mobilend.bootstrap import service

        for module, name in (
            (worker, "process_approvals"), (worker, "dispatch_payouts"),
            (worker, "poll_unconfirmed"), (dispatch, "send_payout"),
            (service.BackgroundWork, "_collect"),
        ):  # fmt: skip
            setattr(module, name, self._timed(name, getattr(module, name)))

    def _timed(self, name: str, function: Any) -> Any:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.events.append((name, started, time.perf_counter()))

        return timed

    def timeline(self, start: float, end: float) -> list[str]:
        """The duties run from ``start`` to ``end``: offset and length, in ms."""
        return [
            f"+{(began - start) * 1000:.0f} {name} {(ended - began) * 1000:.0f}"
            for name, began, ended in self.events
            if ended >= start and began <= end
        ]

    def between(self, start: float, end: float) -> dict[str, float]:
        spent: Counter[str] = Counter()
        for name, began, ended in self.events:
            if began >= start and ended <= end:
                spent[f"worker:{name} ms"] += (ended - began) * 1000
        return dict(spent)


def start_service(env: dict[str, str]) -> tuple[str, uvicorn.Server]:
    """The service app in this process, under uvicorn on a thread."""
    os.environ.update(env)
    from mobilend.asgi import create_app
    from mobilend.config import get_settings

    port = processes.free_port()
    os.environ["MOBILEND_PUBLIC_URL"] = f"http://127.0.0.1:{port}"
    os.environ["MOBILEND_ACCESS_LOG"] = "false"
    get_settings.cache_clear()
    app = create_app()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, access_log=False, log_level="warning")
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, name="uvicorn", daemon=True).start()
    base = f"http://127.0.0.1:{port}"
    processes.wait_up(f"{base}/health")
    return base, server


def one_journey(
    base: str, sms_url: str, identities: Identities, sql: SqlCounter, clock: WorkerClock
) -> list[dict[str, Any]]:
    """The journey of ``benchmarks.origination.originate``, each call measured."""
    phone, national_id, card = identities.next()
    steps: list[dict[str, Any]] = []
    cpu_started = time.process_time()
    with httpx.Client(base_url=base, timeout=60) as http:

        def call(step: str, method: str, path: str, **kwargs: Any) -> Any:
            before = sql.snapshot("request")
            started = time.perf_counter()
            response = http.request(method, path, **kwargs)
            ms = (time.perf_counter() - started) * 1000
            if response.status_code >= 300:
                raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:300]}")
            used = sql.snapshot("request") - before
            steps.append({"step": step, "ms": ms, **used})
            return response.json() if response.content else None

        call("otp", "POST", "/api/v1/auth/otp", json={"phone": phone})
        code = ""
        while not code:
            found = httpx.get(
                f"{sms_url}/messages", params={"recipient": "+86" + phone, "limit": 1}
            ).json()
            code = found["messages"][0]["codes"][0] if found["messages"] else ""
        tokens = call(
            "verify", "POST", "/api/v1/auth/otp/verify", json={"phone": phone, "code": code}
        )
        http.headers["Authorization"] = f"Bearer {tokens['access_token']}"
        http.headers["X-Device-Id"] = f"bench-{uuid.uuid4().hex[:10]}"
        call("kyc", "PUT", "/api/v1/me/kyc",
             json={"real_name": "王小明", "national_id": national_id, "bank_card": card})  # fmt: skip
        texts = {
            t["purpose"]: t["text_version"]
            for t in call("consent-texts", "GET", "/api/v1/consent-texts")["items"]
        }
        for purpose in ("credit_report_query", "data_use", "e_contract"):
            call("consent", "POST", "/api/v1/me/consents",
                 json={"purpose": purpose, "text_version": texts[purpose]})  # fmt: skip
        applied = time.perf_counter()
        line_id = call("apply", "POST", "/api/v1/credit-applications",
                       json={"monthly_income_fen": 1_200_000})["line_id"]  # fmt: skip
        offer = {"line_id": line_id, "amount_fen": 500_000, "periods": 6}
        call("offer", "POST", "/api/v1/offers", json=offer)
        contract = call("contract", "POST", "/api/v1/contracts", json=offer)
        background = sql.snapshot("background")
        signed_at = time.perf_counter()
        signed = call(
            "sign", "POST", f"/api/v1/contracts/{contract['contract_id']}/sign",
            json={"sha256": contract["sha256"], "accept": True},
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )  # fmt: skip
        loan_id = signed["loan"]["loan_id"]
        polls = 0
        while True:
            status = http.get(f"/api/v1/loans/{loan_id}").json()["disbursement_status"]
            polls += 1
            if status not in ("pending", None):
                break
            time.sleep(0.005)
        paid_at = time.perf_counter()
        worker = sql.snapshot("background") - background
        steps.append({"step": "sign → paid (worker)", "ms": (paid_at - signed_at) * 1000,
                      **worker, "polls": polls, **clock.between(signed_at, paid_at)})  # fmt: skip
        steps.append({"step": "apply → paid", "ms": (paid_at - applied) * 1000})
        # CPU of this whole process (service threads and the one client) for the journey:
        # far less sensitive than wall time to other work on the machine.
        steps.append({"step": "journey CPU", "ms": (time.process_time() - cpu_started) * 1000})
        if os.environ.get("PROFILE_TIMELINE"):
            print("sign → paid:", ", ".join(clock.timeline(signed_at, paid_at)), file=sys.stderr)
        if status != "paid":
            raise RuntimeError(f"loan {loan_id}: payout {status}")
    return steps


def summarise(journeys: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Median of each step over the journeys (steps repeated in one journey are summed)."""
    per_step: dict[str, list[dict[str, float]]] = defaultdict(list)
    order: list[str] = []
    for steps in journeys:
        merged: dict[str, Counter[str]] = defaultdict(Counter)
        for step in steps:
            name = step["step"]
            if name not in order:
                order.append(name)
            merged[name].update({k: v for k, v in step.items() if k != "step"})
        for name, values in merged.items():
            per_step[name].append(dict(values))
    rows = []
    for name in order:
        keys = sorted({k for values in per_step[name] for k in values})
        row: dict[str, Any] = {"step": name}
        for key in keys:
            row[key] = statistics.median(v.get(key, 0) for v in per_step[name])
        rows.append(row)
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    print(f"{'step':<22}{'ms':>9}{'stmts':>7}{'commit':>7}{'ckout':>7}  statements by verb")
    for row in rows:
        verbs = ", ".join(
            f"{k[4:]} {row[k]:g}" for k in sorted(row) if k.startswith("sql:") and row[k]
        )
        print(
            f"{row['step']:<22}{row['ms']:>9.1f}{row.get('statements', 0):>7g}"
            f"{row.get('commits', 0):>7g}{row.get('checkouts', 0):>7g}  {verbs}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--journeys", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print the medians as JSON")
    args = parser.parse_args()
    sql = SqlCounter()
    sql.install()
    clock = WorkerClock()
    clock.install()
    children = processes.Children()
    with processes.fresh_database("profile") as url:
        try:
            gateways = processes.start_gateways(children)
            var_dir = Path(tempfile.mkdtemp(prefix="mobilend-profile-var-"))
            base, server = start_service(processes.service_env(url, var_dir, gateways))
            identities = Identities(seed=7)
            one_journey(base, gateways.sms_url, identities, sql, clock)  # warm-up
            journeys = [
                one_journey(base, gateways.sms_url, identities, sql, clock)
                for _ in range(args.journeys)
            ]
            server.should_exit = True
            time.sleep(0.5)
        finally:
            children.stop()
    rows = summarise(journeys)
    if args.json:
        json.dump(rows, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(f"median of {args.journeys} journeys, one client, after one warm-up journey")
        print("(journey CPU: CPU time of this process, service and client, per journey)")
        print_table(rows)
        for row in rows:
            extra = {k: v for k, v in row.items() if k.startswith("worker:") or k == "polls"}
            if extra:
                print(f"  {row['step']}: " + ", ".join(f"{k} {v:.1f}" for k, v in extra.items()))
    os._exit(0)  # the platform's background thread and engines go with the process


if __name__ == "__main__":
    main()
