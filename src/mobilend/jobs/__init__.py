"""Background work on a PostgreSQL-backed job queue (procrastinate 3.x) that any number of
worker processes on any number of machines share: ``mobilend worker [--concurrency N]``.

- ``queue`` — the procrastinate ``App`` on the platform's database, the process's wiring
  (``runtime()``), and the extension points other features use:
  ``register_dispatcher(name, fn)`` (run by ``outbox.dispatch`` every minute),
  ``register_periodic(name, cron, fn)`` (a task of its own on a cron schedule) and
  ``register_after_close(name, fn)`` (after each business date closes). It imports no
  feature module.
- ``registry`` — imports each feature's module below so its tasks register; the queue
  loads it by path in every worker.
- ``eod`` — ``eod.run_business_date`` (each business date once, missed dates caught up in
  order), ``eod.run_partition`` (one per loan-id partition), ``eod.close_business_date``,
  and the nightly schedule.
- ``servicing`` — ``reminders.plan_and_send``, ``autodebit.run``, ``outbox.dispatch``
  (with the refunds dispatcher) and their schedules.
- ``funding`` — the payouts dispatcher and ``funding.reconcile``.
- ``reviews`` — ``risk.line_reviews``.
- ``housekeeping`` — ``jobs.retry_stalled`` and ``jobs.prune``.

The queue's schema lives in the PostgreSQL schema ``procrastinate`` and is created by the
migration ``0006_servicing`` (so ``mobilend migrate`` is the only setup step: the same
transaction, lock and history as the rest of the schema, and test databases have it);
workers connect with that schema on their ``search_path``. Do not run
``procrastinate schema --apply`` against the platform's database.
"""
