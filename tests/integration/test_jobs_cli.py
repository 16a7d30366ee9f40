"""The job queue from the command line (``mobilend eod run|status``) and the extension
point other features schedule their work through."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from tests.integration.servicing_fixtures import *  # noqa: F403  (fixtures)
from tests.integration.servicing_fixtures import (
    DAY,
    add_borrower,
    make_runtime,
    open_loan,
    stored_loan,
)
from typer.testing import CliRunner

from mobilend.cli.main import app

pytestmark = pytest.mark.db

D = dt.date(2026, 4, 30)


def test_eod_run_and_status_from_the_command_line(db, clock, vault, jobs) -> None:
    wired = make_runtime(db, clock, vault, partitions=3)
    jobs.use(wired)
    add_borrower(db, vault, "B1")
    open_loan(wired, "L1", "B1", D - 40 * DAY)
    runner = CliRunner()
    before = runner.invoke(app, ["eod", "status", "--date", D.isoformat()])
    assert before.exit_code == 3 and "not run" in before.output

    ran = runner.invoke(app, ["eod", "run", "--date", D.isoformat(), "--partitions", "3", "--here"])
    assert ran.exit_code == 0, ran.output
    assert stored_loan(wired, "L1").accrued_through == D
    status = runner.invoke(app, ["eod", "status", "--date", D.isoformat()])
    assert status.exit_code == 0, status.output
    assert "done" in status.output and "0/3" in status.output and "2/3" in status.output
    total_row = next(line for line in status.output.splitlines() if "Σ" in line)
    assert "1" in total_row and "100.0" in total_row


def test_features_schedule_their_dispatchers_on_the_queue(db, clock, vault, jobs) -> None:
    from mobilend.jobs import queue

    wired = make_runtime(db, clock, vault)
    jobs.use(wired)
    seen: list[object] = []
    queue.register_dispatcher("test.recorder", lambda runtime: seen.append(runtime) or 7)
    broken = "test.broken"
    queue.register_dispatcher(broken, lambda runtime: 1 / 0)
    try:
        queue.queue_app.perform_import_paths()
        with queue.queue_app.open():
            queue.queue_app.tasks["outbox.dispatch"].defer()
        jobs.work(("servicing",))
    finally:
        queue._dispatchers.pop("test.recorder")
        queue._dispatchers.pop(broken)
    # Ran once, with this process's wiring, and the broken dispatcher did not fail the job.
    assert seen == [wired]
    with db.connect() as conn:
        runs = (
            conn.execute(
                sa.text(
                    "SELECT status::text FROM procrastinate.procrastinate_jobs"
                    " WHERE task_name = 'outbox.dispatch'"
                )
            )
            .scalars()
            .all()
        )
    assert runs == ["succeeded"]
