"""Background work from the command line: ``mobilend worker`` runs a job-queue worker;
``mobilend eod run`` asks for end of day of a business date; ``mobilend eod status``
shows how far it got.

The job queue is loaded by its import path (like ``serve`` loads the API), so the
command line and the jobs stay independent entry points.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from mobilend.bootstrap.servicing import eod_status

QUEUE_APP = "mobilend.jobs.queue.queue_app"
#: Tasks each worker queues as it starts, by name (the CLI imports no job module). Each
#: returns at once when it has nothing to do; a queueing lock keeps one of each waiting.
ON_START = ("analytics.first_refresh",)  # builds the analytics of a fresh install

eod_app = typer.Typer(
    help="日终批处理 / end of day: run a business date, see its progress.", no_args_is_help=True
)


def _queue_app() -> Any:
    import procrastinate

    queue_app = procrastinate.App.from_path(QUEUE_APP)
    queue_app.perform_import_paths()
    return queue_app


def worker_command(
    concurrency: int = typer.Option(
        1, "--concurrency", min=1, help="同时执行的任务数 / jobs run at once in this process"
    ),
    queue: list[str] = typer.Option(
        [], "--queue", help="只处理这些队列 / only these queues (eod, servicing, housekeeping)"
    ),
    name: str = typer.Option("", "--name", help="工作进程名 / worker name in logs"),
) -> None:
    """启动后台任务进程 / Run a job-queue worker (end of day, reminders, auto-debit, outbox).

    Start as many as the work needs, on as many machines: they share the queue. Stops
    cleanly on Ctrl-C / SIGTERM after the jobs in hand.
    """
    from mobilend.cli.serve import refuse_unsafe_production

    refuse_unsafe_production()
    options: dict[str, Any] = {"concurrency": concurrency}
    if queue:
        options["queues"] = queue
    if name:
        options["name"] = name
    queue_app = _queue_app()
    queue_start_work(queue_app)
    queue_app.run_worker(**options)


def queue_start_work(queue_app: Any) -> None:
    """Queue the ``ON_START`` tasks (one already waiting is enough)."""
    from procrastinate.exceptions import AlreadyEnqueued

    with queue_app.open():
        for task in ON_START:
            with contextlib.suppress(AlreadyEnqueued):
                queue_app.configure_task(task, queueing_lock=task).defer()


@eod_app.command("run")
def eod_run_command(
    date: dt.datetime = typer.Option(
        ..., "--date", formats=["%Y-%m-%d"], help="营业日 / business date"
    ),
    partitions: int | None = typer.Option(
        None, "--partitions", min=1, help="按借款分区数 / loan-id partitions (default: settings)"
    ),
    here: bool = typer.Option(
        False, "--here", help="在本进程执行直到完成 / run it in this process until done"
    ),
) -> None:
    """执行日终 / Ask for end of day through DATE (missed dates are caught up in order).

    The request goes to the job queue; workers do the work. With ``--here`` this process
    works the end-of-day queue itself until the date is closed.
    """
    queue_app = _queue_app()
    with queue_app.open():
        task = queue_app.tasks["eod.run_business_date"]
        kwargs: dict[str, Any] = {"business_date": date.date().isoformat()}
        if partitions:
            kwargs["partitions"] = partitions
        job_id = task.defer(**kwargs)
    typer.echo(f"已提交 / queued: end of day through {date.date()} (job {job_id})")
    if here:
        queue_app.run_worker(queues=["eod"], wait=False, install_signal_handlers=True)
        _print_status(date.date())


@eod_app.command("status")
def eod_status_command(
    date: dt.datetime = typer.Option(
        ..., "--date", formats=["%Y-%m-%d"], help="营业日 / business date"
    ),
) -> None:
    """日终进度 / Rows done and total per partition of DATE."""
    if not _print_status(date.date()):
        raise typer.Exit(code=3)


def _print_status(day: dt.date) -> bool:
    record, partitions = eod_status(day)
    console = Console()
    if record is None and not partitions:
        console.print(f"{day}: 尚未执行 / not run")
        return False
    state = record.status if record is not None else "running"
    table = Table(title=f"日终 / end of day {day} — {state}")
    for column in ("分区 partition", "状态 status", "完成 done", "总数 total", "%", "用时 time"):
        table.add_column(column, justify="right")
    done = total = 0
    for p in partitions:
        done += p.rows_done
        total += p.rows_total
        share = f"{100 * p.rows_done / p.rows_total:.1f}" if p.rows_total else "100.0"
        took = ""
        if p.started_at is not None and p.finished_at is not None:
            took = f"{(p.finished_at - p.started_at).total_seconds():.1f}s"
        table.add_row(
            f"{p.partition}/{p.partitions}",
            p.status,
            f"{p.rows_done:,}",
            f"{p.rows_total:,}",
            share,
            took,
        )
    share = f"{100 * done / total:.1f}" if total else "100.0"
    table.add_row("Σ", state, f"{done:,}", f"{total:,}", share, "", style="bold")
    console.print(table)
    if record is not None and record.summary:
        console.print(record.summary)
    return True
