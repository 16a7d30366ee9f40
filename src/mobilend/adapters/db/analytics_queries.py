"""Reading the portfolio summaries (``AnalyticsQueries``): small tables, read whole or by
date range through their primary keys; funder use reads the funder registry's own
counters. Nothing here scans loans."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from mobilend.adapters.db import analytics_tables as a
from mobilend.adapters.db import funding_tables as f
from mobilend.app.analytics.ports import (
    BookCell,
    FunderCostDay,
    FunderUse,
    FunnelDay,
    LedgerDay,
    RecoveryRow,
    RefreshState,
    RollCell,
    ScoreCount,
    ScorePerformance,
    VintageCell,
)
from mobilend.domain.money import Money


def _fen(value: Any, currency: str = "CNY") -> Money:
    return Money.from_minor(int(value or 0), currency)


class SqlAnalyticsQueries:
    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    def _rows(self, query: sa.Executable) -> list[Any]:
        with self._engine.connect() as conn:
            return list(conn.execute(query))

    def state(self) -> RefreshState | None:
        s = a.analytics_state
        rows = self._rows(sa.select(s).where(s.c.name == "portfolio"))
        if not rows:
            return None
        return RefreshState(rows[0].as_of, rows[0].refreshed_at, Decimal(rows[0].seconds))

    def funnel(self, first: dt.date, last: dt.date) -> list[FunnelDay]:
        t = a.analytics_funnel_daily
        query = sa.select(t).where(t.c.day.between(first, last)).order_by(t.c.day)
        return [
            FunnelDay(
                r.day,
                r.registered,
                r.kyc_passed,
                r.applied,
                r.approved,
                r.declined,
                r.referred,
                r.contracts_signed,
                r.loans_disbursed,
                _fen(r.disbursed_minor),
                r.score_sum,
                r.scored,
                _fen(r.data_cost_minor),
            )
            for r in self._rows(query)
        ]

    def vintage(self) -> list[VintageCell]:
        t = a.analytics_vintage
        return [
            VintageCell(
                r.cohort,
                r.mob,
                r.loans,
                _fen(r.principal_minor),
                r.bad_loans,
                _fen(r.bad_principal_minor),
            )
            for r in self._rows(sa.select(t).order_by(t.c.cohort, t.c.mob))
        ]

    def roll_rates(self) -> list[RollCell]:
        t = a.analytics_roll_rates
        return [
            RollCell(r.period_end, r.from_state, r.to_state, r.loans)
            for r in self._rows(sa.select(t).order_by(t.c.period_end))
        ]

    def recovery(self) -> list[RecoveryRow]:
        t = a.analytics_recovery
        return [
            RecoveryRow(r.period_end, r.bucket, r.loans, r.cured, _fen(r.collected_minor))
            for r in self._rows(sa.select(t).order_by(t.c.period_end, t.c.bucket))
        ]

    def book(self) -> list[BookCell]:
        t = a.analytics_book_cells
        return [
            BookCell(
                r.product_code,
                r.funder_code,
                r.bucket,
                r.loans,
                _fen(r.outstanding_minor),
                _fen(r.receivable_minor),
            )
            for r in self._rows(sa.select(t))
        ]

    def score_months(self) -> list[ScoreCount]:
        t = a.analytics_score_monthly
        return [ScoreCount(r.month, r.score, r.applications) for r in self._rows(sa.select(t))]

    def score_performance(self) -> list[ScorePerformance]:
        t = a.analytics_score_performance
        return [ScorePerformance(r.score, r.good, r.bad) for r in self._rows(sa.select(t))]

    def ledger(self, first: dt.date, last: dt.date) -> list[LedgerDay]:
        t = a.analytics_ledger_daily
        query = sa.select(t).where(t.c.business_date.between(first, last))
        return [
            LedgerDay(r.business_date, r.account, _fen(r.amount_minor, r.currency))
            for r in self._rows(query)
        ]

    def funder_costs(self, first: dt.date, last: dt.date) -> list[FunderCostDay]:
        t = a.analytics_funder_daily
        query = sa.select(t).where(t.c.day.between(first, last))
        return [
            FunderCostDay(r.day, r.funder_code, _fen(r.outstanding_minor), Decimal(r.cost_minor))
            for r in self._rows(query)
        ]

    def funder_use(self, today: dt.date) -> list[FunderUse]:
        fu, pos, daily = f.funders, f.funder_positions, f.funder_daily_usage
        query = (
            sa.select(
                fu,
                pos.c.outstanding,
                pos.c.routed_total,
                sa.func.coalesce(daily.c.routed, 0).label("routed_today"),
            )
            .select_from(fu)
            .outerjoin(pos, pos.c.funder_code == fu.c.code)
            .outerjoin(
                daily, sa.and_(daily.c.funder_code == fu.c.code, daily.c.business_date == today)
            )
            .order_by(fu.c.priority, fu.c.code)
        )
        out = []
        for r in self._rows(query):
            ccy = r.currency

            def limit(value: Any, ccy: str = ccy) -> Money | None:
                return None if value is None else _fen(value, ccy)

            out.append(
                FunderUse(
                    code=r.code,
                    name=r.name,
                    kind=r.kind,
                    whitelist_status=r.whitelist_status,
                    cost_of_funds=Decimal(r.cost_of_funds),
                    outstanding=_fen(r.outstanding, ccy),
                    routed_total=_fen(r.routed_total, ccy),
                    routed_today=_fen(r.routed_today, ccy),
                    daily_quota=limit(r.daily_quota),
                    total_quota=limit(r.total_quota),
                    max_balance=limit(r.max_balance),
                )
            )
        return out
