"""The `mobilend` command: one Typer app, each feature's commands in its own module.

Feature modules only define their commands (or their own sub-app); this module is the one
place that mounts them, so none of them imports it back.
"""

from __future__ import annotations

import typer

from mobilend.cli import (
    analytics,
    bench,
    bureau,
    collections,
    compliance,
    db,
    decision,
    demo,
    funding,
    ledger,
    lines,
    model,
    privacy,
    refunds,
    schedule,
    security,
    serve,
    simulate,
    staff,
    worker,
)

app = typer.Typer(
    name="mobilend",
    help="mobilend — open-source mobile micro-lending platform.",
    no_args_is_help=True,
    add_completion=False,
)

# Top-level commands, in the order `mobilend --help` lists them.
app.command("migrate")(db.migrate_command)
app.command("seed")(demo.seed_command)
app.command("demo")(demo.demo_command)
app.command("reconcile")(funding.reconcile_command)
app.command("schedule")(schedule.schedule_command)
app.command("serve")(serve.serve_command)
app.command("simulate")(simulate.simulate_command)
app.command("worker")(worker.worker_command)

# Command groups.
app.add_typer(analytics.analytics_app, name="analytics")
app.add_typer(bench.bench_app, name="bench")
app.add_typer(collections.collections_app, name="collections")
app.add_typer(bureau.bureau_app, name="bureau")
app.add_typer(compliance.compliance_app, name="compliance")
app.add_typer(db.db_app, name="db")
app.add_typer(decision.decision_app, name="decision")
app.add_typer(funding.funders_app, name="funders")
app.add_typer(funding.disbursement_app, name="disbursement")
app.add_typer(ledger.ledger_app, name="ledger")
app.add_typer(lines.lines_app, name="lines")
app.add_typer(model.model_app, name="model")
app.add_typer(refunds.refunds_app, name="refunds")
app.add_typer(privacy.privacy_app, name="privacy")
app.add_typer(staff.staff_app, name="staff")
app.add_typer(worker.eod_app, name="eod")
app.add_typer(security.audit_app, name="audit")
app.add_typer(security.keys_app, name="keys")

if __name__ == "__main__":
    app()
