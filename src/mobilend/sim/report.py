"""The figures of a simulated year, computed after the run from the database and the
run's own log: funnel, decisions by hidden truth, default rates, compliance, funding,
vintage curves, roll rates, recovery by bucket, profit and loss, funder mix, and the
independent checks (ledger rebuilt from postings, contact log audited against the
conduct rules).

``figures`` are deterministic for a seed; ``timing`` (latencies, seconds) is wall clock.

A loan *defaults* when it reaches 90 days past due at any time (``loans.max_dpd``) or is
written off; it is *delinquent* once it reached 30 days past due (short runs end before
most late loans can reach 90).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from mobilend.app.collections.reports import recovery_report
from mobilend.bootstrap.ledger import verify_book
from mobilend.sim.arrivals import LoanTrack
from mobilend.sim.collections_checks import audit_conduct, verify_ledger
from mobilend.sim.year import Year, YearRun

BUCKETS = ("current", "1-29", "30-59", "60-89", "90+", "written_off", "closed")
BANDS = ("A", "B", "C", "D", "E")


def _yuan(fen: int | Decimal) -> float:
    return float(Decimal(fen) / 100)


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def percentile(samples: list[float], q: float) -> float | None:
    if not samples:
        return None
    ordered = sorted(samples)
    rank = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return round(ordered[rank], 1)


def build_report(year: Year) -> dict[str, Any]:
    run, world = year.run, year.world
    db = world.db
    with db.connect() as conn:
        loan_rows = {
            r[0]: (r[1], int(r[2]))
            for r in conn.execute(sa.text("SELECT id, status, max_dpd FROM loans"))
        }
        ledger_by_account = {
            str(r[0]): int(r[1])
            for r in conn.execute(
                sa.text(
                    "SELECT split_part(account, ':', 1), sum(amount_minor) FROM postings"
                    " GROUP BY 1 ORDER BY 1"
                )
            )
        }
    defaulted = {
        loan_id
        for loan_id, (status, max_dpd) in loan_rows.items()
        if status == "written_off" or max_dpd >= 90
    }
    book = verify_book(db)
    entries = verify_ledger(db, world.platform.lending.uow_factory, ())
    audit = audit_conduct(db, year.month.desk.settings.conduct)
    desk = year.month.desk
    recovery = recovery_report(desk.uow_factory, desk.settings.buckets.rank)
    cap = world.platform.lending.cost_caps.cap_for("", year.config.start).limit

    tracks = list(run.loans.values())
    bad = [t for t in tracks if t.person.bad]
    good = [t for t in tracks if not t.person.bad]
    aprs = [Decimal(t.apr) for t in tracks]

    def late(track: LoanTrack) -> bool:  # ever 30+ days past due
        return loan_rows.get(track.loan_id, ("", 0))[1] >= 30

    figures: dict[str, Any] = {
        "ledger.balanced": book.clean and entries.clean,
        "ledger.entries": book.entries,
        "ledger.loans_rebuilt": book.loans,
        "ledger.lines_rebuilt": book.lines,
        "ledger.mismatches": [f"{m.check}:{m.subject}:{m.detail}" for m in book.mismatches][:20],
        "default_rate.bad_rows": _share(sum(t.loan_id in defaulted for t in bad), len(bad)),
        "default_rate.good_rows": _share(sum(t.loan_id in defaulted for t in good), len(good)),
        "delinquency_rate.bad_rows": _share(sum(late(t) for t in bad), len(bad)),
        "delinquency_rate.good_rows": _share(sum(late(t) for t in good), len(good)),
        "default_rate.all": _share(len(defaulted & set(run.loans)), len(tracks)),
        "compliance.apr_cap": float(cap),
        "compliance.max_apr": float(max(aprs)) if aprs else None,
        "compliance.loans_above_cap": sum(apr > cap for apr in aprs),
        "compliance.conduct_violations": audit.total,
        "compliance.conduct_by_rule": dict(audit.violations),
        "compliance.quiet_hour_messages": audit.violations.get("contact_hours", 0),
        "compliance.contacts_audited": audit.contacts_out,
        "funding.joint_loans": sum(len(t.funders) > 1 for t in tracks),
        "funding.reconciliation_mismatches": run.reconciliation_breaks,
        "funding.reconciliation_days": run.reconciliation_days,
    }
    return {
        "config": {
            "applicants": year.config.applicants,
            "days": year.config.days,
            "seed": year.config.seed,
            "start": year.config.start.isoformat(),
            "http": year.config.http,
            "dataset": "data/german_credit.csv",
        },
        "figures": figures,
        "funnel": _funnel(run),
        "decisions_by_truth": _by_truth(run),
        "bad_rate_by_band": _by_band(tracks, defaulted),
        "vintages": _vintages(tracks, year.config.start + dt.timedelta(days=year.config.days - 1)),
        "roll_rates": _roll_rates(run),
        "recovery_by_bucket": [
            {
                "bucket": line.group,
                "cases": line.cases,
                "owed_at_open": _yuan(line.owed_at_open.to_minor()),
                "collected": _yuan(line.collected.to_minor()),
                "cured": line.cured,
                "settled": line.settled,
                "written_off": line.written_off,
                "still_open": line.still_open,
            }
            for line in recovery.by_bucket
        ],
        "profit_and_loss": _profit_and_loss(ledger_by_account, year),
        "funder_mix": _funder_mix(tracks),
        "activity": {k: v for k, v in sorted(run.counts.items())},
        "daily": run.daily,
        "timing": {
            "decision_ms.p50": percentile(run.decision_ms, 50),
            "decision_ms.p99": percentile(run.decision_ms, 99),
            "payout_ms.p50": percentile(run.payout_ms, 50),
            "payout_ms.p99": percentile(run.payout_ms, 99),
            **{k: round(v, 1) for k, v in run.timings.items()},
        },
    }


def _funnel(run: YearRun) -> dict[str, int]:
    c = run.counts
    return {
        "applicants": len(run.people),
        "applied": c["applied"],
        "approved": c["decision_approve"],
        "declined": c["decision_decline"],
        "referred": c["decision_refer"],
        "offer_taken": c["signed"] + sum(n for k, n in c.items() if k.startswith("sign_refused_")),
        "signed": c["signed"],
        "paid_out": c["paid_out"],
        "payout_failed": c["payout_failed"],
    }


def _by_truth(run: YearRun) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for label, bad in (("bad_rows", True), ("good_rows", False)):
        rows = [a for a in run.applications if a["bad"] is bad]
        outcomes = Counter(a["outcome"] for a in rows)
        out[label] = {
            "applications": len(rows),
            **{k: outcomes[k] for k in ("approve", "decline", "refer")},
            "approval_rate": _share(outcomes["approve"], len(rows)),
        }
    return out


def _by_band(tracks: list[LoanTrack], defaulted: set[str]) -> dict[str, dict[str, Any]]:
    out = {}
    for band in BANDS:
        members = [t for t in tracks if t.band == band]
        if members:
            out[band] = {
                "loans": len(members),
                "bad_rows": sum(t.person.bad for t in members),
                "defaults": sum(t.loan_id in defaulted for t in members),
                "default_rate": _share(sum(t.loan_id in defaulted for t in members), len(members)),
            }
    return out


def _vintages(tracks: list[LoanTrack], last_day: dt.date) -> dict[str, list[float | None]]:
    """By month of payout: the share of the month's loans that had been 30+ days past due
    by each month on book (None once the run ends before that month is over)."""
    cohorts: dict[str, list[LoanTrack]] = defaultdict(list)
    for track in tracks:
        cohorts[track.disbursed_on.strftime("%Y-%m")].append(track)
    curves: dict[str, list[float | None]] = {}
    for month, members in sorted(cohorts.items()):
        latest = max(t.disbursed_on for t in members)
        curve: list[float | None] = []
        for mob in range(1, 13):
            if latest + dt.timedelta(days=30 * mob) > last_day:
                break
            hit = sum(
                1
                for t in members
                if t.first_30dpd is not None
                and t.first_30dpd <= t.disbursed_on + dt.timedelta(days=30 * mob)
            )
            curve.append(_share(hit, len(members)))
        curves[month] = curve
    return curves


def _roll_rates(run: YearRun) -> dict[str, dict[str, float | None]]:
    """Share of loans in each bucket at one 30-day snapshot found in each bucket at the
    next, pooled over the run."""
    moves: dict[str, Counter[str]] = defaultdict(Counter)
    for (_, before), (_, after) in zip(run.snapshots, run.snapshots[1:], strict=False):
        for loan_id, bucket in before.items():
            if bucket in ("closed", "written_off"):
                continue
            moves[bucket][after.get(loan_id, "closed")] += 1
    return {
        start: {end: _share(moves[start][end], sum(moves[start].values())) for end in BUCKETS}
        for start in BUCKETS
        if moves[start]
    }


def _profit_and_loss(ledger: dict[str, int], year: Year) -> dict[str, float]:
    """Income as the ledger booked it (credits are negative postings), write-offs, and
    the credit data bought; before cost of funds and the partners' shares."""

    def income(account: str) -> float:
        return _yuan(-ledger.get(account, 0))

    data_cost = year.run.data_cost
    lines = {
        "interest_income": income("interest_income"),
        "fee_income": income("fee_income"),
        "penalty_income": income("penalty_income"),
        "recovery_income": income("recovery_income"),
        "write_off_expense": _yuan(ledger.get("write_off_expense", 0)),
        "credit_data_cost": _yuan(data_cost.to_minor()),
    }
    lines["net_before_funding_costs"] = round(
        lines["interest_income"] + lines["fee_income"] + lines["penalty_income"]
        + lines["recovery_income"] - lines["write_off_expense"] - lines["credit_data_cost"],
        2,
    )  # fmt: skip
    return lines


def _funder_mix(tracks: list[LoanTrack]) -> dict[str, dict[str, float]]:
    principal: Counter[str] = Counter()
    loans: Counter[str] = Counter()
    for track in tracks:
        for code, amount in track.funders:
            principal[code] += amount.to_minor()
            loans[code] += 1
    total = sum(principal.values())
    return {
        code: {
            "loans": loans[code],
            "principal": _yuan(principal[code]),
            "share": round(principal[code] / total, 4) if total else 0.0,
        }
        for code in sorted(principal)
    }
