"""What the disbursement fault tests (and the benchmark) share: a platform on real
PostgreSQL, a payment gateway sandbox over real HTTP, a callback endpoint that verifies
the rail's signed webhooks and applies them, a batch of accepted offers, and the checks
that every loan ended paid exactly once or cancelled with the books in order.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from tests.lending_scenarios import OPENED_ON, make_product

from mobilend.adapters.http_resilience import Backoff, CircuitBreaker
from mobilend.adapters.memory.funding import StaticPayoutAccounts
from mobilend.adapters.rails.http_rail import HttpPaymentRail, verify_webhook
from mobilend.adapters.webhook_signature import InvalidWebhook
from mobilend.app.funding.disbursement import DisbursementDesk, apply_rail_event
from mobilend.app.funding.ports import DisbursementSettings, PayoutAccount
from mobilend.app.funding.reconciliation import reconcile_rail
from mobilend.app.funding.routing import add_programme, configure_funding, register_funder
from mobilend.app.funding.worker import run_worker
from mobilend.app.lending.lines import open_credit_line
from mobilend.app.lending.loans import draw_loan
from mobilend.bootstrap.funding import build_disbursement
from mobilend.bootstrap.ledger import verify_book
from mobilend.bootstrap.lending import Lending, build_lending
from mobilend.domain.funding import (
    OWN_POOL,
    Funder,
    FunderKind,
    Programme,
    ProgrammeShare,
    WhitelistStatus,
)
from mobilend.domain.ledger import loan_balances
from mobilend.domain.money import Money

SECRET = "test-sandbox-secret"
IN_TRANSIT = "cash:rail:in_transit"
FAILING_SUFFIXES = ("0054", "0014", "0062")


def card_for(i: int) -> str:
    """Every tenth borrower's card is refused by the rail (expired, invalid, restricted)."""
    suffix = FAILING_SUFFIXES[(i // 10) % 3] if i % 10 == 7 else f"{1000 + i % 9000:04d}"
    return f"622202{i:06d}{suffix}"


def expected_to_pay(card: str) -> bool:
    return card[-4:] not in FAILING_SUFFIXES


class CallbackEndpoint:
    """The rail's webhook endpoint: verify the signature, apply the event, answer 200."""

    def __init__(self, desk_factory: Callable[[], DisbursementDesk]) -> None:
        self.outcomes: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._desk_factory = desk_factory
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                try:
                    event = verify_webhook(dict(self.headers.items()), body, SECRET)
                    outcome = apply_rail_event(endpoint._desk_factory(), event)
                    status = 200
                except InvalidWebhook as exc:
                    outcome, status = f"invalid:{exc.reason}", 400
                except Exception as exc:  # the sender retries; the test sees it counted
                    outcome, status = f"error:{type(exc).__name__}", 500
                with endpoint._lock:
                    endpoint.outcomes[outcome] += 1
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/rail/callbacks"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@dataclass
class Gateway:
    base_url: str

    def admin(self, method: str, path: str, **kwargs: Any) -> Any:
        response = httpx.request(method, self.base_url + path, timeout=10, **kwargs)
        response.raise_for_status()
        return response.json()

    def reset(self, callback_url: str, **options: Any) -> None:
        self.admin(
            "POST", "/admin/reset",
            json={"seed": 7, "callback_url": callback_url, "business_date": OPENED_ON.isoformat(),
                  "settle_delay_ms": 5, **options},
        )  # fmt: skip

    def stats(self) -> dict[str, Any]:
        return self.admin("GET", "/admin/stats")

    def statement(self, day: dt.date) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.base_url}/statements/{day.isoformat()}", timeout=10)
        response.raise_for_status()
        return [json.loads(line) for line in response.text.splitlines() if line.strip()]


def rail_for(base_url: str, timeout: float = 0.5) -> HttpPaymentRail:
    return HttpPaymentRail(
        base_url, SECRET, timeout=timeout, retries=2,
        backoff=Backoff(base=0.02, cap=0.2), breaker=CircuitBreaker(50, reset_after=0.2),
    )  # fmt: skip


FAST = DisbursementSettings(
    max_attempts=60, backoff_base_s=0.05, backoff_cap_s=0.5, confirm_after_s=1.0,
    batch_size=10, lease_s=5.0,
)  # fmt: skip


@dataclass
class Batch:
    """A platform with funders, and accepted offers whose payouts are on their way."""

    lending: Lending
    accounts: StaticPayoutAccounts
    cards: dict[str, str] = field(default_factory=dict)  # loan id → card

    @classmethod
    def prepare(cls, engine: sa.Engine, borrowers: int) -> Batch:
        lending = build_lending(engine=engine)
        make_product(lending)
        bank_b = Funder(
            code="bank_b", name="Bank B", kind=FunderKind.BANK, licence_no="B0002H",
            whitelist_status=WhitelistStatus.WHITELISTED, whitelisted_from=dt.date(2026, 1, 1),
            cost_of_funds=Decimal("0.045"), interest_share=Decimal("0.85"),
        )  # fmt: skip
        register_funder(lending.uow_factory, bank_b, single_programme=False)
        joint = (ProgrammeShare(OWN_POOL, Decimal("0.3")), ProgrammeShare("bank_b", Decimal("0.7")))
        add_programme(lending.uow_factory, Programme("jl_b", "own pool + bank B", joint, 5))
        configure_funding(lending.uow_factory, strategy="round_robin")
        with lending.uow_factory() as uow:
            for i in range(borrowers):
                uow.lending.borrowers.ensure(f"b{i:05d}")
            uow.commit()
        return cls(lending, StaticPayoutAccounts())

    def accept(self, i: int, amount: str = "3000.00") -> str:
        borrower = f"b{i:05d}"
        line = open_credit_line(
            self.lending.uow_factory, self.lending.cost_caps, self.lending.new_id,
            borrower_id=borrower,
            product_code="cash-12m", limit=Money("20000.00"), opened_on=OPENED_ON,
            expires_on=OPENED_ON + dt.timedelta(days=365),
        )  # fmt: skip
        card = card_for(i)
        self.accounts.set(borrower, PayoutAccount(f"借款人{i}", card))
        drawn = draw_loan(
            self.lending.uow_factory, self.lending.cost_caps, self.lending.new_id,
            line_id=line.line_id, amount=Money(amount) + Money.from_minor(i % 97), periods=3,
            on=OPENED_ON,
        )  # fmt: skip
        self.cards[drawn.loan.loan_id] = card
        return drawn.loan.loan_id

    def write_accounts(self, path: Path) -> Path:
        data = {
            f"b{i:05d}": {"account_name": f"借款人{i}", "card_number": card_for(i)}
            for i in range(len(self.cards) + 1000)
        }
        path.write_text(json.dumps(data), "utf-8")
        return path

    def desk(
        self, rail: HttpPaymentRail, settings: DisbursementSettings = FAST
    ) -> DisbursementDesk:
        return build_disbursement(
            self.lending, rail=rail, payout_accounts=self.accounts, settings=settings
        )

    def open_payouts(self) -> int:
        with self.lending.engine.connect() as conn:
            return int(
                conn.execute(
                    sa.text(
                        "SELECT count(*) FROM loan_payouts WHERE status NOT IN ('paid', 'failed')"
                    )
                ).scalar_one()
            )


class Workers:
    """Disbursement worker loops on threads, stopped together."""

    def __init__(self, desk: DisbursementDesk, threads: int) -> None:
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(
                target=run_worker,
                args=(desk,),
                kwargs={"should_stop": self._stop.is_set, "idle_s": 0.02},
                daemon=True,
            )
            for _ in range(threads)
        ]

    def __enter__(self) -> Workers:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)


