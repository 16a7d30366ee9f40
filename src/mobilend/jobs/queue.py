"""The job queue: one procrastinate ``App`` on the platform's PostgreSQL database, and the
way features add their own periodic work to it.

Queues: ``eod`` (end of day: coordinator, partitions, close), ``servicing`` (messages,
auto-debits, refunds, outbox dispatch) and ``housekeeping`` (periodic triggers). A worker
takes every queue unless told otherwise; several workers on several machines share them.

Adding periodic work (for example a feature's outbox dispatcher)::

    from mobilend.jobs.queue import register_dispatcher, register_periodic

    register_dispatcher("payouts", lambda runtime: run_cycle(desk_for(runtime)).payouts)
    register_periodic("funding.reconcile", "15 17 * * *", lambda runtime: reconcile(...))

``register_dispatcher`` adds a function to the ``outbox.dispatch`` task (run every minute);
``register_periodic`` makes a task of its own, run on the cron schedule (UTC), at most one
at a time and never queued twice. Either takes effect in a worker once the module that
calls it is imported: add a feature's module to ``mobilend.jobs.registry``, or list an
outside module in ``MOBILEND_JOBS_IMPORT_PATHS`` (JSON list).
``register_after_close`` runs a function once a business date has closed (the servicing
senders are woken this way), so end of day never imports the features it wakes.

This module imports no feature's task module: they import it.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import procrastinate

from mobilend.bootstrap.servicing import (
    ServicingRuntime,
    build_servicing_runtime,
    job_queue_conninfo,
)
from mobilend.domain.business_day import business_date
from mobilend.jobs.settings import get_job_settings

log = logging.getLogger(__name__)

EOD_QUEUE = "eod"
SERVICING_QUEUE = "servicing"
HOUSEKEEPING_QUEUE = "housekeeping"
QUEUES = (EOD_QUEUE, SERVICING_QUEUE, HOUSEKEEPING_QUEUE)

#: The module that imports every feature's task module (imported by every worker). A
#: path, not an import: this module is the plumbing the features import, never the
#: other way round.
TASK_MODULES = ("mobilend.jobs.registry",)


def _conninfo() -> str:
    # Resolved at each new connection, so settings changed before the pool opens count.
    return job_queue_conninfo()


queue_app = procrastinate.App(
    connector=procrastinate.PsycopgConnector(conninfo=_conninfo, min_size=1, max_size=4),
    import_paths=[*TASK_MODULES, *get_job_settings().import_paths],
)


# --------------------------------------------------------------------------- the runtime


_runtime: ServicingRuntime | None = None
_runtime_lock = threading.Lock()


def runtime() -> ServicingRuntime:
    """This process's wiring of background work (built on first use)."""
    global _runtime
    with _runtime_lock:
        if _runtime is None:
            _runtime = build_servicing_runtime(partitions=get_job_settings().eod_partitions)
        return _runtime


def use_runtime(wired: ServicingRuntime | None) -> None:
    """Run this process's tasks with ``wired`` (tests, or an embedding application);
    None forgets it (the next task builds one from the settings)."""
    global _runtime
    with _runtime_lock:
        _runtime = wired


# --------------------------------------------------------------------------- extension points


@dataclass(frozen=True, slots=True)
class Dispatcher:
    name: str
    run: Callable[[ServicingRuntime], Any]


_dispatchers: dict[str, Dispatcher] = {}


def register_dispatcher(name: str, run: Callable[[ServicingRuntime], Any]) -> None:
    """Run ``run(runtime)`` on every ``outbox.dispatch`` (once a minute, and after each
    business date closes). A failing dispatcher is logged and does not stop the others."""
    _dispatchers[name] = Dispatcher(name, run)


def dispatchers() -> list[Dispatcher]:
    return list(_dispatchers.values())


def register_periodic(
    name: str,
    cron: str,
    run: Callable[[ServicingRuntime], Any],
    *,
    queue: str = SERVICING_QUEUE,
    retry: int = 0,
) -> Any:
    """A task named ``name`` running ``run(runtime)`` on ``cron`` (UTC; a sixth field
    gives seconds); returns the procrastinate task (``.defer()`` runs it now)."""

    def job(timestamp: int | None = None) -> Any:
        return run(runtime())

    job.__name__ = name.replace(".", "_")
    task = queue_app.task(name=name, queue=queue, queueing_lock=name, lock=name, retry=retry)(job)
    return queue_app.periodic(cron=cron, periodic_id=name)(task)


def previous_business_date(now: dt.datetime) -> dt.date:
    """The business date that ended before ``now`` in the business zone."""
    return business_date(now) - dt.timedelta(days=1)


_after_close: dict[str, Callable[[], Any]] = {}


def register_after_close(name: str, run: Callable[[], Any]) -> None:
    """Call ``run()`` each time end of day has closed a business date (``eod``'s close
    task calls them in the order they were registered; an error fails that task)."""
    _after_close[name] = run


def run_after_close() -> None:
    for run in list(_after_close.values()):
        run()
