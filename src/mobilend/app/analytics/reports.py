"""Portfolio analytics as tables: every chart of the console reads one of these reports
(through a JSON endpoint of the staff API), and every table exports as CSV.

A report is read from the summaries the analytics refresh rebuilds after end of day, so
it answers in milliseconds whatever the size of the book; ``as_of`` says which business
date it describes. Rates are Decimals with four places; money is in yuan (two places).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from mobilend.app.analytics.ports import (
    AnalyticsQueries,
    BookCell,
    RefreshState,
    ScoreBaseline,
)
from mobilend.app.operations.ports import StaffActor
from mobilend.domain.delinquency import DEFAULT_BUCKETS
from mobilend.domain.errors import Problem, ValidationFailed
from mobilend.domain.money import Money
from mobilend.domain.portfolio import (
    AUC_ALERT,
    DEFAULT_LGD,
    SCENARIOS,
    Exposure,
    StressLine,
    StressResult,
    auc_ks,
    psi,
    stability,
    stress_test,
)
from mobilend.domain.staff import Permission, require

Cell = str | int | Decimal | None
BUCKETS = tuple(b.code for b in DEFAULT_BUCKETS.buckets)
ROLL_STATES = (*BUCKETS, "closed", "written_off")
#: Accounts whose balances make the profit and loss (debit positive in the ledger).
INCOME_ACCOUNTS = ("interest_income", "fee_income", "penalty_income", "recovery_income")
LOSS_ACCOUNT = "write_off_expense"


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]


@dataclass(frozen=True, slots=True)
class Report:
    key: str
    as_of: dt.date | None
    tables: tuple[Table, ...]
    alerts: tuple[str, ...] = ()

    def table(self, name: str) -> Table:
        for table in self.tables:
            if table.name == name:
                return table
        raise KeyError(name)


def rate(numerator: int | Decimal, denominator: int | Decimal) -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(Decimal("0.0001"), ROUND_HALF_UP)


def yuan(money: Money) -> Decimal:
    return money.round().amount


def _months_back(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 - months
    return dt.date(index // 12, index % 12 + 1, 1)


class Analytics:
    """Reports for staff holding the permission each one names."""

    def __init__(
        self,
        queries: AnalyticsQueries,
        today: Callable[[], dt.date],
        baseline: Callable[[], ScoreBaseline | None] = lambda: None,
    ) -> None:
        self.queries = queries
        self._today = today
        self._baseline = baseline

    def _as_of(self) -> dt.date | None:
        state = self.queries.state()
        return state.as_of if state else None

    def state(self) -> RefreshState | None:
        return self.queries.state()

    def _window(self, first: dt.date | None, last: dt.date | None) -> tuple[dt.date, dt.date]:
        end = last or self._as_of() or self._today()
        start = first or end - dt.timedelta(days=89)
        if start > end or (end - start).days > 3660:
            raise ValidationFailed([Problem("first", "日期范围无效 (invalid date range)")])
        return start, end

    # -- origination ----------------------------------------------------------------
    def funnel(
        self, staff: StaffActor, first: dt.date | None = None, last: dt.date | None = None
    ) -> Report:
        require(staff.roles, Permission.VIEW_ANALYTICS)
        start, end = self._window(first, last)
        days = self.queries.funnel(start, end)
        stages = {
            "registered": "registered",
            "kyc_passed": "kyc_passed",
            "applications": "applied",
            "approved": "approved",
            "contracts_signed": "contracts_signed",
            "loans_disbursed": "loans_disbursed",
        }
        totals = {s: sum(int(getattr(d, field)) for d in days) for s, field in stages.items()}
        previous = None
        stage_rows = []
        for stage in stages:
            stage_rows.append((stage, totals[stage], rate(totals[stage], previous or 0)))
            previous = totals[stage]
        daily = tuple(
            (
                d.day.isoformat(),
                d.registered,
                d.kyc_passed,
                d.applied,
                d.approved,
                d.contracts_signed,
                d.loans_disbursed,
                yuan(d.disbursed),
            )
            for d in days
        )
        return Report(
            "funnel",
            self._as_of(),
            (
                Table("stages", ("stage", "count", "conversion"), tuple(stage_rows)),
                Table(
                    "daily",
                    (
                        "day",
                        "registered",
                        "kyc_passed",
                        "applications",
                        "approved",
                        "contracts_signed",
                        "loans_disbursed",
                        "disbursed_yuan",
                    ),
                    daily,
                ),
            ),
        )

    def approvals(
        self, staff: StaffActor, first: dt.date | None = None, last: dt.date | None = None
    ) -> Report:
        require(staff.roles, Permission.VIEW_ANALYTICS)
        start, end = self._window(first, last)
        rows = []
        for d in self.queries.funnel(start, end):
            decided = d.approved + d.declined + d.referred
            average = (
                (Decimal(d.score_sum) / d.scored).quantize(Decimal("0.1")) if d.scored else None
            )
            rows.append((d.day.isoformat(), d.applied, d.approved, d.declined, d.referred,
                         rate(d.approved, decided), average))  # fmt: skip
        return Report(
            "approvals",
            self._as_of(),
            (
                Table(
                    "daily",
                    (
                        "day",
                        "applications",
                        "approved",
                        "declined",
                        "referred",
                        "approval_rate",
                        "average_score",
                    ),
                    tuple(rows),
                ),
            ),
        )

    # -- performance ------------------------------------------------------------------
    def vintage(self, staff: StaffActor) -> Report:
        require(staff.roles, Permission.VIEW_ANALYTICS)
        rows = tuple(
            (
                c.cohort.strftime("%Y-%m"),
                c.mob,
                c.loans,
                c.bad_loans,
                rate(c.bad_loans, c.loans),
                yuan(c.principal),
                rate(c.bad_principal.amount, c.principal.amount),
            )
            for c in sorted(self.queries.vintage(), key=lambda c: (c.cohort, c.mob))
        )
        return Report(
            "vintage",
            self._as_of(),
            (
                Table(
                    "curves",
                    (
                        "cohort",
                        "mob",
                        "loans",
                        "bad_loans",
                        "bad_rate",
                        "principal_yuan",
                        "bad_principal_rate",
                    ),
                    rows,
                ),
            ),
        )

    def roll_rates(self, staff: StaffActor, period_end: dt.date | None = None) -> Report:
        require(staff.roles, Permission.VIEW_ANALYTICS)
        cells = self.queries.roll_rates()
        periods = sorted({c.period_end for c in cells})
        chosen = period_end or (periods[-1] if periods else None)
        counts: dict[tuple[str, str], int] = defaultdict(int)
        for c in cells:
            if c.period_end == chosen:
                counts[(c.from_state, c.to_state)] += c.loans
        row_totals: dict[str, int] = defaultdict(int)
        for (origin, _), n in counts.items():
            row_totals[origin] += n
        matrix = tuple(
            (
                origin,
                target,
                counts.get((origin, target), 0),
                rate(counts.get((origin, target), 0), row_totals[origin]),
            )
            for origin in BUCKETS
            if row_totals.get(origin)
            for target in ROLL_STATES
        )
        return Report(
            "roll_rates",
            self._as_of(),
            (
                Table("matrix", ("from_state", "to_state", "loans", "share"), matrix),
                Table("periods", ("period_end",), tuple((p.isoformat(),) for p in periods)),
            ),
        )

    def dpd_distribution(self, staff: StaffActor) -> Report:
        require(staff.roles, Permission.VIEW_ANALYTICS)
        loans: dict[str, int] = defaultdict(int)
        balance: dict[str, Money] = defaultdict(Money.zero)
        for cell in self.queries.book():
            loans[cell.bucket] += cell.loans
            balance[cell.bucket] = balance[cell.bucket] + cell.outstanding
        total = sum((m for m in balance.values()), Money.zero())
        rows = tuple(
            (
                b,
                loans.get(b, 0),
                yuan(balance.get(b, Money.zero())),
                rate(balance.get(b, Money.zero()).amount, total.amount),
            )
            for b in BUCKETS
        )
        return Report(
            "dpd",
            self._as_of(),
            (Table("buckets", ("bucket", "loans", "outstanding_yuan", "share"), rows),),
        )

    def recovery(self, staff: StaffActor) -> Report:
        require(staff.roles, Permission.VIEW_ANALYTICS)
        rows = tuple(
            (
                r.period_end.isoformat(),
                r.bucket,
                r.loans,
                r.cured,
                rate(r.cured, r.loans),
                yuan(r.collected),
            )
            for r in sorted(self.queries.recovery(), key=lambda r: (r.period_end, r.bucket))
        )
        return Report(
            "recovery",
            self._as_of(),
            (
                Table(
                    "buckets",
                    ("period_end", "bucket", "loans", "cured", "cure_rate", "collected_yuan"),
                    rows,
                ),
            ),
        )

    def monitoring(self, staff: StaffActor) -> Report:
        """Score stability (PSI by month against the training sample) and discrimination
        (AUC, KS) on matured loans, with the alert thresholds."""
        require(staff.roles, Permission.VIEW_ANALYTICS)
        baseline = self._baseline()
        by_month: dict[dt.date, dict[int, int]] = defaultdict(dict)
        for row in self.queries.score_months():
            by_month[row.month][row.score] = row.applications
        alerts = []
        psi_rows = []
        for month in sorted(by_month):
            counts = by_month[month]
            value = psi(baseline.edges, baseline.expected, counts) if baseline else None
            status = stability(value)
            applications = sum(counts.values())
            average = (Decimal(sum(s * n for s, n in counts.items())) / applications).quantize(
                Decimal("0.1")
            )
            psi_rows.append((month.strftime("%Y-%m"), applications, average, value,
                             status.value if status else None))  # fmt: skip
            if status is not None and status.value == "alert":
                alerts.append(f"psi:{month.strftime('%Y-%m')}")
        perf = auc_ks((p.score, p.good, p.bad) for p in self.queries.score_performance())
        if perf.auc is not None and perf.auc < Decimal(str(AUC_ALERT)):
            alerts.append("auc")
        return Report(
            "monitoring",
            self._as_of(),
            (
                Table(
                    "psi",
                    ("month", "applications", "average_score", "psi", "status"),
                    tuple(psi_rows),
                ),
                Table(
                    "discrimination",
                    ("model", "matured_goods", "matured_bads", "auc", "ks", "auc_alert_below"),
                    (
                        (
                            baseline.model_version if baseline else None,
                            perf.goods,
                            perf.bads,
                            perf.auc,
                            perf.ks,
                            Decimal(str(AUC_ALERT)),
                        ),
                    ),
                ),
            ),
            tuple(alerts),
        )

    # -- funding and finance ---------------------------------------------------------
    def funders(self, staff: StaffActor) -> Report:
        require(staff.roles, Permission.VIEW_FUNDERS)
        today = self._today()
        uses = self.queries.funder_use(today)
        book = sum((u.outstanding for u in uses), Money.zero())
        rows = tuple(
            (
                u.code,
                u.name,
                u.kind,
                u.whitelist_status,
                yuan(u.outstanding),
                rate(u.outstanding.amount, book.amount),
                yuan(u.max_balance) if u.max_balance else None,
                rate(u.outstanding.amount, u.max_balance.amount) if u.max_balance else None,
                yuan(u.routed_total),
                yuan(u.total_quota) if u.total_quota else None,
                rate(u.routed_total.amount, u.total_quota.amount) if u.total_quota else None,
                yuan(u.routed_today),
                yuan(u.daily_quota) if u.daily_quota else None,
                rate(u.routed_today.amount, u.daily_quota.amount) if u.daily_quota else None,
                u.cost_of_funds,
            )
            for u in uses
        )
        return Report(
            "funders",
            self._as_of(),
            (
                Table(
                    "utilisation",
                    (
                        "funder",
                        "name",
                        "kind",
                        "whitelist",
                        "outstanding_yuan",
                        "book_share",
                        "max_balance_yuan",
                        "concentration",
                        "routed_total_yuan",
                        "total_quota_yuan",
                        "quota_use",
                        "routed_today_yuan",
                        "daily_quota_yuan",
                        "daily_use",
                        "cost_of_funds",
                    ),
                    rows,
                ),
            ),
        )

    def profit_and_loss(
        self, staff: StaffActor, first: dt.date | None = None, last: dt.date | None = None
    ) -> Report:
        """Monthly: interest, fee, penalty and recovery income; cost of funds; credit
        losses (write-offs); data costs (bureau and other paid sources); net."""
        require(staff.roles, Permission.VIEW_FINANCE)
        end = last or self._as_of() or self._today()
        start = first or _months_back(end, 11)
        start, end = self._window(start, end)
        months: dict[dt.date, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
        for row in self.queries.ledger(start, end):
            month = row.business_date.replace(day=1)
            months[month][row.account] += -row.amount.amount  # credits are income
        for cost in self.queries.funder_costs(start, end):
            months[cost.day.replace(day=1)]["cost_of_funds"] += cost.cost_minor / 100
        for day in self.queries.funnel(start, end):
            months[day.day.replace(day=1)]["data_costs"] += day.data_cost.amount
        cent = Decimal("0.01")
        rows: list[tuple[Cell, ...]] = []
        for month in sorted(months):
            m = months[month]
            income = [m[a].quantize(cent, ROUND_HALF_UP) for a in INCOME_ACCOUNTS]
            funding = m["cost_of_funds"].quantize(cent, ROUND_HALF_UP)
            losses = (-m[LOSS_ACCOUNT]).quantize(cent, ROUND_HALF_UP)  # an expense: debit
            data = m["data_costs"].quantize(cent, ROUND_HALF_UP)
            net = sum(income, Decimal(0)) - funding - losses - data
            rows.append((month.strftime("%Y-%m"), *income, funding, losses, data, net))
        return Report(
            "pnl",
            self._as_of(),
            (
                Table(
                    "monthly",
                    (
                        "month",
                        "interest_income",
                        "fee_income",
                        "penalty_income",
                        "recovery_income",
                        "cost_of_funds",
                        "credit_losses",
                        "data_costs",
                        "net",
                    ),
                    tuple(rows),
                ),
            ),
        )

    # -- stress ----------------------------------------------------------------------
    def exposures(self) -> list[Exposure]:
        return [_exposure(c) for c in self.queries.book()]

    def stress(
        self,
        staff: StaffActor,
        *,
        pd_multiplier: Decimal,
        scenario: str,
        lgd: Decimal | None = None,
    ) -> StressResult:
        require(staff.roles, Permission.RUN_STRESS_TEST)
        chosen = SCENARIOS.get(scenario)
        if chosen is None:
            raise ValidationFailed([Problem("scenario", f"one of {', '.join(SCENARIOS)}")])
        return stress_test(
            self.exposures(),
            scenario=chosen,
            pd_multiplier=pd_multiplier,
            lgd=DEFAULT_LGD if lgd is None else lgd,
        )

    def stress_report(self, staff: StaffActor, result: StressResult) -> Report:
        def table(name: str, lines: Iterable[StressLine]) -> Table:
            rows = tuple(
                (
                    line.key,
                    line.loans,
                    yuan(line.ead),
                    yuan(line.expected_loss),
                    line.loss_rate,
                    yuan(line.capital),
                )
                for line in lines
            )
            columns = (
                "key",
                "loans",
                "ead_yuan",
                "expected_loss_yuan",
                "loss_rate",
                "capital_yuan",
            )
            return Table(name, columns, rows)

        return Report(
            "stress",
            self._as_of(),
            (
                table("by_product", result.by_product),
                table("by_funder", result.by_funder),
                table("total", (result.total,)),
            ),
        )


def _exposure(cell: BookCell) -> Exposure:
    return Exposure(
        cell.product_code,
        cell.funder_code,
        cell.bucket,
        cell.loans,
        cell.outstanding + cell.receivable,
    )