def check_outcome(batch: Batch, gateway: Gateway, desk: DisbursementDesk) -> dict[str, Any]:
    """Every loan paid exactly once (or cancelled when its card is refused), the ledger
    balanced and rebuilt per loan, the rail agreeing, and reconciliation clean."""
    engine = batch.lending.engine
    with engine.connect() as conn:
        payouts = {
            r.loan_id: r
            for r in conn.execute(
                sa.text("SELECT loan_id, status, failure_code, idempotency_key FROM loan_payouts")
            )
        }
        loan_status = dict(conn.execute(sa.text("SELECT id, status FROM loans")).all())
        in_transit_debits = dict(
            conn.execute(
                sa.text(
                    "SELECT loan_id, count(*) FROM postings WHERE account = :a AND amount_minor > 0 "
                    "GROUP BY loan_id"
                ),
                {"a": IN_TRANSIT},
            ).all()
        )
        trial = conn.execute(
            sa.text("SELECT currency, sum(amount_minor) FROM postings GROUP BY currency")
        ).all()
        in_transit = conn.execute(
            sa.text("SELECT coalesce(sum(amount_minor), 0) FROM postings WHERE account = :a"),
            {"a": IN_TRANSIT},
        ).scalar_one()
    assert set(payouts) == set(batch.cards)
    for loan_id, card in batch.cards.items():
        payout = payouts[loan_id]
        if expected_to_pay(card):
            assert payout.status == "paid", (loan_id, payout)
            assert loan_status[loan_id] == "active"
        else:
            assert payout.status == "failed" and payout.failure_code, (loan_id, payout)
            assert loan_status[loan_id] == "cancelled"
        assert in_transit_debits.get(loan_id) == 1, (loan_id, in_transit_debits.get(loan_id))
    assert all(total == 0 for _, total in trial), trial
    assert in_transit == 0
    with batch.lending.uow_factory() as uow:
        for loan_id in batch.cards:
            loan = uow.lending.loans.get(loan_id)
            assert (
                loan_balances(uow.lending.ledger.entries_for_loan(loan_id), loan_id)
                == loan.ledger_balances()
            )
    statement = gateway.statement(OPENED_ON)
    keys = Counter(line["idempotency_key"] for line in statement)
    assert set(keys) == {p.idempotency_key for p in payouts.values()}
    assert set(keys.values()) == {1}, "a payout reached the rail twice"
    for line in statement:
        ours = next(p for p in payouts.values() if p.idempotency_key == line["idempotency_key"])
        assert (line["status"] == "succeeded") == (ours.status == "paid")
    report = reconcile_rail(desk, OPENED_ON)
    assert report.clean, report.breaks
    assert report.matched == len(batch.cards)
    # ``mobilend ledger verify``: every entry, every loan and every line of the book.
    verified = verify_book(engine)
    assert verified.clean, verified.mismatches
    assert verified.loans == len(batch.cards)
    return {"paid": sum(p.status == "paid" for p in payouts.values()), "report": report}


def serve_callbacks(desk_factory: Callable[[], DisbursementDesk]) -> Iterator[CallbackEndpoint]:
    endpoint = CallbackEndpoint(desk_factory)
    try:
        yield endpoint
    finally:
        endpoint.stop()
