"""Reports a collections manager reads: recovery by the bucket a case opened in, and the
champion strategy against the challenger on the same measures."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from mobilend.app.collections.ports import CaseRecord
from mobilend.app.unit_of_work import UnitOfWorkFactory
from mobilend.domain.collections import CaseStatus, CloseReason
from mobilend.domain.money import Money


@dataclass(frozen=True, slots=True)
class RecoveryLine:
    """Cases grouped one way, and what they brought back of what they owed at opening."""

    group: str
    cases: int
    owed_at_open: Money
    collected: Money
    cured: int  # closed because nothing was past due any more, or paid off
    settled: int
    written_off: int
    still_open: int

    @property
    def recovery_rate(self) -> Decimal:
        if not self.owed_at_open.is_positive():
            return Decimal(0)
        return (self.collected.amount / self.owed_at_open.amount).quantize(Decimal("0.0001"))


def _group(cases: Iterable[CaseRecord], key: Callable[[CaseRecord], str]) -> list[RecoveryLine]:
    groups: dict[str, list[CaseRecord]] = {}
    for case in cases:
        groups.setdefault(key(case), []).append(case)
    lines = []
    for name, members in groups.items():
        currency = members[0].owed_at_open.currency
        owed = sum((c.owed_at_open for c in members), Money.zero(currency))
        collected = sum((c.collected for c in members), Money.zero(currency))
        lines.append(
            RecoveryLine(
                group=name,
                cases=len(members),
                owed_at_open=owed,
                collected=collected,
                cured=sum(
                    1
                    for c in members
                    if c.close_reason in (CloseReason.CURED, CloseReason.PAID_OFF)
                ),
                settled=sum(1 for c in members if c.close_reason is CloseReason.SETTLED),
                written_off=sum(1 for c in members if c.status is CaseStatus.WRITTEN_OFF),
                still_open=sum(
                    1
                    for c in members
                    if c.status not in (CaseStatus.CLOSED, CaseStatus.WRITTEN_OFF)
                ),
            )
        )
    return lines


@dataclass(frozen=True, slots=True)
class RecoveryReport:
    by_bucket: list[RecoveryLine]
    by_strategy: list[RecoveryLine]
    total: RecoveryLine | None


def _cases(uow_factory: UnitOfWorkFactory) -> list[CaseRecord]:
    cases: list[CaseRecord] = []
    after = ""
    while True:
        with uow_factory() as uow:
            page = uow.collections.cases.all_cases(after, 5000)
        cases.extend(page)
        if len(page) < 5000:
            return cases
        after = page[-1].case_id


def recovery_report(uow_factory: UnitOfWorkFactory, rank: Callable[[str], int]) -> RecoveryReport:
    """``rank`` orders buckets (``BucketTable.rank``)."""
    cases = _cases(uow_factory)
    by_bucket = sorted(
        _group(cases, lambda c: c.bucket_at_open or c.bucket), key=lambda line: rank(line.group)
    )
    by_strategy = sorted(
        _group(cases, lambda c: f"{c.arm.value}:{c.strategy}"), key=lambda line: line.group
    )
    total = _group(cases, lambda c: "all")
    return RecoveryReport(by_bucket, by_strategy, total[0] if total else None)
