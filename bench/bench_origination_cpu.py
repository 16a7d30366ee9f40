"""Where the machine's CPU goes while N clients originate loans over HTTP, per loan.

The same journeys as ``mobilend bench --only origination`` (``benchmarks/origination.py``:
``mobilend serve`` on a fresh database, the SMS and payment sandboxes in their own
processes at zero latency), measured differently: the CPU the service process, this
process (the load-generating clients) and the rest of the machine (PostgreSQL, the
sandboxes) spent per loan paid out, from ``/proc``; and PostgreSQL's own count of
transactions and rows written per loan (``pg_stat_database``). CPU per loan moves far
less with the machine's other load than wall time does, and the counts not at all.

    .venv/bin/python bench/bench_origination_cpu.py               # 200 loans, 16 clients
    .venv/bin/python bench/bench_origination_cpu.py -n 100 -c 4 --serve-workers 2

Set ``MOBILEND_SERVE_THREADS`` to compare worker-thread counts (docs/performance.md).
Asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from mobilend.adapters.db.engine import normalise_url
from mobilend.benchmarks import processes
from mobilend.benchmarks.measure import percentile
from mobilend.benchmarks.origination import Identities, run_journeys

TICK = os.sysconf("SC_CLK_TCK")


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of one process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def machine_busy_s() -> tuple[float, float]:
    """(busy, idle) CPU seconds of the whole machine so far."""
    ticks = [int(t) for t in Path("/proc/stat").read_text().splitlines()[0].split()[1:8]]
    idle = ticks[3] + ticks[4]  # idle + iowait
    return (sum(ticks) - idle) / TICK, idle / TICK


def self_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def database_counts(engine: sa.Engine) -> tuple[int, int, int, int]:
    """Commits, rollbacks, rows inserted and rows updated in the benchmark database."""
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT pg_stat_clear_snapshot()"))
        row = conn.execute(
            sa.text(
                "SELECT xact_commit, xact_rollback, tup_inserted, tup_updated "
                "FROM pg_stat_database WHERE datname = current_database()"
            )
        ).one()
    return int(row[0]), int(row[1]), int(row[2]), int(row[3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--loans", type=int, default=200)
    parser.add_argument("-c", "--clients", type=int, default=16)
    parser.add_argument("--serve-workers", type=int, default=1)
    args = parser.parse_args()
    children = processes.Children()
    with processes.fresh_database("origination") as url:
        engine = sa.create_engine(normalise_url(url), pool_size=1)
        try:
            gateways = processes.start_gateways(children)
            env = processes.service_env(url, Path(tempfile.mkdtemp()), gateways)
            base = processes.start_service(children, env, args.serve_workers)
            identities = Identities()
            run_journeys(base, gateways.sms_url, 4, 2, identities)  # warm up
            service = children.processes[-1].pid  # the supervisor with --serve-workers > 1
            counts_before = database_counts(engine)
            service_before, (busy_before, idle_before), own_before = (
                process_cpu_s(service),
                machine_busy_s(),
                self_cpu_s(),
            )
            journeys, elapsed, errors = run_journeys(
                base, gateways.sms_url, args.loans, args.clients, identities
            )
            service_cpu = process_cpu_s(service) - service_before
            busy_after, idle_after = machine_busy_s()
            own = self_cpu_s() - own_before
            time.sleep(1.0)  # the statistics collector catches up
            counts = [b - a for a, b in zip(counts_before, database_counts(engine), strict=True)]
        finally:
            children.stop()
            engine.dispose()
    if errors:
        raise SystemExit(f"{len(errors)} journeys failed; first: {errors[0]}")
    n = len(journeys)
    busy = busy_after - busy_before
    waits = [j.apply_to_paid * 1000 for j in journeys]
    print(
        f"{n} loans in {elapsed:.1f} s = {n / elapsed:.2f}/s; apply → paid out "
        f"p50 {percentile(waits, 50):,.0f} ms, p99 {percentile(waits, 99):,.0f} ms"
    )
    service_note = " (supervisor only: workers not counted)" if args.serve_workers > 1 else ""
    print(
        f"CPU per loan: machine {busy / n * 1000:.0f} ms = service {service_cpu / n * 1000:.0f}"
        f"{service_note} + clients {own / n * 1000:.0f} + rest "
        f"{(busy - service_cpu - own) / n * 1000:.0f}; machine idle "
        f"{idle_after - idle_before:.1f} s of {elapsed * (os.cpu_count() or 1):.1f} s"
    )
    commits, rollbacks, inserted, updated = (c / n for c in counts)
    print(
        f"PostgreSQL per loan: {commits:.1f} commits, {rollbacks:.1f} rollbacks, "
        f"{inserted:.1f} rows inserted, {updated:.1f} rows updated"
    )


if __name__ == "__main__":
    main()
