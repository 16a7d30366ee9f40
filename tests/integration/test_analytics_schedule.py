"""When the analytics summaries are rebuilt: after end of day closes a business date (one
schedule, no clock time of its own), and once when a worker starts on a fresh install —
in this process through the worker's start-up, and as the real ``mobilend worker``."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.integration.servicing_fixtures import *  # noqa: F403  (fixtures)
from tests.integration.servicing_fixtures import DAY, add_borrower, make_runtime, open_loan

pytestmark = pytest.mark.db

D = dt.date(2026, 4, 30)


def analytics_state(db: sa.Engine) -> tuple[dt.date, dt.datetime] | None:
    with db.connect() as conn:
        row = conn.execute(
            sa.text("SELECT as_of, refreshed_at FROM analytics_state WHERE name = 'portfolio'")
        ).one_or_none()
    return None if row is None else (row.as_of, row.refreshed_at)


def active_loans(db: sa.Engine) -> int:
    with db.connect() as conn:
        return int(
            conn.execute(
                sa.text("SELECT coalesce(sum(loans), 0) FROM analytics_book_cells")
            ).scalar_one()
        )


def job_runs(db: sa.Engine, task: str) -> list[str]:
    with db.connect() as conn:
        return list(
            conn.execute(
                sa.text(
                    "SELECT status::text FROM procrastinate.procrastinate_jobs"
                    " WHERE task_name = :task ORDER BY id"
                ),
                {"task": task},
            ).scalars()
        )


def test_closing_a_business_date_refreshes_the_analytics(db, clock, vault, jobs) -> None:
    from mobilend.jobs.queue import queue_app

    clock.set(dt.datetime(2026, 5, 1, 1, 0, tzinfo=dt.UTC))  # 09:00 on 1 May in Beijing
    wired = make_runtime(db, clock, vault, partitions=2)
    jobs.use(wired)
    add_borrower(db, vault, "B1")
    open_loan(wired, "L1", "B1", D - 20 * DAY)
    assert analytics_state(db) is None

    jobs.run_date(D)  # end of day: partitions, then the close
    assert jobs.closed_dates()[-1] == D
    assert job_runs(db, "analytics.refresh") == ["todo"]  # queued by the close
    jobs.work(("servicing",))
    assert job_runs(db, "analytics.refresh") == ["succeeded"]
    state = analytics_state(db)
    assert state is not None and state[0] == D  # the business date just closed
    assert active_loans(db) == 1

    # One schedule: the close. No clock-time refresh is left on the queue's calendar.
    queue_app.perform_import_paths()
    scheduled = {p.task.name for p in queue_app.periodic_registry.periodic_tasks.values()}
    assert not any(name.startswith("analytics.") for name in scheduled)


def test_a_starting_worker_builds_the_analytics_of_a_fresh_install_once(
    db, clock, vault, jobs
) -> None:
    from mobilend.cli.worker import queue_start_work
    from mobilend.jobs.queue import queue_app

    wired = make_runtime(db, clock, vault)
    jobs.use(wired)
    add_borrower(db, vault, "B1")
    open_loan(wired, "L1", "B1", dt.date(2025, 12, 1))
    queue_app.perform_import_paths()

    queue_start_work(queue_app)
    queue_start_work(queue_app)  # a second worker starting meanwhile: still one job
    assert job_runs(db, "analytics.first_refresh") == ["todo"]
    jobs.work(("servicing",))
    first = analytics_state(db)
    assert first is not None and first[0] == dt.date(2025, 12, 31)  # yesterday in Beijing
    assert active_loans(db) == 1

    # Built once: a later start leaves the summaries to end of day.
    open_loan(wired, "L2", "B1", dt.date(2025, 12, 2))
    queue_start_work(queue_app)
    jobs.work(("servicing",))
    assert analytics_state(db) == first and active_loans(db) == 1
    assert job_runs(db, "analytics.first_refresh") == ["succeeded", "succeeded"]


def test_mobilend_worker_refreshes_a_fresh_install_on_start(
    db, clock, vault, jobs, tmp_path: Path
) -> None:
    """The worker ``make run`` starts, as a process of its own on the test database."""
    wired = make_runtime(db, clock, vault)
    add_borrower(db, vault, "B1")
    open_loan(wired, "L1", "B1", dt.date(2025, 12, 1))
    assert analytics_state(db) is None
    log = tmp_path / "worker.log"
    env = {**os.environ, "MOBILEND_VAR_DIR": str(tmp_path / "var")}
    command = [sys.executable, "-c", "from mobilend.cli.main import app; app()", "worker"]
    with log.open("wb") as out:
        worker = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 90
        while analytics_state(db) is None and worker.poll() is None:
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        assert worker.poll() is None, log.read_text()
    finally:
        worker.send_signal(signal.SIGTERM)  # stops cleanly after the job in hand
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    assert active_loans(db) == 1
    assert job_runs(db, "analytics.first_refresh") == ["succeeded"]
