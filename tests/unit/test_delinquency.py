"""Delinquency buckets."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mobilend.domain.delinquency import DEFAULT_BUCKETS, Bucket, BucketTable, validate_buckets
from mobilend.domain.errors import ValidationFailed


@pytest.mark.parametrize(
    ("dpd", "code"),
    [
        (0, "C"),
        (1, "M1"),
        (30, "M1"),
        (31, "M2"),
        (60, "M2"),
        (61, "M3"),
        (91, "M4"),
        (121, "M5"),
        (151, "M6"),
        (180, "M6"),
        (181, "M6+"),
        (5000, "M6+"),
    ],
)
def test_default_buckets(dpd: int, code: str) -> None:
    assert DEFAULT_BUCKETS.bucket_for(dpd).code == code


def test_default_table_order_and_rank() -> None:
    assert DEFAULT_BUCKETS.codes == ("C", "M1", "M2", "M3", "M4", "M5", "M6", "M6+")
    assert DEFAULT_BUCKETS.rank("M2") > DEFAULT_BUCKETS.rank("M1")
    with pytest.raises(ValidationFailed):
        DEFAULT_BUCKETS.bucket_for(-1)


def test_a_custom_table_is_used_as_given() -> None:
    table = BucketTable(
        (
            Bucket("current", 0, 3),
            Bucket("early", 4, 15),
            Bucket("late", 16, 90),
            Bucket("loss", 91, None),
        )
    )
    assert [table.bucket_for(d).code for d in (0, 3, 4, 15, 16, 91)] == [
        "current",
        "current",
        "early",
        "early",
        "late",
        "loss",
    ]


def test_an_invalid_table_reports_every_problem() -> None:
    buckets = (
        Bucket("A", 1, 10),  # does not start at 0
        Bucket("B", 8, 20),  # overlaps A
        Bucket("B", 25, 5),  # duplicate code, max below min, gap after the second B
        Bucket("D", 30, 40),  # last bucket not open-ended
    )
    problems = validate_buckets(buckets)
    fields = [p.field for p in problems]
    assert "buckets[0].min_dpd" in fields
    assert "buckets[1].min_dpd" in fields
    assert "buckets[2].code" in fields
    assert "buckets[2].max_dpd" in fields
    assert "buckets[3].max_dpd" in fields
    assert any("overlaps" in p.message for p in problems)
    assert any("gap" in p.message for p in problems)
    with pytest.raises(ValidationFailed) as caught:
        BucketTable(buckets)
    assert len(caught.value.problems) == len(problems)


def test_only_the_last_bucket_may_be_open_ended() -> None:
    problems = validate_buckets((Bucket("C", 0, None), Bucket("M1", 1, None)))
    assert [p.field for p in problems] == ["buckets[0].max_dpd"]
    assert [p.field for p in validate_buckets(())] == ["buckets"]


@given(bounds=st.lists(st.integers(1, 60), min_size=1, max_size=8), dpd=st.integers(0, 2000))
def test_any_contiguous_table_puts_every_dpd_in_exactly_one_bucket(
    bounds: list[int], dpd: int
) -> None:
    buckets = []
    start = 0
    for i, width in enumerate(bounds):
        buckets.append(Bucket(f"B{i}", start, start + width - 1))
        start += width
    buckets.append(Bucket("last", start, None))
    table = BucketTable(tuple(buckets))
    matching = [b for b in table.buckets if b.contains(dpd)]
    assert len(matching) == 1
    assert table.bucket_for(dpd) == matching[0]
