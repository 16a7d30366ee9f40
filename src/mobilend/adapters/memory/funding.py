"""In-memory funding stores and a lending unit of work that carries them (for fast
use-case tests, built by the same bootstrap), plus a fixed payout-account directory.

Like the lending fakes, the state is copied in on ``__enter__`` and copied back on
``commit``; there are no row locks, so these fakes are for one thread at a time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from mobilend.adapters.memory.lending import (
    LendingStore,
)
from mobilend.app.funding.ports import (
    ApprovalRecord,
    CollectionLine,
    FundingSettings,
    OutboxItem,
    PayoutAccount,
    PayoutRecord,
    RailEventRecord,
    RoutingRecord,
)
from mobilend.domain.errors import Conflict, NotFound
from mobilend.domain.funding import Funder, FunderPosition, Programme, Tranche
from mobilend.domain.ledger import Account, ComponentAmounts, EntryKind
from mobilend.domain.money import Money

Now = Callable[[], dt.datetime]
_EARLIEST = dt.datetime.min.replace(tzinfo=dt.UTC)


@dataclass
class FundingStore:
    funders: dict[str, Funder] = field(default_factory=dict)
    programmes: dict[str, Programme] = field(default_factory=dict)
    programme_counts: dict[str, int] = field(default_factory=dict)
    settings: FundingSettings = field(default_factory=FundingSettings)
    # funder → [routed_total, outstanding, joint_outstanding] in minor units; currency aside
    positions: dict[str, list[int]] = field(default_factory=dict)
    position_currency: dict[str, str] = field(default_factory=dict)
    daily: dict[tuple[str, dt.date], int] = field(default_factory=dict)
    tranches: dict[str, list[tuple[Tranche, bool]]] = field(default_factory=dict)
    payouts: dict[str, PayoutRecord] = field(default_factory=dict)
    approvals: dict[str, ApprovalRecord] = field(default_factory=dict)
    routing: list[RoutingRecord] = field(default_factory=list)
    outbox: dict[str, OutboxItem] = field(default_factory=dict)
    rail_events: dict[str, RailEventRecord] = field(default_factory=dict)
    reconciliations: dict[dt.date, dict[str, Any]] = field(default_factory=dict)


class _Registry:
    def __init__(self, s: FundingStore) -> None:
        self._s = s

    def add(self, funder: Funder) -> None:
        if funder.code in self._s.funders:
            raise Conflict(f"funder {funder.code!r} already exists")
        self._s.funders[funder.code] = funder

    def save(self, funder: Funder) -> None:
        self._s.funders[funder.code] = funder

    def get(self, code: str) -> Funder:
        if code not in self._s.funders:
            raise NotFound(f"funder {code!r} not found")
        return self._s.funders[code]

    def list(self) -> list[Funder]:
        return [self._s.funders[c] for c in sorted(self._s.funders)]

    def add_programme(self, programme: Programme) -> None:
        if programme.code in self._s.programmes:
            raise Conflict(f"programme {programme.code!r} already exists")
        self._s.programmes[programme.code] = programme

    def save_programme(self, programme: Programme) -> None:
        self._s.programmes[programme.code] = programme

    def programmes(self) -> list[Programme]:
        return [self._s.programmes[c] for c in sorted(self._s.programmes)]

    def settings(self) -> FundingSettings:
        return self._s.settings

    def save_settings(self, settings: FundingSettings) -> None:
        self._s.settings = settings


class _Positions:
    def __init__(self, s: FundingStore, lending: LendingStore) -> None:
        self._s = s
        self._lending = lending

    def get(
        self, codes: Sequence[str], on: dt.date, currency: str, *, for_update: bool = False
    ) -> dict[str, FunderPosition]:
        result = {}
        for code in sorted(set(codes)):
            if code not in self._s.positions:
                if not for_update:
                    continue
                self._s.positions[code] = [0, 0, 0]
                self._s.position_currency[code] = currency
            total, outstanding, _ = self._s.positions[code]
            cur = self._s.position_currency[code]
            result[code] = FunderPosition(
                code,
                Money.from_minor(self._s.daily.get((code, on), 0), cur),
                Money.from_minor(total, cur),
                Money.from_minor(outstanding, cur),
            )
        return result

    def change(
        self, code: str, on: dt.date, routed: Money, outstanding: Money, *, joint: bool = False
    ) -> None:
        row = self._s.positions.setdefault(code, [0, 0, 0])
        self._s.position_currency.setdefault(code, routed.currency)
        row[0] += routed.to_minor()
        row[1] += outstanding.to_minor()
        row[2] += outstanding.to_minor() if joint else 0
        self._s.daily[(code, on)] = self._s.daily.get((code, on), 0) + routed.to_minor()

    def count_programme(self, programme: Programme, loans: int, amount: Money) -> None:
        self._s.programmes.setdefault(programme.code, programme)
        self._s.programme_counts[programme.code] = (
            self._s.programme_counts.get(programme.code, 0) + loans
        )

    def programme_counts(self) -> dict[str, int]:
        return dict(self._s.programme_counts)

    def joint_outstanding(self, currency: str) -> Money:
        total = sum(
            row[2]
            for code, row in self._s.positions.items()
            if self._s.position_currency.get(code) == currency
        )
        return Money.from_minor(total, currency)

    def refresh_outstanding(self) -> dict[str, Money]:
        sums: dict[str, list[int]] = {code: [0, 0] for code in self._s.positions}
        for loan_id, tranches in self._s.tranches.items():
            loan = self._lending.loans.get(loan_id)
            if loan is None or loan["status"] not in ("active", "pending_disbursement"):
                continue
            outstanding = int(loan["outstanding_principal_minor"])
            for tranche, released in tranches:
                if released:
                    continue
                part = int((outstanding * tranche.share).to_integral_value())
                pair = sums.setdefault(tranche.funder_code, [0, 0])
                pair[0] += part
                pair[1] += part if tranche.joint else 0
        result = {}
        for code, (outstanding, joint) in sums.items():
            row = self._s.positions.setdefault(code, [0, 0, 0])
            row[1], row[2] = outstanding, joint
            currency = self._s.position_currency.setdefault(code, "CNY")
            result[code] = Money.from_minor(outstanding, currency)
        return result


class _Tranches:
    def __init__(self, s: FundingStore) -> None:
        self._s = s

    def add(self, loan_id: str, borrower_id: str, tranches: Sequence[Tranche]) -> None:
        live = {t.funder_code for t, released in self._s.tranches.get(loan_id, []) if not released}
        if live & {t.funder_code for t in tranches}:
            raise Conflict(f"loan {loan_id} already has a live tranche with that funder")
        self._s.tranches.setdefault(loan_id, []).extend((t, False) for t in tranches)

    def for_loan(self, loan_id: str) -> list[Tranche]:
        return [t for t, released in self._s.tranches.get(loan_id, []) if not released]

    def for_loans(self, loan_ids: Sequence[str]) -> dict[str, list[Tranche]]:
        return {i: self.for_loan(i) for i in loan_ids if self.for_loan(i)}

    def release(self, loan_id: str) -> None:
        self._s.tranches[loan_id] = [(t, True) for t, _ in self._s.tranches.get(loan_id, [])]


class _Payouts:
    def __init__(self, s: FundingStore, now: Now) -> None:
        self._s = s
        self._now = now

    def add(self, payout: PayoutRecord) -> None:
        if payout.loan_id in self._s.payouts:
            raise Conflict(f"loan {payout.loan_id} already has a payout")
        now = self._now()
        self._s.payouts[payout.loan_id] = replace(
            payout, created_at=payout.created_at or now, updated_at=payout.updated_at or now
        )

    def get(self, loan_id: str, *, for_update: bool = False) -> PayoutRecord | None:
        return self._s.payouts.get(loan_id)

    def by_key(self, idempotency_key: str, *, for_update: bool = False) -> PayoutRecord | None:
        return next(
            (p for p in self._s.payouts.values() if p.idempotency_key == idempotency_key), None
        )

    def save(self, payout: PayoutRecord) -> None:
        self._s.payouts[payout.loan_id] = replace(
            payout, updated_at=payout.updated_at or self._now()
        )

    def awaiting_confirmation(
        self, now: dt.datetime, limit: int, lease_until: dt.datetime
    ) -> list[PayoutRecord]:
        due = sorted(
            (
                p
                for p in self._s.payouts.values()
                if p.status in ("sent", "dead_letter")
                and p.next_poll_at is not None
                and p.next_poll_at <= now
            ),
            key=lambda p: (p.next_poll_at or _EARLIEST, p.loan_id),
        )[:limit]
        for p in due:
            self._s.payouts[p.loan_id] = replace(p, next_poll_at=lease_until)
        return due

    def with_status(self, statuses: Sequence[str], limit: int = 100) -> list[PayoutRecord]:
        return [p for p in self._s.payouts.values() if p.status in statuses][:limit]

    def counts(self) -> dict[str, int]:
        result: dict[str, int] = {}
        for p in self._s.payouts.values():
            result[p.status] = result.get(p.status, 0) + 1
        return result

    def amount_with_status(self, statuses: Sequence[str], currency: str) -> Money:
        total = Money.zero(currency)
        for p in self._s.payouts.values():
            if p.status in statuses and p.amount.currency == currency:
                total = total + p.amount
        return total

    def settled_on(self, day: dt.date) -> list[PayoutRecord]:
        return sorted(
            (
                p
                for p in self._s.payouts.values()
                if p.settled_on == day and p.status in ("paid", "failed")
            ),
            key=lambda p: p.loan_id,
        )


class _Approvals:
    def __init__(self, s: FundingStore, now: Now) -> None:
        self._s = s
        self._now = now

    def add(self, approval: ApprovalRecord) -> None:
        self._s.approvals[approval.request_id] = replace(
            approval, requested_at=approval.requested_at or self._now()
        )

    def get(self, request_id: str, *, for_update: bool = False) -> ApprovalRecord | None:
        return self._s.approvals.get(request_id)

    def save(self, approval: ApprovalRecord) -> None:
        self._s.approvals[approval.request_id] = approval

    def for_loan(self, loan_id: str) -> list[ApprovalRecord]:
        return [a for a in self._s.approvals.values() if a.loan_id == loan_id]

    def pending(self, limit: int = 100) -> list[ApprovalRecord]:
        return [a for a in self._s.approvals.values() if a.status == "pending"][:limit]


class _Routing:
    def __init__(self, s: FundingStore, now: Now) -> None:
        self._s = s
        self._now = now

    def add(self, record: RoutingRecord) -> None:
        self._s.routing.append(replace(record, created_at=record.created_at or self._now()))

    def for_loan(self, loan_id: str) -> list[RoutingRecord]:
        return [r for r in self._s.routing if r.loan_id == loan_id]


class _Outbox:
    def __init__(self, s: FundingStore, now: Now) -> None:
        self._s = s
        self._now = now

    def add(self, item: OutboxItem) -> None:
        if any(i.idempotency_key == item.idempotency_key for i in self._s.outbox.values()):
            raise Conflict(f"outbox key {item.idempotency_key} already used")
        self._s.outbox[item.message_id] = replace(
            item, next_attempt_at=item.next_attempt_at or self._now()
        )

    def claim_due(
        self, topics: Sequence[str], now: dt.datetime, limit: int, lease_until: dt.datetime
    ) -> list[OutboxItem]:
        due = sorted(
            (
                i
                for i in self._s.outbox.values()
                if i.status == "pending"
                and i.topic in topics
                and (i.next_attempt_at or _EARLIEST) <= now
            ),
            key=lambda i: (i.next_attempt_at or _EARLIEST, i.message_id),
        )[:limit]
        for item in due:
            self._s.outbox[item.message_id] = replace(item, next_attempt_at=lease_until)
        return due

    def _update(self, message_id: str, **changes: Any) -> None:
        self._s.outbox[message_id] = replace(self._s.outbox[message_id], **changes)

    def mark_done(self, message_id: str) -> None:
        self._update(message_id, status="sent", last_error="")

    def mark_retry(
        self, message_id: str, attempts: int, next_attempt_at: dt.datetime, error: str
    ) -> None:
        self._update(
            message_id, attempts=attempts, next_attempt_at=next_attempt_at, last_error=error
        )

    def mark_dead(self, message_id: str, attempts: int, error: str) -> None:
        self._update(message_id, status="dead", attempts=attempts, last_error=error)

    def dead(self, topics: Sequence[str], limit: int = 100) -> list[OutboxItem]:
        return [i for i in self._s.outbox.values() if i.status == "dead" and i.topic in topics][
            :limit
        ]

    def requeue(self, idempotency_key: str, now: dt.datetime) -> bool:
        for item in self._s.outbox.values():
            if item.idempotency_key == idempotency_key:
                self._update(
                    item.message_id,
                    status="pending",
                    next_attempt_at=now,
                    attempts=0,
                    last_error="",
                )
                return True
        return False


class _RailEvents:
    def __init__(self, s: FundingStore, now: Now) -> None:
        self._s = s
        self._now = now

    def record(self, event: RailEventRecord) -> bool:
        if event.event_id in self._s.rail_events:
            return False
        self._s.rail_events[event.event_id] = replace(
            event, received_at=event.received_at or self._now()
        )
        return True

    def set_outcome(self, event_id: str, outcome: str) -> None:
        self._s.rail_events[event_id] = replace(self._s.rail_events[event_id], outcome=outcome)

    def with_outcome(self, outcome: str, limit: int = 100) -> list[RailEventRecord]:
        return [e for e in self._s.rail_events.values() if e.outcome == outcome][:limit]


_COMPONENT = {
    Account.LOAN_PRINCIPAL_RECEIVABLE: "principal",
    Account.INTEREST_RECEIVABLE: "interest",
    Account.FEE_RECEIVABLE: "fees",
    Account.PENALTY_RECEIVABLE: "penalty",
}


class _LedgerQueries:
    def __init__(self, lending: LendingStore) -> None:
        self._lending = lending

    def account_balance(self, account: str, currency: str) -> Money:
        total = Money.zero(currency)
        for entry in self._lending.entries:
            for p in entry.postings:
                if p.account == account and p.amount.currency == currency:
                    total = total + p.amount
        return total

    def debits_on(self, account: str, day: dt.date) -> dict[str, tuple[int, Money]]:
        result: dict[str, tuple[int, Money]] = {}
        for entry in self._lending.entries:
            if entry.business_date != day:
                continue
            for p in entry.postings:
                if p.account == account and p.amount.is_positive() and p.loan_id is not None:
                    count, amount = result.get(p.loan_id, (0, Money.zero(p.amount.currency)))
                    result[p.loan_id] = (count + 1, amount + p.amount)
        return result

    def posted(self, entry_ids: Sequence[str]) -> set[str]:
        wanted = set(entry_ids)
        return {e.entry_id for e in self._lending.entries if e.entry_id in wanted}

    def shares_posted(self, day: dt.date) -> dict[tuple[str, str], ComponentAmounts]:
        result: dict[tuple[str, str], ComponentAmounts] = {}
        for entry in self._lending.entries:
            if entry.kind is not EntryKind.FUNDER_SHARE or entry.business_date != day:
                continue
            for p in entry.postings:
                if p.base is Account.FUNDER_PAYABLE or entry.loan_id is None:
                    continue
                key = (entry.loan_id, p.party or "")
                zero = Money.zero(p.amount.currency)
                part = {
                    Account.INTEREST_INCOME: ComponentAmounts(zero, p.amount, zero, zero),
                    Account.FEE_INCOME: ComponentAmounts(zero, zero, p.amount, zero),
                    Account.PENALTY_INCOME: ComponentAmounts(zero, zero, zero, p.amount),
                }.get(p.base, ComponentAmounts(p.amount, zero, zero, zero))
                result[key] = result[key] + part if key in result else part
        return result

    def collections(self, first: dt.date, last: dt.date) -> list[CollectionLine]:
        grouped: dict[tuple[str, dt.date], dict[str, Money]] = {}
        reversed_ids = {e.reverses for e in self._lending.entries if e.reverses}
        for entry in self._lending.entries:
            kinds = (EntryKind.REPAYMENT, EntryKind.CREDIT_APPLICATION)
            if entry.kind not in kinds or not first <= entry.business_date <= last:
                continue
            if entry.entry_id in reversed_ids:
                continue
            for p in entry.postings:
                component = _COMPONENT.get(p.base)
                if component is None or not p.amount.is_negative() or p.loan_id is None:
                    continue
                parts = grouped.setdefault((p.loan_id, entry.business_date), {})
                parts[component] = parts.get(component, Money.zero(p.amount.currency)) - p.amount
        lines = []
        for (loan_id, day), parts in sorted(grouped.items()):
            zero = Money.zero(next(iter(parts.values())).currency)
            lines.append(
                CollectionLine(
                    loan_id,
                    day,
                    ComponentAmounts(
                        parts.get("principal", zero),
                        parts.get("interest", zero),
                        parts.get("fees", zero),
                        parts.get("penalty", zero),
                    ),
                )
            )
        return lines


class _Reconciliations:
    def __init__(self, s: FundingStore) -> None:
        self._s = s

    def save(self, day: dt.date, report: Mapping[str, Any]) -> None:
        self._s.reconciliations[day] = dict(report)

    def get(self, day: dt.date) -> Mapping[str, Any] | None:
        return self._s.reconciliations.get(day)


class InMemoryFundingStores:
    def __init__(self, s: FundingStore, lending: LendingStore, now: Now) -> None:
        self.funders = _Registry(s)
        self.positions = _Positions(s, lending)
        self.tranches = _Tranches(s)
        self.payouts = _Payouts(s, now)
        self.approvals = _Approvals(s, now)
        self.routing = _Routing(s, now)
        self.outbox = _Outbox(s, now)
        self.rail_events = _RailEvents(s, now)
        self.ledger_queries = _LedgerQueries(lending)
        self.reconciliations = _Reconciliations(s)


class StaticPayoutAccounts:
    """Payout accounts from a fixed table (tests, simulations); a default card for all."""

    def __init__(
        self,
        accounts: Mapping[str, PayoutAccount] | None = None,
        default: PayoutAccount | None = None,
    ) -> None:
        self._accounts = dict(accounts or {})
        self._default = default

    def set(self, borrower_id: str, account: PayoutAccount) -> None:
        self._accounts[borrower_id] = account

    def for_borrower(self, borrower_id: str) -> PayoutAccount:
        account = self._accounts.get(borrower_id, self._default)
        if account is None:
            raise NotFound(f"no payout account for borrower {borrower_id}")
        return account
