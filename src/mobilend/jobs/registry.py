"""Every feature's task module, imported so its tasks, schedules and dispatchers register
on the queue. The worker reaches this module through the queue's import paths
(``queue.TASK_MODULES``); a new feature's ``jobs/<feature>.py`` is listed here."""

from __future__ import annotations

from mobilend.jobs import (
    analytics,
    collections,
    compliance,
    eod,
    funding,
    housekeeping,
    reviews,
    servicing,
)

#: The feature modules a worker loads (no order among them matters).
FEATURES = (eod, servicing, funding, reviews, collections, compliance, housekeeping, analytics)
