"""The disbursement worker: a plain loop any scheduler can run.

``run_cycle`` does one pass — move partner approvals on, send due payouts, poll payouts
the rail never confirmed — and is what a job queue schedules. ``run_worker`` repeats it
until told to stop, sleeping only when a pass found nothing to do. Several workers
(threads or processes, on any machine) can run at once: every claim is a lease taken
with SKIP LOCKED, and every outcome is applied once under a row lock, so a worker
killed at any point leaves nothing that another cannot finish.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from mobilend.app.funding.approvals import process_approvals
from mobilend.app.funding.disbursement import DisbursementDesk
from mobilend.app.funding.dispatch import dispatch_payouts, poll_unconfirmed


@dataclass(frozen=True, slots=True)
class CycleResult:
    payouts: int
    approvals: int
    polled: int

    @property
    def busy(self) -> bool:
        return bool(self.payouts or self.approvals or self.polled)


def run_cycle(desk: DisbursementDesk) -> CycleResult:
    """One pass of every duty; returns how many items each touched. Approvals go first:
    a loan they fund is paid out in the same pass."""
    approvals = process_approvals(desk)
    payouts = dispatch_payouts(desk)
    polled = poll_unconfirmed(desk)
    return CycleResult(payouts, approvals, polled)


def run_worker(
    desk: DisbursementDesk,
    *,
    should_stop: Callable[[], bool],
    idle_s: float = 0.2,
    sleep: Callable[[float], None] = time.sleep,
    on_cycle: Callable[[CycleResult], None] | None = None,
) -> int:
    """Run passes until ``should_stop()``; returns the number of passes made."""
    cycles = 0
    while not should_stop():
        result = run_cycle(desk)
        cycles += 1
        if on_cycle is not None:
            on_cycle(result)
        if not result.busy:
            sleep(idle_s)
    return cycles
