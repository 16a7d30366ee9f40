"""Statements built once and executed with their values as parameters.

SQLAlchemy keys its compiled-statement cache by a key it works out from the statement
object; a statement built afresh for each row (``table.insert().values(**row)``) is built,
coerced value by value and keyed again every time — about as much Python as the round
trip itself on the journey's inserts. A statement object built once keeps its key, and
its values travel as bound parameters: the same SQL, the same types, no rebuilding.
"""

from __future__ import annotations

import sqlalchemy as sa

_INSERTS: dict[sa.Table, sa.Insert] = {}


def insert_into(table: sa.Table) -> sa.Insert:
    """``table.insert()``, built once per table; execute it with the row's values."""
    found = _INSERTS.get(table)
    if found is None:
        found = _INSERTS.setdefault(table, table.insert())
    return found
