"""Load test of the borrower API: locust (headless) against ``mobilend serve --workers 2``.

Starts the sandbox SMS and payment gateways and the service as ``bench_journeys.py``
does (fresh ``mobilend_bench`` database), then runs ``bench/locustfile_borrower.py``:
U borrowers signing in, onboarding and then using the app (profile, lines, loans, inbox,
quotes, one loan each). Prints the sustained request rate once every user is running,
the p50/p99 over the whole run, the failure count, and a same-run reference (``GET
/health`` from the same number of clients). Asserts nothing.

    .venv/bin/python bench/bench_load.py                    # 40 users, 60 s, 2 workers
    .venv/bin/python bench/bench_load.py -u 80 -t 120
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_journeys import bench_database, health_rate, start

HERE = Path(__file__).resolve().parent


def rows(path: str) -> list[dict[str, str]]:
    with open(path, encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-u", "--users", type=int, default=40)
    parser.add_argument("-r", "--spawn-rate", type=float, default=4.0)
    parser.add_argument("-t", "--seconds", type=int, default=60)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="mobilend-load-") as scratch:
        processes = start(bench_database(), args.workers, Path(scratch) / "var")
        try:
            prefix = Path(scratch) / "stats"
            locust = [
                str(Path(sys.executable).parent / "locust"),
                "-f", str(HERE / "locustfile_borrower.py"),
                "--headless", "--only-summary",
                "-u", str(args.users), "-r", str(args.spawn_rate), "-t", f"{args.seconds}s",
                "--host", processes.base_url,
                "--csv", str(prefix), "--csv-full-history",
                "--stop-timeout", "10", "--loglevel", "WARNING",
            ]  # fmt: skip
            env = {**os.environ, "LOAD_SMS_URL": processes.sms_url}
            subprocess.run(locust, env=env, check=False, cwd=scratch)
            health = health_rate(processes.base_url, args.users, 5.0)
            totals = next(r for r in rows(f"{prefix}_stats.csv") if r["Name"] == "Aggregated")
            history = [
                r
                for r in rows(f"{prefix}_stats_history.csv")
                if r["Name"] == "Aggregated" and int(r["User Count"]) == args.users
            ]
        finally:
            processes.stop()

    steady = [float(row["Requests/s"]) for row in history[5:]]  # after the last spawn settles
    print(f"load: {args.users} users, {args.seconds} s, {args.workers} worker(s)")
    print(f"  requests              {int(totals['Request Count']):8d}")
    print(f"  failures              {int(totals['Failure Count']):8d}")
    if steady:
        print(f"  sustained requests/s  {statistics.mean(steady):8.1f}   (all users running)")
    print(f"  whole run requests/s  {float(totals['Requests/s']):8.1f}")
    print(f"  p50 {totals['50%']} ms   p95 {totals['95%']} ms   p99 {totals['99%']} ms")
    print(f"reference: GET /health from {args.users} clients  {health:8.1f} req/s")
    if steady:
        print(
            f"  sustained requests/s ÷ /health requests/s = {statistics.mean(steady) / health:.3f}"
        )


if __name__ == "__main__":
    main()
