"""Staff accounts: argon2id password hashes, roles, lock-out after repeated failures.

Roles decide what a staff member may do and whether they see personal data in the
clear; everyone else sees it masked.
"""

from __future__ import annotations

import datetime as dt
import enum
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


class Role(enum.StrEnum):
    ADMIN = "admin"  # staff accounts and configuration
    RISK = "risk"  # policies, models, limits
    OPERATIONS = "operations"  # borrower service, KYC review, disbursement exceptions
    COLLECTIONS = "collections"  # overdue accounts and contact
    COLLECTIONS_MANAGER = "collections_manager"  # strategies, approvals, complaints review
    AGENCY = "agency"  # an external collection agency's agent: its own cases only
    FINANCE = "finance"  # ledger, reconciliation, funders
    AUDITOR = "auditor"  # reads everything, changes nothing


#: Roles whose work needs names, ID numbers, phones and cards in the clear.
ROLES_SEEING_FULL_PII: frozenset[Role] = frozenset(
    {Role.OPERATIONS, Role.COLLECTIONS, Role.COLLECTIONS_MANAGER}
)


def sees_full_pii(roles: Iterable[str]) -> bool:
    return any(role in ROLES_SEEING_FULL_PII for role in roles)


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
            self._users[user.user_id] = user

    def by_username(self, username: str) -> StaffUser | None:
        return next((u for u in self._users.values() if u.username == username), None)

    def by_id(self, user_id: str) -> StaffUser | None:
        return self._users.get(user_id)


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
        if user is None:
            self._verify(self._decoy_hash, password)
            raise refused
        if not user.active or (user.locked_until is not None and now < user.locked_until):
            self._verify(self._decoy_hash, password)
            raise refused
        if not self._verify(user.password_hash, password):
            failures = user.failed_attempts + 1
            locked_until = now + self._lockout if failures >= self._max_failures else None
            self._store.save(
                replace(
                    user, failed_attempts=0 if locked_until else failures, locked_until=locked_until
                )
            )
            raise refused
        password_hash = user.password_hash
        if self._hasher.check_needs_rehash(password_hash):
            password_hash = self._hasher.hash(password)  # parameters were raised since
        user = replace(
            user,
            password_hash=password_hash,
            failed_attempts=0,
            locked_until=None,
            last_login_at=now,
        )
        self._store.save(user)
        return user

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
