"""Looking after the job queue itself: jobs of dead workers go back in the queue, and old
finished jobs are deleted."""

from __future__ import annotations

from mobilend.jobs.queue import HOUSEKEEPING_QUEUE, queue_app
from mobilend.jobs.settings import get_job_settings


@queue_app.periodic(cron=get_job_settings().stalled_cron, periodic_id="jobs.retry_stalled")
@queue_app.task(
    name="jobs.retry_stalled", queue=HOUSEKEEPING_QUEUE, queueing_lock="jobs.retry_stalled"
)
async def retry_stalled(timestamp: int | None = None) -> int:
    """Put back in the queue the jobs of workers that stopped sending heartbeats."""
    stalled = list(await queue_app.job_manager.get_stalled_jobs())
    for job in stalled:
        await queue_app.job_manager.retry_job(job)
    return len(stalled)


@queue_app.periodic(cron="0 18 * * *", periodic_id="jobs.prune")
@queue_app.task(name="jobs.prune", queue=HOUSEKEEPING_QUEUE, queueing_lock="jobs.prune")
async def prune(timestamp: int | None = None) -> None:
    """Keep a week of finished jobs for operators; delete older ones (failed ones stay)."""
    await queue_app.job_manager.delete_old_jobs(nb_hours=24 * 7)
