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
    out.append(_div(book))

    funnel = report["funnel"]
    keys = ("applied", "approved", "signed", "paid_out")
    out.append(
        _div(
            go.Figure(go.Funnel(y=list(keys), x=[funnel[k] for k in keys])).update_layout(
                title="漏斗 / Funnel"
            )
        )
    )

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
            go.Figure(go.Bar(x=list(pnl), y=list(pnl.values()))).update_layout(
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


def render_html(report: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(json.dumps(v, ensure_ascii=False))}</td></tr>"
        for k, v in {**report["figures"], **report["timing"]}.items()
    )
    truth = html.escape(json.dumps(report["decisions_by_truth"], ensure_ascii=False))
    config = html.escape(json.dumps(report["config"], ensure_ascii=False))
    body = "\n".join(charts(report))
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{TITLE}</title>
<script>{get_plotlyjs()}</script>
<style>body{{font-family:sans-serif;max-width:1100px;margin:auto}}
table{{border-collapse:collapse}}th,td{{border:1px solid #ccc;padding:3px 8px;text-align:left}}</style>
</head><body>
<h1>{TITLE}</h1>
<p>{config}</p>
<h2>数字 / Figures</h2><table>{rows}</table>
<p>按真实结果的审批 / Decisions by hidden truth: {truth}</p>
{body}
</body></html>
"""
