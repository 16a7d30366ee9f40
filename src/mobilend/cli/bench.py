"""``mobilend bench``: measure the figures of the README's performance table.

Every figure comes with a reference measured in the same run on the same machine
(pgbench TPC-B on the same PostgreSQL, a one-row-insert endpoint, a plain Decimal loop,
``GET /health``) and the ratio of the two. ``--quick`` runs every benchmark at a small
size in a few minutes (CI runs it); the full size is run by hand.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from mobilend.cli.output import print_table

bench_app = typer.Typer(help="性能基准 / benchmark suite (figures with same-run references).")


@bench_app.callback(invoke_without_command=True)
def bench_command(
    as_json: bool = typer.Option(False, "--json", help="输出 JSON / print the JSON document"),
    quick: bool = typer.Option(
        False, "--quick", help="小规模（数分钟）/ small sizes, a few minutes (CI)"
    ),
    only: list[str] = typer.Option(
        [],
        "--only",
        help="只运行这些 / only these: schedules model decision eod console origination",
    ),
    eod_loans: list[int] = typer.Option(
        [],
        "--eod-loans",
        min=1000,
        help="日终规模 / end-of-day portfolio sizes (default 100000 1000000)",
    ),
    serve_workers: int = typer.Option(
        1,
        "--serve-workers",
        min=1,
        help="服务进程数 / `mobilend serve --workers` for origination over HTTP",
    ),
    markdown: bool = typer.Option(
        False, "--markdown", help="输出 README 表格 / print the README table (Markdown)"
    ),
    readme: Path | None = typer.Option(
        None, "--readme", help="改写该 README 的基准表 / rewrite this README's table"
    ),
) -> None:
    """运行基准 / Run the benchmarks; each figure with its same-run reference and ratio."""
    from mobilend.benchmarks import suite, table

    err = Console(stderr=True)
    sizes = suite.sizes_for(quick, tuple(eod_loans), serve_workers)
    try:
        document = suite.run(sizes, only or None, progress=lambda m: err.print(f"[dim]{m}[/dim]"))
    except ValueError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    if as_json:
        sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")
    elif markdown:
        sys.stdout.write(table.render(document))
    else:
        _print(document)
    if readme is not None:
        table.rewrite_readme(readme, document)
    if document["failures"]:
        for name, problem in document["failures"].items():
            err.print(f"[red]{name} 失败 / failed: {problem}[/red]")
        raise typer.Exit(1)


def _print(document: dict[str, object]) -> None:
    from mobilend.benchmarks.table import number

    figures: dict[str, float] = document["figures"]  # type: ignore[assignment]
    out = Table(title=f"mobilend bench ({document['size']}, {document['seconds']} s)")
    for column in ("figure", "value", "reference", "value", "ratio"):
        out.add_column(column, justify="left" if column in ("figure", "reference") else "right")
    for m in document["measures"]:  # type: ignore[attr-defined]
        out.add_row(
            m["figure"],
            f"{number(figures[m['figure']])} {m['unit']}",
            m["reference"],
            number(figures[m["reference"]]),
            number(figures[m["ratio"]]),
        )
    print_table(Console(), out)
