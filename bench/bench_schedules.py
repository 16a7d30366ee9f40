"""Schedules generated per second for 12-period loans, and APRs solved per second.

Prints figures, asserts nothing. Alongside, a same-run reference: the bare stdlib
Decimal arithmetic of a 12-period amortisation (multiply, quantize, subtract per
period), so the README can quote a machine-independent ratio.

    .venv/bin/python bench/bench_schedules.py [--seconds 2]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from mobilend.domain.apr import annual_percentage_rate
from mobilend.domain.daycount import DayCount
from mobilend.domain.money import Money
from mobilend.domain.products import FeeKind, FeeRule, LoanTerms, RepaymentMethod
from mobilend.domain.schedules import generate_schedule


def rate_per_second(work: Callable[[int], object], seconds: float) -> float:
    """Calls of ``work(i)`` per second, run for about ``seconds`` after a warm-up."""
    for i in range(50):
        work(i)
    done = 0
    started = time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        for _ in range(50):
            work(done)
            done += 1
    return done / (time.perf_counter() - started)


def twelve_period_terms(method: RepaymentMethod, count: int = 500) -> list[LoanTerms]:
    """Varied amounts, rates and start dates so no two loans are alike."""
    return [
        LoanTerms(
            principal=Money.from_minor(100_000 + 7919 * i),
            periods=12,
            annual_rate=Decimal(800 + i % 1600) / 10000,
            method=method,
            day_count=DayCount.ACT_360,
            start_date=date(2024, 1, 1) + timedelta(days=i % 365),
            fees=(FeeRule(FeeKind.PER_INSTALLMENT, amount=Money("3")),),
        )
        for i in range(count)
    ]


def reference_amortisation(i: int) -> Decimal:
    """The bare Decimal work of a 12-period schedule: interest, quantize, balance."""
    balance = Decimal(100_000 + 7919 * i) / 100
    rate = Decimal("0.015")
    payment = (balance / 11).quantize(Decimal("0.01"))
    cent = Decimal("0.01")
    for _ in range(12):
        interest = (balance * rate).quantize(cent, rounding=ROUND_HALF_UP)
        balance -= payment - interest
    return balance


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    seconds = parser.parse_args().seconds

    reference = rate_per_second(reference_amortisation, seconds)
    print(f"reference: bare Decimal 12-period loop   {reference:12,.0f} /s")
    for method in RepaymentMethod:
        loans = twelve_period_terms(method)
        per_second = rate_per_second(
            lambda i, ls=loans: generate_schedule(ls[i % len(ls)]), seconds
        )
        print(
            f"schedules/s  {method.value:<18} {per_second:12,.0f} /s"
            f"   ({reference / per_second:.1f}x the reference loop's cost)"
        )
    schedules = [
        generate_schedule(t) for t in twelve_period_terms(RepaymentMethod.EQUAL_INSTALLMENT)
    ]
    aprs = rate_per_second(
        lambda i: annual_percentage_rate(schedules[i % len(schedules)], with_xirr=False), seconds
    )
    print(f"APR (IRR) solves/s, 12 periods         {aprs:12,.0f} /s")
    with_xirr = rate_per_second(
        lambda i: annual_percentage_rate(schedules[i % len(schedules)]), seconds / 2
    )
    print(f"APR + XIRR second figure/s             {with_xirr:12,.0f} /s")


if __name__ == "__main__":
    main()
