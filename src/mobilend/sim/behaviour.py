"""How simulated borrowers pay: a profile drawn once per borrower from the hidden truth of
their dataset row, and for each installment the day they pay it (or that they never do).

Good rows mostly pay on the due date or a few days early, some prepay the whole loan, a
few run a few days late, and a small share meet a shock (job loss, illness) after which
they stop paying. Bad rows start paying, then from some installment on miss: some catch
up after the reminders (3–15 days late), some only once collections reach them (20–75
days late, and they stay slow), and some never pay again. The shares are round figures
chosen to look like a consumer cash book, not fitted to any lender's data.

Pure functions of a ``random.Random``: the same seed gives the same borrowers.
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass


class Profile(enum.StrEnum):
    ON_TIME = "on_time"
    PREPAY = "prepay"
    SLIGHTLY_LATE = "slightly_late"
    SHOCK = "shock"  # a good row that meets a shock and stops paying
    CURE_AFTER_REMINDER = "cure_after_reminder"
    CURE_AFTER_COLLECTIONS = "cure_after_collections"
    NEVER = "never"


#: (profile, share in percent) for rows whose real outcome was good / bad.
GOOD_MIX = (
    (Profile.ON_TIME, 78),
    (Profile.PREPAY, 12),
    (Profile.SLIGHTLY_LATE, 8),
    (Profile.SHOCK, 2),
)
BAD_MIX = (
    (Profile.ON_TIME, 20),
    (Profile.CURE_AFTER_REMINDER, 30),
    (Profile.CURE_AFTER_COLLECTIONS, 25),
    (Profile.NEVER, 25),
)
#: Willingness to pay (0–1) the collections model reads when an agent calls.
WILLINGNESS = {
    Profile.ON_TIME: 0.95,
    Profile.PREPAY: 0.95,
    Profile.SLIGHTLY_LATE: 0.85,
    Profile.SHOCK: 0.15,
    Profile.CURE_AFTER_REMINDER: 0.8,
    Profile.CURE_AFTER_COLLECTIONS: 0.55,
    Profile.NEVER: 0.03,
}
MISSING = (
    Profile.SHOCK,
    Profile.CURE_AFTER_REMINDER,
    Profile.CURE_AFTER_COLLECTIONS,
    Profile.NEVER,
)


@dataclass(frozen=True, slots=True)
class Behaviour:
    profile: Profile
    #: First installment (1-based) the borrower misses; 0 when they never miss.
    first_miss: int
    #: Installment before whose due date the borrower pays the loan off; 0: never.
    prepay_at: int

    @property
    def willingness(self) -> float:
        return WILLINGNESS[self.profile]


def draw_behaviour(bad: bool, periods: int, rng: random.Random) -> Behaviour:
    """The borrower's profile for a loan of ``periods`` installments."""
    roll, profile = rng.uniform(0, 100), Profile.ON_TIME
    for candidate, share in BAD_MIX if bad else GOOD_MIX:
        if roll < share:
            profile = candidate
            break
        roll -= share
    first_miss = rng.randint(1, max(1, min(periods, 4))) if profile in MISSING else 0
    prepay_at = rng.randint(2, max(2, periods)) if profile is Profile.PREPAY else 0
    return Behaviour(profile, first_miss, prepay_at)


def days_late(behaviour: Behaviour, n: int, rng: random.Random) -> int | None:
    """When installment ``n`` is paid, in days after its due date (negative: early), or
    None when the borrower does not pay it (collections may still get something)."""
    profile = behaviour.profile
    missing = behaviour.first_miss and n >= behaviour.first_miss
    if profile in (Profile.ON_TIME, Profile.PREPAY) or not missing:
        if profile is Profile.SLIGHTLY_LATE and rng.random() < 0.3:
            return rng.randint(1, 5)
        return -rng.choice((0, 0, 0, 1, 2))
    if profile is Profile.CURE_AFTER_REMINDER:
        return rng.randint(3, 15)
    if profile is Profile.CURE_AFTER_COLLECTIONS:
        return rng.randint(20, 75) if n == behaviour.first_miss else rng.randint(5, 40)
    return None  # shock and never: they stop paying
