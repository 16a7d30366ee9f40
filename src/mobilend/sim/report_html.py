"""The simulation's report as one HTML file: the figures as a table and plotly charts,
with plotly's JavaScript inlined from the installed package (no CDN: it opens offline)."""

from __future__ import annotations

import html
import json
from typing import Any

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

TITLE = "组合模拟报告 / Portfolio simulation report"
NO_DATA = "暂无数据 / No data yet: a vintage needs at least a month on book"

PNL_LABELS = {
    "interest_income": "利息收入 interest",
    "fee_income": "费用收入 fees",
    "penalty_income": "罚息收入 penalty",
    "recovery_income": "核销后回收 recoveries",
    "write_off_expense": "核销 write-offs",
    "credit_data_cost": "数据费用 credit data",
    "net_before_funding_costs": "净额 net",
}
FUNNEL_LABELS = {
    "applied": "申请 applied",
    "approved": "批准 approved",
    "signed": "签约 signed",
    "paid_out": "放款 paid out",
}
CONFIG_LABELS = {
    "applicants": "申请人数 / applicants",
    "days": "天数 / days",
    "seed": "随机种子 / seed",
    "start": "起始日 / first day",
    "http": "经 HTTP / over HTTP",
    "dataset": "数据集 / dataset",
}
TRUTH_LABELS = {"bad_rows": "坏样本 / bad rows", "good_rows": "好样本 / good rows"}
TRUTH_COLUMNS = (
    ("applications", "申请 / applied"),
    ("approve", "批准 / approved"),
    ("decline", "拒绝 / declined"),
    ("refer", "转人工 / referred"),
    ("approval_rate", "批准率 / approval rate"),
)


def _div(figure: go.Figure) -> str:
    figure.update_layout(height=380, margin={"l": 50, "r": 20, "t": 50, "b": 40})
    return str(figure.to_html(full_html=False, include_plotlyjs=False))


def charts(report: dict[str, Any]) -> list[str]:
    out = []
    daily = report["daily"]
    days = [d["day"] for d in daily]
    book = make_subplots(specs=[[{"secondary_y": True}]])
    book.add_trace(
        go.Scatter(x=days, y=[d["outstanding"] for d in daily], name="在贷余额 outstanding (¥)")
    )
    book.add_trace(
        go.Scatter(x=days, y=[d["dpd30"] for d in daily], name="逾期30天+ loans 30+ DPD"),
        secondary_y=True,
    )
    book.update_layout(title="账簿 / The book, day by day")
    # counts and amounts never go below zero; plotly's autorange would show -1 on a flat line
    book.update_yaxes(rangemode="tozero")
    out.append(_div(book))

    funnel = report["funnel"]
    keys = ("applied", "approved", "signed", "paid_out")
    out.append(
        _div(
            go.Figure(
                go.Funnel(y=[FUNNEL_LABELS[k] for k in keys], x=[funnel[k] for k in keys])
            ).update_layout(title="漏斗 / Funnel")
        )
    )

    if not any(report["vintages"].values()):
        out.append(f"<h3>账龄曲线 / Vintage curves</h3><p>{NO_DATA}</p>")
    vintages = go.Figure()
    for month, curve in report["vintages"].items():
        if curve:
            vintages.add_trace(
                go.Scatter(
                    x=list(range(1, len(curve) + 1)), y=curve, name=month, mode="lines+markers"
                )
            )
    vintages.update_layout(
        title="账龄曲线 / Vintage curves: share ever 30+ DPD by month on book",
        xaxis_title="months on book", yaxis_tickformat=".0%",
    )  # fmt: skip
    if vintages.data:
        out.append(_div(vintages))

    bands = report["bad_rate_by_band"]
    out.append(
        _div(
            go.Figure(
                go.Bar(x=list(bands), y=[b["default_rate"] for b in bands.values()])
            ).update_layout(
                title="分档违约率 / Default rate by price band (A = best score)",
                yaxis_tickformat=".0%",
            )
        )
    )

    rolls = report["roll_rates"]
    if rolls:
        ends = list(next(iter(rolls.values())))
        out.append(
            _div(
                go.Figure(
                    go.Heatmap(
                        z=[[row[e] or 0 for e in ends] for row in rolls.values()],
                        x=ends,
                        y=list(rolls),
                        colorscale="Blues",
                        texttemplate="%{z:.0%}",
                    )
                ).update_layout(title="迁徙率 / Roll rates (30-day steps): from row to column")
            )
        )

    recovery = report["recovery_by_bucket"]
    if recovery:
        out.append(
            _div(
                go.Figure(
                    [
                        go.Bar(
                            x=[r["bucket"] for r in recovery],
                            y=[r["owed_at_open"] for r in recovery],
                            name="owed at opening (¥)",
                        ),
                        go.Bar(
                            x=[r["bucket"] for r in recovery],
                            y=[r["collected"] for r in recovery],
                            name="collected (¥)",
                        ),
                    ]
                ).update_layout(
                    title="分桶回收 / Recovery by bucket at case opening", barmode="group"
                )
            )
        )

    pnl = report["profit_and_loss"]
    out.append(
        _div(
            go.Figure(
                go.Bar(x=[PNL_LABELS.get(k, k) for k in pnl], y=list(pnl.values()))
            ).update_layout(
                title="损益 / Profit and loss (¥, before cost of funds and partners' shares)"
            )
        )
    )
    mix = report["funder_mix"]
    out.append(
        _div(
            go.Figure(
                go.Pie(labels=list(mix), values=[m["principal"] for m in mix.values()])
            ).update_layout(title="资金方构成 / Funder mix (principal)")
        )
    )
    return out


def _value(value: Any) -> str:
    """A figure as text: nested counts as one line each, an empty list as "none"."""
    if isinstance(value, dict):
        return "<br>".join(
            f"{html.escape(str(k))}: {html.escape(str(v))}" for k, v in value.items()
        )
    if isinstance(value, list) and not value:
        return "无 / none"
    return html.escape(json.dumps(value, ensure_ascii=False))


def render_html(report: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{_value(v)}</td></tr>"
        for k, v in {**report["figures"], **report["timing"]}.items()
    )
    config = "".join(
        f"<tr><th>{html.escape(CONFIG_LABELS.get(k, k))}</th><td>{_value(v)}</td></tr>"
        for k, v in report["config"].items()
    )
    head = "".join(f"<th>{label}</th>" for _, label in TRUTH_COLUMNS)
    truth = "".join(
        f"<tr><th>{html.escape(TRUTH_LABELS.get(row, row))}</th>"
        + "".join(f"<td>{_value(counts.get(key))}</td>" for key, _ in TRUTH_COLUMNS)
        + "</tr>"
        for row, counts in report["decisions_by_truth"].items()
    )
    body = "\n".join(charts(report))
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{TITLE}</title>
<script>{get_plotlyjs()}</script>
<style>body{{font-family:sans-serif;max-width:1100px;margin:auto}}
table{{border-collapse:collapse}}th,td{{border:1px solid #ccc;padding:3px 8px;text-align:left}}</style>
</head><body>
<h1>{TITLE}</h1>
<h2>运行参数 / Run</h2><table>{config}</table>
<h2>数字 / Figures</h2>
<p>名称与 <code>--json</code> 输出一致 / names as in the <code>--json</code> output</p>
<table>{rows}</table>
<h2>按真实结果的审批 / Decisions by hidden truth</h2>
<table><tr><th></th>{head}</tr>{truth}</table>
{body}
</body></html>
"""
