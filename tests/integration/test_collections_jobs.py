"""Collections as the worker and the command line run it: the night's case work and the
morning reminders as job-queue tasks, ``mobilend collections run`` and ``report``."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from tests.integration.collections_fixtures import at_local, build_world, overdue_loan
from tests.integration.servicing_fixtures import *  # noqa: F403  (fixtures)
from typer.testing import CliRunner

from mobilend.cli.main import app as cli
from mobilend.jobs import registry
from mobilend.jobs.collections import collections_night, collections_reminders, desk_for
from mobilend.jobs.queue import queue_app

pytestmark = pytest.mark.db


def test_the_worker_runs_the_night_and_the_morning(db: sa.Engine, clock, vault) -> None:  # type: ignore[no-untyped-def]
    assert "collections" in {m.__name__.rsplit(".", 1)[1] for m in registry.FEATURES}
    assert {"collections.night", "collections.reminders"} <= set(queue_app.tasks)
    world = build_world(db, clock, vault)
    on = overdue_loan(world, "l-1", "b-1", dpd=5)
    world.wired.messages = world.gateway
    clock.set(at_local(on + dt.timedelta(days=1), 3))
    night = collections_night(world.wired)
    assert night["cases"]["opened"] == 1
    assert desk_for(world.wired) is desk_for(world.wired)
    clock.set(at_local(on + dt.timedelta(days=1), 10))
    morning = collections_reminders(world.wired)
    assert morning["sent"] == 1  # SMS; the borrower has no push token (refused and logged)


def test_the_command_line_runs_a_day_and_reports(db: sa.Engine, clock, vault) -> None:  # type: ignore[no-untyped-def]
    world = build_world(db, clock, vault)
    on = overdue_loan(world, "l-1", "b-1", dpd=40)
    runner = CliRunner()
    day = (on + dt.timedelta(days=1)).isoformat()
    result = runner.invoke(cli, ["collections", "run", "--date", day, "--no-messages"])
    assert result.exit_code == 0, result.output
    assert "opened 1" in result.output
    report = runner.invoke(cli, ["collections", "report"])
    assert report.exit_code == 0, report.output
    assert "M2" in report.output
    bad = runner.invoke(cli, ["collections", "run", "--date", "yesterday"])
    assert bad.exit_code != 0 and "YYYY-MM-DD" in bad.output
