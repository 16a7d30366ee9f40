"""Compliance and privacy on the job queue: each night the compliance report for the day
(its breaches logged for the compliance officer), and the erasure requests whose legal
retention period has ended carried out."""

from __future__ import annotations

import logging
from typing import Any

from mobilend.bootstrap.servicing import ServicingRuntime
from mobilend.jobs.queue import previous_business_date, register_periodic

log = logging.getLogger(__name__)


def _compliance_report(wired: ServicingRuntime) -> Any:
    """Everything that breaks a rule in force on the business date that just ended."""
    from mobilend.app.compliance.report import compliance_report_in
    from mobilend.bootstrap.compliance import build_compliance

    desk = build_compliance()
    day = previous_business_date(wired.lending.clock.now())
    with desk.uow_factory() as uow:
        report = compliance_report_in(uow, desk.rules, day)
    for item in report.breaches:
        log.warning("compliance breach %s %s: %s", item.section, item.subject, item.breach.en)
    return {"business_date": day.isoformat(), "breaches": len(report.breaches)}


def _erase_due(wired: ServicingRuntime) -> Any:
    """Erase the personal data of borrowers whose retention period has ended."""
    from mobilend.app.privacy.erasure import erase_due_in
    from mobilend.bootstrap.compliance import build_compliance

    desk = build_compliance()
    with desk.uow_factory() as uow:
        results = erase_due_in(uow, on=desk.today(), now=desk.now(), years=desk.retention_years)
        uow.commit()
    return {"erased": sum(1 for r in results if r.outcome == "erased"), "pending": len(results)}


# 02:30 and 03:00 in Shanghai, after end of day and the line reviews.
register_periodic("compliance.report", "30 18 * * *", _compliance_report)
register_periodic("privacy.erase_due", "0 19 * * *", _erase_due)
