"""The README's performance table is generated from ``mobilend bench --json`` output."""

from __future__ import annotations

from pathlib import Path

import pytest

from mobilend.benchmarks.measure import Results, percentile
from mobilend.benchmarks.suite import significant
from mobilend.benchmarks.table import BEGIN, END, number, render, rewrite_readme


def document() -> dict:
    results = Results()
    results.reference("pgbench_tpcb_tps", 2000.0)
    results.figure(
        "origination.loans_per_s", 50.0, label="loans paid out per second", unit="/s",
        reference="pgbench_tpcb_tps", reference_label="pgbench TPC-B", per="loans per tx",
    )  # fmt: skip
    results.reference("decimal_loop_ms", 0.0125)
    results.figure(
        "decision.p99_ms", 17.64, label="decision p99", unit="ms",
        reference="decimal_loop_ms", reference_label="Decimal loop", per="loops per decision",
    )  # fmt: skip
    return {
        "size": "full",
        "started_at": "2026-12-04T20:00:00+00:00",
        "seconds": 600.0,
        "machine": {
            "cpus": 2,
            "postgresql": "18.6",
            "load_average_before": [3.0, 2.0, 1.0],
            "load_average_after": [5.5, 3.0, 2.0],
        },
        "figures": results.values,
        "measures": [{**m.__dict__, "ratio": f"ratios.{m.figure}"} for m in results.measures],
        "failures": {},
    }


def test_a_ratio_is_the_figure_over_its_same_run_reference() -> None:
    figures = document()["figures"]
    assert figures["ratios.origination.loans_per_s"] == pytest.approx(0.025)
    assert figures["ratios.decision.p99_ms"] == pytest.approx(1411.2)


def test_each_figure_is_one_row_with_reference_and_ratio() -> None:
    table = render(document())
    rows = [line for line in table.splitlines() if line.startswith("| ") and "`" in line]
    assert rows == [
        "| loans paid out per second (`origination.loans_per_s`) | 50.0/s "
        "| pgbench TPC-B: 2,000 | 0.025 (loans per tx) |",
        "| decision p99 (`decision.p99_ms`) | 17.6 ms | Decimal loop: 0.0125 "
        "| 1,411 (loops per decision) |",
    ]
    assert "PostgreSQL 18.6, load average 3.0 before and 5.5 after (10 min)" in table


def test_only_the_text_between_the_markers_is_replaced(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n## Performance\nintro\n{BEGIN}\nold table\n{END}\nprose below\n")
    rewrite_readme(readme, document())
    text = readme.read_text()
    assert text.startswith(f"# x\n\n## Performance\nintro\n{BEGIN}\n`mobilend bench`, 2026-12-04")
    assert text.endswith(f"{END}\nprose below\n")
    assert "old table" not in text
    rewrite_readme(readme, document())  # again: idempotent
    assert readme.read_text() == text


def test_a_readme_without_markers_is_left_alone(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("## Performance\nno markers\n")
    with pytest.raises(ValueError, match="markers"):
        rewrite_readme(readme, document())
    assert readme.read_text() == "## Performance\nno markers\n"


def test_numbers_read_plainly() -> None:
    assert [number(x) for x in (4408.2, 17.64, 2.345, 0.0694)] == [
        "4,408",
        "17.6",
        "2.35",
        "0.0694",
    ]
    assert significant(123456.789) == 123457.0
    assert significant(0.000123456789) == 0.000123457
    assert percentile([5.0, 1.0, 3.0, 2.0, 4.0], 50) == 3.0
    assert percentile([float(x) for x in range(1, 101)], 99) == 99.0


def test_a_failing_benchmark_is_reported_and_the_others_still_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mobilend.benchmarks import suite

    def fine(results: Results, sizes: object, shared: object) -> None:
        results.reference("decimal_loop_per_s", 100.0)
        results.figure(
            "schedules.per_s", 5.0, label="schedules", unit="/s",
            reference="decimal_loop_per_s", reference_label="loop", per="per loop",
        )  # fmt: skip

    def broken(results: Results, sizes: object, shared: object) -> None:
        raise RuntimeError("the service did not start")

    monkeypatch.setattr(suite, "BENCHMARKS", {"broken": broken, "fine": fine})
    monkeypatch.setattr(suite, "postgres_version", lambda: "18.6")
    document = suite.run(suite.QUICK)
    assert document["failures"] == {"broken": "RuntimeError: the service did not start"}
    assert document["figures"]["ratios.schedules.per_s"] == 0.05
    assert "Not measured in this run: broken." in render(document)
    with pytest.raises(ValueError, match="unknown benchmark"):
        suite.run(suite.QUICK, ["fine", "nope"])
