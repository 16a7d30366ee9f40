"""Storage of privacy (PIPL): everything held about a borrower, for the data subject's
export, and erasure once the legal retention period has ended.

Which tables hold personal data, for what purpose, and what erasure does to each is
the register's (``app/privacy/register.py``); the stores follow it. They are the
``privacy`` store group of the platform unit of work.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

#: A value of an exported row, as JSON has it.
JsonValue = str | int | bool | None | list["JsonValue"] | dict[str, "JsonValue"]


@dataclass(frozen=True, slots=True)
class HeldRows:
    """The rows one table holds about a borrower (sealed fields still sealed)."""

    table: str
    rows: tuple[Mapping[str, JsonValue], ...]


class PersonalDataStore(Protocol):
    def rows_of(self, borrower_id: str, tables: Sequence[str]) -> list[HeldRows]:
        """Every row of ``tables`` about the borrower, in table order; values made JSON
        (money in minor units, dates ISO), sealed columns as stored."""
        ...

    def decision_records(self, borrower_id: str) -> list[Mapping[str, JsonValue]]:
        """The borrower's full decision records, opened (every data-source answer)."""
        ...

    def tables_with_borrowers(self) -> list[str]:
        """Every table of the schema with a ``borrower_id`` column (and ``borrowers``)."""
        ...


@dataclass(frozen=True, slots=True)
class Relationship:
    """Where a borrower's business with the lender stands, for retention."""

    borrower_id: str
    status: str
    registered_on: dt.date
    owes: bool  # a loan still active or awaiting its payout
    usable_lines: int  # lines active or frozen and not yet expired
    last_loan_closed_on: dt.date | None
    erased: bool


@dataclass(frozen=True, slots=True)
class ErasureRequest:
    borrower_id: str
    requested_at: dt.datetime
    requested_by: str  # "borrower" or a staff user
    erased_at: dt.datetime | None = None
    retention_ended_on: dt.date | None = None
    removed: Mapping[str, int] = field(default_factory=dict)


class ErasureStore(Protocol):
    def relationship(self, borrower_id: str, on: dt.date) -> Relationship | None: ...

    def request_of(self, borrower_id: str) -> ErasureRequest | None: ...

    def add_request(self, request: ErasureRequest) -> None: ...

    def pending(self, limit: int = 500) -> list[ErasureRequest]:
        """Requests not yet carried out, oldest first."""
        ...

    def erase(self, borrower_id: str) -> dict[str, int]:
        """Remove the borrower's personal data as the register says, irreversibly (no
        copy is kept); rows changed per table. The account is closed."""
        ...

    def mark_erased(
        self,
        borrower_id: str,
        at: dt.datetime,
        retention_ended_on: dt.date,
        removed: Mapping[str, int],
    ) -> None: ...


class PrivacyStores(Protocol):
    """Privacy's store group of the platform unit of work."""

    @property
    def personal_data(self) -> PersonalDataStore: ...

    @property
    def erasures(self) -> ErasureStore: ...
