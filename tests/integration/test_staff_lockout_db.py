"""Staff sign-in lock-out holds under concurrency, on real PostgreSQL: attempts arriving
together are counted one by one before any password is checked, so 30 simultaneous
guesses check at most ``max_failures`` passwords and leave the account locked."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from mobilend.adapters.auth import StaffDirectory
from mobilend.adapters.db.engine import create_engine
from mobilend.adapters.db.security_repository import SqlStaffUserStore
from mobilend.domain.borrowers import Unauthenticated

pytestmark = pytest.mark.db

T0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
RIGHT = "the right password 42"
MAX_FAILURES = 5


class CountingHasher(PasswordHasher):
    """Counts the checks made against one account's real hash (not the decoy)."""

    def __init__(self) -> None:
        super().__init__()
        self.real_hash = ""
        self.real_checks = 0
        self._lock = threading.Lock()

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        if hash == self.real_hash:
            with self._lock:
                self.real_checks += 1
        return super().verify(hash, password)


@pytest.fixture
def engine(database_url: str, db: sa.Engine) -> Iterator[sa.Engine]:
    wide = create_engine(database_url, pool_size=30, max_overflow=10)
    yield wide
    wide.dispose()


def concurrent_attempts(staff: StaffDirectory, passwords: list[str]) -> list[bool]:
    """Every password tried at once from its own thread; True where it signed in."""
    barrier = threading.Barrier(len(passwords))
    results = [False] * len(passwords)

    def attempt(index: int, password: str) -> None:
        barrier.wait()
        try:
            staff.authenticate("ops1", password, T0)
            results[index] = True
        except Unauthenticated:
            pass

    threads = [threading.Thread(target=attempt, args=pair) for pair in enumerate(passwords)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def setup(engine: sa.Engine) -> tuple[StaffDirectory, CountingHasher, SqlStaffUserStore]:
    hasher = CountingHasher()
    store = SqlStaffUserStore(engine)
    staff = StaffDirectory(store, hasher=hasher, max_failures=MAX_FAILURES)
    user = staff.create_user("ops1", RIGHT, ["operations"], T0)
    hasher.real_hash = user.password_hash
    return staff, hasher, store


def test_twenty_concurrent_wrong_passwords_lock_the_account(engine: sa.Engine) -> None:
    staff, hasher, store = setup(engine)
    assert concurrent_attempts(staff, ["wrong password"] * 20) == [False] * 20
    assert hasher.real_checks == MAX_FAILURES
    user = store.by_username("ops1")
    assert user is not None
    assert user.failed_attempts == MAX_FAILURES
    assert user.locked_until == T0 + dt.timedelta(minutes=15)
    with pytest.raises(Unauthenticated):
        staff.authenticate("ops1", RIGHT, T0 + dt.timedelta(minutes=14))
    assert staff.authenticate("ops1", RIGHT, T0 + dt.timedelta(minutes=15)).user_id == user.user_id


def test_the_right_password_among_thirty_concurrent_guesses_checks_at_most_five(
    engine: sa.Engine,
) -> None:
    staff, hasher, store = setup(engine)
    passwords = ["wrong password"] * 30
    passwords[25] = RIGHT  # the 26th of 30
    results = concurrent_attempts(staff, passwords)
    # Only the first five attempts to be counted had their password checked; the right
    # one got in only if it was one of them, and then it reset the count.
    assert hasher.real_checks <= MAX_FAILURES
    user = store.by_username("ops1")
    assert user is not None
    if results[25]:
        assert user.locked_until is None or user.failed_attempts <= MAX_FAILURES
    else:
        assert user.locked_until == T0 + dt.timedelta(minutes=15)
    assert sum(results) <= 1 and not any(r for i, r in enumerate(results) if i != 25)
