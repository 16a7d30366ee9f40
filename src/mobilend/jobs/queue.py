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
calls it is imported: list it in ``MOBILEND_JOBS_IMPORT_PATHS`` (JSON list) or import it
from one of the task modules.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import procrastinate

from mobilend.bootstrap import ServicingRuntime, build_servicing_runtime, job_queue_conninfo
from mobilend.jobs.settings import get_job_settings

log = logging.getLogger(__name__)

EOD_QUEUE = "eod"
SERVICING_QUEUE = "servicing"
HOUSEKEEPING_QUEUE = "housekeeping"
QUEUES = (EOD_QUEUE, SERVICING_QUEUE, HOUSEKEEPING_QUEUE)

#: Modules holding the platform's tasks (imported by every worker).
TASK_MODULES = ("mobilend.jobs.eod", "mobilend.jobs.servicing")


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
