"""The simulation's shared payments: each loan's group is taken once however many
processes take from the cursor, and a payment's ids do not depend on who pays it."""

from __future__ import annotations

import datetime as dt
import multiprocessing

from mobilend.sim.payments import SharedCursor, payment_ids


def _take_all(cursor: SharedCursor, count: int, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    taken = []
    while (k := cursor.take()) < count:
        taken.append(k)
    out.put(taken)


def test_two_processes_take_every_group_exactly_once() -> None:
    context = multiprocessing.get_context("spawn")
    cursor = SharedCursor(context.Value("q", 0))
    out = context.Queue()
    count = 5_000
    helper = context.Process(target=_take_all, args=(cursor, count, out))
    helper.start()
    mine: list[int] = []
    while (k := cursor.take()) < count:
        mine.append(k)
    theirs = out.get(timeout=60)
    helper.join(timeout=60)
    assert sorted(mine + theirs) == list(range(count))
    assert not set(mine) & set(theirs)
    cursor.reset()
    assert cursor.take() == 0


def test_a_payments_ids_are_its_own_block() -> None:
    on = dt.date(2026, 6, 1)
    first = payment_ids(on, 0)
    ids = [first.new_id() for _ in range(255)]
    assert ids == sorted(ids) and len(set(ids)) == 255
    # The same payment numbered again gives the same ids (whichever process pays it).
    again = payment_ids(on, 0)
    assert [again.new_id() for _ in range(255)] == ids
    # The next payment of the day, and the same place the next day, start beyond it.
    assert payment_ids(on, 1).new_id() > ids[-1]
    assert payment_ids(on + dt.timedelta(days=1), 0).new_id() > payment_ids(on, 60_000).new_id()
