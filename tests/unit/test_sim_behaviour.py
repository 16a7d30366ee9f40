"""The simulation's borrower behaviour: profiles follow the row's hidden truth, and each
profile pays (or not) the way it is documented."""

from __future__ import annotations

import random
from collections import Counter

from mobilend.sim.behaviour import (
    BAD_MIX,
    GOOD_MIX,
    MISSING,
    Behaviour,
    Profile,
    days_late,
    draw_behaviour,
)


def test_profiles_follow_the_hidden_truth() -> None:
    rng = random.Random(5)
    good = Counter(draw_behaviour(False, 12, rng).profile for _ in range(4000))
    bad = Counter(draw_behaviour(True, 12, rng).profile for _ in range(4000))
    assert set(good) == {p for p, _ in GOOD_MIX}
    assert set(bad) == {p for p, _ in BAD_MIX}
    # Never-payers come only from bad rows, and roughly at their share (25 %).
    assert Profile.NEVER not in good
    assert 0.21 < bad[Profile.NEVER] / 4000 < 0.29
    assert good[Profile.ON_TIME] / 4000 > 0.7


def test_the_same_seed_draws_the_same_borrowers() -> None:
    def draw(seed: int) -> list[tuple[Behaviour, list[int | None]]]:
        rng = random.Random(seed)
        out = []
        for i in range(200):
            behaviour = draw_behaviour(i % 3 == 0, 6, rng)
            out.append((behaviour, [days_late(behaviour, n, rng) for n in range(1, 7)]))
        return out

    assert draw(11) == draw(11)
    assert draw(11) != draw(12)


def test_each_profile_pays_as_documented() -> None:
    rng = random.Random(3)
    for _ in range(300):
        never = Behaviour(Profile.NEVER, first_miss=2, prepay_at=0)
        assert days_late(never, 1, rng) is not None and days_late(never, 1, rng) <= 0
        assert days_late(never, 2, rng) is None and days_late(never, 5, rng) is None
        reminder = Behaviour(Profile.CURE_AFTER_REMINDER, first_miss=1, prepay_at=0)
        assert 3 <= days_late(reminder, 1, rng) <= 15  # type: ignore[operator]
        collections = Behaviour(Profile.CURE_AFTER_COLLECTIONS, first_miss=1, prepay_at=0)
        assert 20 <= days_late(collections, 1, rng) <= 75  # type: ignore[operator]
        assert 5 <= days_late(collections, 2, rng) <= 40  # type: ignore[operator]
        on_time = Behaviour(Profile.ON_TIME, first_miss=0, prepay_at=0)
        assert -2 <= days_late(on_time, 3, rng) <= 0  # type: ignore[operator]
        slightly = Behaviour(Profile.SLIGHTLY_LATE, first_miss=0, prepay_at=0)
        assert -2 <= days_late(slightly, 3, rng) <= 5  # type: ignore[operator]


def test_missing_profiles_start_missing_within_the_loan_and_prepayers_after_the_first() -> None:
    rng = random.Random(9)
    for _ in range(2000):
        behaviour = draw_behaviour(rng.random() < 0.5, 6, rng)
        if behaviour.profile in MISSING:
            assert 1 <= behaviour.first_miss <= 4
        else:
            assert behaviour.first_miss == 0
        if behaviour.profile is Profile.PREPAY:
            assert 2 <= behaviour.prepay_at <= 6
        assert 0 < behaviour.willingness <= 1
