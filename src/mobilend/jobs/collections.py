"""Collections on the job queue: the night's case work after end of day (cases follow the
aged loans, promises, plans and offers reviewed, write-offs proposed, cases dealt out),
and the strategy's reminders in the morning — sent in daytime, since the conduct gate
refuses contact outside 08:00–22:00 anyway."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from typing import Any

from mobilend.app.collections.daily import run_collections_day, send_reminders
from mobilend.app.collections.desk import CollectionsDesk
from mobilend.bootstrap.collections import build_collections
from mobilend.bootstrap.servicing import ServicingRuntime
from mobilend.domain.business_day import business_date
from mobilend.jobs.queue import register_periodic

_desks: dict[int, CollectionsDesk] = {}
_lock = threading.Lock()


def desk_for(wired: ServicingRuntime) -> CollectionsDesk:
    """One collections desk per runtime, on its database, vault and SMS gateway."""
    with _lock:
        desk = _desks.get(id(wired))
        if desk is None:
            desk = build_collections(wired.lending, vault=wired.vault, messages=wired.messages).desk
            _desks[id(wired)] = desk
        return desk


def _today(wired: ServicingRuntime) -> dt.date:
    return business_date(wired.lending.clock.now())


def collections_night(wired: ServicingRuntime) -> dict[str, Any]:
    day = run_collections_day(desk_for(wired), _today(wired), send_messages=False)
    return {
        "date": day.business_date.isoformat(),
        "cases": dataclasses.asdict(day.cases),
        "promises": dataclasses.asdict(day.promises),
        "write_offs_proposed": day.write_offs_proposed,
        "assignment": dataclasses.asdict(day.assignment),
    }


def collections_reminders(wired: ServicingRuntime) -> dict[str, Any]:
    return dataclasses.asdict(send_reminders(desk_for(wired), _today(wired)))


# 03:00 and 10:00 in Shanghai: after end of day and the line reviews; reminders by day.
register_periodic("collections.night", "0 19 * * *", collections_night)
register_periodic("collections.reminders", "0 2 * * *", collections_reminders)
