"""Portfolio analytics for staff under ``/ops/analytics``: each chart of the console
reads one of these (JSON), and ``?format=csv&table=…`` exports any of their tables.

The figures come from summaries rebuilt after end of day (``as_of`` names the business
date), so each answers in milliseconds whatever the size of the book."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from mobilend.api.errors import error_responses
from mobilend.api.ops_console_deps import (
    AnalyticsReader,
    ConsoleDeskDep,
    FinanceReader,
    FunderReader,
    StressRunner,
)
from mobilend.api.ops_console_schemas import ReportOut
from mobilend.api.params import IsoDate
from mobilend.app.analytics.reports import Report
from mobilend.domain.errors import NotFound

router = APIRouter(
    prefix="/ops/analytics", tags=["portfolio analytics"], responses=error_responses(403)
)

Format = Annotated[Literal["json", "csv"], Query(description="json (default) or csv")]
TableName = Annotated[str | None, Query(max_length=40, description="The table to export as CSV")]
First = Annotated[IsoDate | None, Query(description="First day (default: 90 days back)")]
Last = Annotated[IsoDate | None, Query(description="Last day (default: the refresh's as-of)")]
CSV_DOC = {200: {"content": {"text/csv": {}}, "description": "The report, or one table as CSV"}}


def answer(report: Report, format: str, table: str | None) -> ReportOut | Response:
    if format != "csv":
        return ReportOut.of(report)
    try:
        chosen = report.table(table) if table else report.tables[0]
    except KeyError:
        raise NotFound(f"report {report.key} has no table {table}") from None
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(chosen.columns)
    for row in chosen.rows:
        writer.writerow(["" if v is None else str(v) if isinstance(v, Decimal) else v for v in row])
    name = f"{report.key}-{chosen.name}-{report.as_of or 'none'}.csv"
    return Response(
        "\ufeff" + out.getvalue(),  # a byte-order mark, so spreadsheet tools read UTF-8
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get(
    "/funnel", response_model=ReportOut, responses=CSV_DOC, summary="Application funnel 申请漏斗"
)
def funnel(desk: ConsoleDeskDep, staff: AnalyticsReader, first: First = None, last: Last = None,
           format: Format = "json", table: TableName = None) -> ReportOut | Response:  # fmt: skip
    return answer(desk.analytics.funnel(staff, first, last), format, table)


@router.get("/approvals", response_model=ReportOut, responses=CSV_DOC,
            summary="Approval rate and average score over time 通过率与平均分")  # fmt: skip
def approvals(desk: ConsoleDeskDep, staff: AnalyticsReader, first: First = None, last: Last = None,
              format: Format = "json", table: TableName = None) -> ReportOut | Response:  # fmt: skip
    return answer(desk.analytics.approvals(staff, first, last), format, table)


@router.get("/vintage", response_model=ReportOut, responses=CSV_DOC,
            summary="Vintage curves: 30+ DPD by month on book per monthly cohort 账龄曲线")  # fmt: skip
def vintage(desk: ConsoleDeskDep, staff: AnalyticsReader, format: Format = "json",
            table: TableName = None) -> ReportOut | Response:  # fmt: skip
    return answer(desk.analytics.vintage(staff), format, table)


@router.get(
    "/roll_rates", response_model=ReportOut, responses=CSV_DOC, summary="Roll-rate matrix 迁徙率"
)
def roll_rates(desk: ConsoleDeskDep, staff: AnalyticsReader, period_end: IsoDate | None = None,
               format: Format = "json", table: TableName = None) -> ReportOut | Response:  # fmt: skip
    return answer(desk.analytics.roll_rates(staff, period_end), format, table)


@router.get(
    "/dpd", response_model=ReportOut, responses=CSV_DOC, summary="DPD distribution 逾期分布"
)
def dpd(desk: ConsoleDeskDep, staff: AnalyticsReader, format: Format = "json",
        table: TableName = None) -> ReportOut | Response:  # fmt: skip
    return answer(desk.analytics.dpd_distribution(staff), format, table)


@router.get(
    "/recovery",
    response_model=ReportOut,
    responses=CSV_DOC,
    summary="Recovery by bucket 分阶段回收",
)
def recovery(desk: ConsoleDeskDep, staff: AnalyticsReader, format: Format = "json",
             table: TableName = None) -> ReportOut | Response:  # fmt: skip
    return answer(desk.analytics.recovery(staff), format, table)


@router.get("/monitoring", response_model=ReportOut, responses=CSV_DOC,
            summary="Score PSI against training; AUC and KS on matured loans 模型监控")  # fmt: skip
def monitoring(desk: ConsoleDeskDep, staff: AnalyticsReader, format: Format = "json",
               table: TableName = None) -> ReportOut | Response:  # fmt: skip
    return answer(desk.analytics.monitoring(staff), format, table)


@router.get(
    "/funders", response_model=ReportOut, responses=CSV_DOC, summary="Funder utilisation 资金方使用"
)
def funders(desk: ConsoleDeskDep, staff: FunderReader, format: Format = "json",
            table: TableName = None) -> ReportOut | Response:  # fmt: skip
    return answer(desk.analytics.funders(staff), format, table)


@router.get(
    "/pnl", response_model=ReportOut, responses=CSV_DOC, summary="Profit and loss by month 损益"
)
def pnl(desk: ConsoleDeskDep, staff: FinanceReader, first: First = None, last: Last = None,
        format: Format = "json", table: TableName = None) -> ReportOut | Response:  # fmt: skip
    return answer(desk.analytics.profit_and_loss(staff, first, last), format, table)


@router.get("/stress", response_model=ReportOut, responses=CSV_DOC,
            summary="Stress test: expected loss and capital by product and funder 压力测试")  # fmt: skip
def stress(
    desk: ConsoleDeskDep,
    staff: StressRunner,
    pd_multiplier: Annotated[Decimal, Query(gt=0, le=20)] = Decimal(1),
    scenario: Literal["baseline", "adverse", "severe"] = "baseline",
    lgd: Annotated[Decimal | None, Query(ge=0, le=1)] = None,
    format: Format = "json",
    table: TableName = None,
) -> ReportOut | Response:
    result = desk.analytics.stress(staff, pd_multiplier=pd_multiplier, scenario=scenario, lgd=lgd)
    return answer(desk.analytics.stress_report(staff, result), format, table)
