"""Staff accounts: argon2id password hashes, roles, lock-out after repeated failures
(counted atomically by the store, so concurrent guesses cannot outrun the lock).

Roles decide what a staff member may do and whether they see personal data in the
clear; everyone else sees it masked.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from mobilend.domain.borrowers import Unauthenticated
from mobilend.domain.errors import Conflict, NotFound, Problem, ValidationFailed

# Roles and permissions are domain rules; re-exported for the callers that read them here.
from mobilend.domain.staff import ROLES_SEEING_FULL_PII as ROLES_SEEING_FULL_PII
from mobilend.domain.staff import Role as Role
from mobilend.domain.staff import sees_full_pii as sees_full_pii


@dataclass(frozen=True, slots=True)
class StaffUser:
    user_id: str
    username: str
    password_hash: str
    roles: frozenset[Role]
    created_at: dt.datetime
    active: bool = True
    failed_attempts: int = 0
    locked_until: dt.datetime | None = None
    last_login_at: dt.datetime | None = None

    def has_role(self, role: Role) -> bool:
        return role in self.roles


class StaffUserStore(Protocol):
    def add(self, user: StaffUser) -> None:
        """Raise ``Conflict`` when the username is taken."""
        ...

    def save(self, user: StaffUser) -> None: ...

    def by_username(self, username: str) -> StaffUser | None: ...

    def by_id(self, user_id: str) -> StaffUser | None: ...

    def claim_attempt(
        self, user_id: str, now: dt.datetime, max_failures: int, lock_until: dt.datetime
    ) -> bool:
        """Atomically count one sign-in attempt as a failure before the password is checked.

        False (nothing counted) when the account is disabled or locked at ``now``. A lock
        that has run out starts a fresh count. The attempt that brings the count to
        ``max_failures`` also locks the account until ``lock_until``; ``record_success``
        undoes both. So at most ``max_failures`` passwords are ever checked per lock,
        however many attempts arrive at once.
        """
        ...

    def record_success(self, user_id: str, now: dt.datetime, password_hash: str) -> None:
        """The password was right: clear the count and any lock, note the sign-in."""
        ...


class InMemoryStaffUserStore:
    def __init__(self) -> None:
        self._users: dict[str, StaffUser] = {}
        self._lock = threading.Lock()

    def add(self, user: StaffUser) -> None:
        with self._lock:
            if any(u.username == user.username for u in self._users.values()):
                raise Conflict(f"username {user.username!r} is taken")
            self._users[user.user_id] = user

    def save(self, user: StaffUser) -> None:
        with self._lock:
            # Sign-in bookkeeping belongs to claim_attempt / record_success (as in SQL).
            held = self._users.get(user.user_id)
            if held is not None:
                user = replace(
                    user,
                    failed_attempts=held.failed_attempts,
                    locked_until=held.locked_until,
                    last_login_at=held.last_login_at,
                )
            self._users[user.user_id] = user

    def by_username(self, username: str) -> StaffUser | None:
        return next((u for u in self._users.values() if u.username == username), None)

    def by_id(self, user_id: str) -> StaffUser | None:
        return self._users.get(user_id)

    def claim_attempt(
        self, user_id: str, now: dt.datetime, max_failures: int, lock_until: dt.datetime
    ) -> bool:
        with self._lock:
            user = self._users.get(user_id)
            if user is None or not user.active:
                return False
            expired = user.locked_until is not None and user.locked_until <= now
            if user.locked_until is not None and not expired:
                return False
            failures = 1 if expired else user.failed_attempts + 1
            locked = lock_until if failures >= max_failures else None
            self._users[user_id] = replace(user, failed_attempts=failures, locked_until=locked)
            return True

    def record_success(self, user_id: str, now: dt.datetime, password_hash: str) -> None:
        with self._lock:
            user = self._users[user_id]
            self._users[user_id] = replace(
                user,
                password_hash=password_hash,
                failed_attempts=0,
                locked_until=None,
                last_login_at=now,
            )


_USERNAME = re.compile(r"[a-z0-9][a-z0-9._\-]{2,63}")


def parse_roles(roles: Iterable[str]) -> frozenset[Role]:
    chosen: set[Role] = set()
    for role in roles:
        try:
            chosen.add(Role(role))
        except ValueError:
            allowed = ", ".join(r.value for r in Role)
            raise ValidationFailed(
                [Problem("roles", f"unknown role {role!r}; one of {allowed}")]
            ) from None
    if not chosen:
        raise ValidationFailed([Problem("roles", "at least one role is required")])
    return frozenset(chosen)


class StaffDirectory:
    """Create staff users, check passwords, lock out after ``max_failures`` in a row."""

    def __init__(
        self,
        store: StaffUserStore,
        *,
        hasher: PasswordHasher | None = None,
        new_id: Callable[[], str] = lambda: "staff_" + secrets.token_hex(8),
        min_password_length: int = 12,
        max_failures: int = 5,
        lockout: dt.timedelta = dt.timedelta(minutes=15),
    ) -> None:
        self._store = store
        self._hasher = hasher or PasswordHasher()
        self._new_id = new_id
        self._min_password_length = min_password_length
        self._max_failures = max_failures
        self._lockout = lockout
        # Verified when the username is unknown, so a miss costs as long as a wrong password.
        self._decoy_hash = self._hasher.hash(secrets.token_hex(16))

    def _password_problems(self, password: str, username: str) -> list[Problem]:
        problems = []
        if len(password) < self._min_password_length:
            problems.append(
                Problem("password", f"must be at least {self._min_password_length} characters")
            )
        if username and username in password.lower():
            problems.append(Problem("password", "must not contain the username"))
        return problems

    def create_user(
        self, username: str, password: str, roles: Iterable[str], now: dt.datetime
    ) -> StaffUser:
        username = username.strip().lower()
        problems = []
        if not _USERNAME.fullmatch(username):
            problems.append(
                Problem("username", "3-64 of a-z 0-9 . _ -, starting with a letter or digit")
            )
        problems += self._password_problems(password, username)
        if problems:
            raise ValidationFailed(problems)
        user = StaffUser(
            self._new_id(), username, self._hasher.hash(password), parse_roles(roles), now
        )
        self._store.add(user)
        return user

    def authenticate(self, username: str, password: str, now: dt.datetime) -> StaffUser:
        """The user when the password is right; ``Unauthenticated`` otherwise (same message
        for an unknown user, a wrong password, a locked or disabled account)."""
        refused = Unauthenticated("wrong username or password, or the account is locked")
        user = self._store.by_username(username.strip().lower())
        # The attempt is counted (atomically, in the store) before the password is checked:
        # attempts arriving together cannot all pass a lock check made before any of them
        # failed. A refusal costs one hash check too, so timing tells nothing.
        if user is None or not self._store.claim_attempt(
            user.user_id, now, self._max_failures, now + self._lockout
        ):
            self._verify(self._decoy_hash, password)
            raise refused
        if not self._verify(user.password_hash, password):
            raise refused
        password_hash = user.password_hash
        if self._hasher.check_needs_rehash(password_hash):
            password_hash = self._hasher.hash(password)  # parameters were raised since
        self._store.record_success(user.user_id, now, password_hash)
        return replace(
            user,
            password_hash=password_hash,
            failed_attempts=0,
            locked_until=None,
            last_login_at=now,
        )

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def change_password(self, user_id: str, old_password: str, new_password: str) -> None:
        user = self._require(user_id)
        if not self._verify(user.password_hash, old_password):
            raise Unauthenticated("the current password is wrong")
        problems = self._password_problems(new_password, user.username)
        if problems:
            raise ValidationFailed(problems)
        self._store.save(replace(user, password_hash=self._hasher.hash(new_password)))

    def set_roles(self, user_id: str, roles: Iterable[str]) -> StaffUser:
        user = replace(self._require(user_id), roles=parse_roles(roles))
        self._store.save(user)
        return user

    def deactivate(self, user_id: str) -> StaffUser:
        user = replace(self._require(user_id), active=False)
        self._store.save(user)
        return user

    def _require(self, user_id: str) -> StaffUser:
        user = self._store.by_id(user_id)
        if user is None:
            raise NotFound(f"staff user {user_id} not found")
        return user
