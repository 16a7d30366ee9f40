"""How amounts, rates, dates and times look in the console (template filters)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from mobilend.domain.money import Money

LOCAL_ZONE = ZoneInfo("Asia/Shanghai")


def yuan(value: Money | int | None) -> str:
    """Money, or an amount in fen, as ``1,234.56`` (exact to the fen)."""
    if value is None:
        return "—"
    amount = value.round().amount if isinstance(value, Money) else Decimal(value).scaleb(-2)
    return f"{amount:,.2f}"


def pct(rate: Decimal | str | float | None, digits: int = 2) -> str:
    if rate is None or rate == "":
        return "—"
    quantum = Decimal(1).scaleb(-digits)
    return f"{(Decimal(str(rate)) * 100).quantize(quantum)}%"


def day(value: dt.date | str | None) -> str:
    if value is None:
        return "—"
    return value if isinstance(value, str) else value.isoformat()


def local_time(value: dt.datetime | None) -> str:
    if value is None:
        return "—"
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(LOCAL_ZONE).strftime("%Y-%m-%d %H:%M:%S")


def count(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


# Report columns holding a fraction (0.2500), shown as a percentage (25.00%).
FRACTION_COLUMNS = frozenset(
    {
        "conversion", "approval_rate", "bad_rate", "bad_principal_rate", "share",
        "cure_rate", "book_share", "concentration", "quota_use", "daily_use", "loss_rate",
    }
)  # fmt: skip

FILTERS = {"yuan": yuan, "pct": pct, "day": day, "local_time": local_time, "count": count}
