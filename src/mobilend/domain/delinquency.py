"""Delinquency buckets: days past due (DPD) mapped to C, M1 … M6, M6+.

A bucket table is data: a product or portfolio may define its own, as long as
the ranges start at 0, are contiguous, do not overlap and end open (the last
bucket has no upper bound), so every DPD falls in exactly one bucket.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mobilend.domain.errors import Problem, ValidationFailed


@dataclass(frozen=True, slots=True)
class Bucket:
    """DPD from ``min_dpd`` to ``max_dpd`` inclusive; ``max_dpd=None`` is open-ended."""

    code: str
    min_dpd: int
    max_dpd: int | None
    label_zh: str = ""
    label_en: str = ""

    def contains(self, dpd: int) -> bool:
        return self.min_dpd <= dpd and (self.max_dpd is None or dpd <= self.max_dpd)


def _default_buckets() -> tuple[Bucket, ...]:
    buckets = [Bucket("C", 0, 0, "正常", "current")]
    for m in range(1, 7):
        buckets.append(
            Bucket(
                f"M{m}",
                30 * (m - 1) + 1,
                30 * m,
                f"逾期{m}期",
                f"{30 * (m - 1) + 1}-{30 * m} days past due",
            )
        )
    buckets.append(Bucket("M6+", 181, None, "逾期6期以上", "more than 180 days past due"))
    return tuple(buckets)


def validate_buckets(buckets: Sequence[Bucket]) -> list[Problem]:
    """Every problem with a table at once (empty list when it is valid)."""
    problems: list[Problem] = []
    if not buckets:
        return [Problem("buckets", "at least one bucket is required")]
    seen: set[str] = set()
    for i, b in enumerate(buckets):
        where = f"buckets[{i}]"
        if not b.code:
            problems.append(Problem(f"{where}.code", "code is required"))
        elif b.code in seen:
            problems.append(Problem(f"{where}.code", f"code {b.code!r} is used twice"))
        seen.add(b.code)
        if b.min_dpd < 0:
            problems.append(Problem(f"{where}.min_dpd", "must not be negative"))
        if b.max_dpd is not None and b.max_dpd < b.min_dpd:
            problems.append(
                Problem(f"{where}.max_dpd", f"{b.max_dpd} is below min_dpd {b.min_dpd}")
            )
        if b.max_dpd is None and i != len(buckets) - 1:
            problems.append(Problem(f"{where}.max_dpd", "only the last bucket may be open-ended"))
    if buckets[0].min_dpd != 0:
        problems.append(
            Problem("buckets[0].min_dpd", "the first bucket must start at 0 days past due")
        )
    if buckets[-1].max_dpd is not None:
        problems.append(
            Problem(
                f"buckets[{len(buckets) - 1}].max_dpd",
                "the last bucket must be open-ended (no maximum)",
            )
        )
    for i in range(1, len(buckets)):
        prev, cur = buckets[i - 1], buckets[i]
        if prev.max_dpd is None:
            continue
        expected = prev.max_dpd + 1
        if cur.min_dpd < expected:
            problems.append(
                Problem(
                    f"buckets[{i}].min_dpd",
                    f"overlaps {prev.code}: starts at {cur.min_dpd}, {prev.code} ends at {prev.max_dpd}",
                )
            )
        elif cur.min_dpd > expected:
            problems.append(
                Problem(
                    f"buckets[{i}].min_dpd",
                    f"gap after {prev.code}: days {expected}-{cur.min_dpd - 1} fall in no bucket",
                )
            )
    return problems


@dataclass(frozen=True, slots=True)
class BucketTable:
    buckets: tuple[Bucket, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "buckets", tuple(self.buckets))
        problems = validate_buckets(self.buckets)
        if problems:
            raise ValidationFailed(problems)

    @classmethod
    def default(cls) -> BucketTable:
        return cls(_default_buckets())

    def bucket_for(self, dpd: int) -> Bucket:
        if dpd < 0:
            raise ValidationFailed([Problem("dpd", "days past due cannot be negative")])
        for b in self.buckets:
            if b.contains(dpd):
                return b
        raise AssertionError("a validated table covers every dpd")  # pragma: no cover

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(b.code for b in self.buckets)

    def rank(self, code: str) -> int:
        """Position of a bucket (0 = current); later buckets are worse."""
        return self.codes.index(code)


DEFAULT_BUCKETS = BucketTable.default()
