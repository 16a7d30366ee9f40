"""The per-borrower cap holds by identity on PostgreSQL: over every account verified with
one national ID, counting loans on expired lines, at line opening and at the draw, and
under concurrency (two requests for one person never both pass)."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from decimal import Decimal

import pytest
import sqlalchemy as sa
from compliance_fixtures import (
    OPENED,
    caps,
    close_account,
    draw,
    lending_under,
    line_for,
    new_vault,
    person_account,
)

from mobilend.app.lending.loans import quote_draw
from mobilend.domain.compliance import BorrowerCapExceeded, BorrowerNotEligible
from mobilend.domain.errors import ComplianceViolation
from mobilend.domain.money import Money

pytestmark = pytest.mark.db

DAY = dt.timedelta(days=1)


def test_cap_sums_two_accounts_of_one_person_at_line_opening(db: sa.Engine) -> None:
    """The issue's case: a person owes on an account they closed (a recycled phone
    number) and opens a new one with the same ID; the new line must fit the cap with
    the old debt and the old line's unused limit counted."""
    vault = new_vault()
    lending = lending_under(db, caps(("60000", None, None)))
    person_account(db, vault, "acct-old", person=7)
    old_line = line_for(lending, "acct-old", "50000")
    draw(lending, old_line, "40000")
    close_account(db, "acct-old")
    person_account(db, vault, "acct-new", person=7)  # same national ID, a new account

    with pytest.raises(BorrowerCapExceeded) as refused:
        line_for(lending, "acct-new", "15000")
    assert refused.value.rule == "borrower_cap"
    # 40 000 owed + 10 000 unused + 15 000 asked
    assert refused.value.figure == "65000.00"
    assert refused.value.limit == "60000.00"
    assert isinstance(refused.value, ComplianceViolation)  # 422 at the API
    assert line_for(lending, "acct-new", "10000").limit == Money("10000")


def test_cap_sums_two_accounts_of_one_person_at_the_draw(db: sa.Engine) -> None:
    """Lines opened under a higher cap; after it falls, a draw on the new account may
    not take the person's principal over every account above it."""
    vault = new_vault()
    later = OPENED + 10 * DAY
    rules = caps(("100000", None, later - DAY), ("60000", later, None))
    lending = lending_under(db, rules)
    person_account(db, vault, "acct-a", person=8)
    first = line_for(lending, "acct-a", "50000")
    draw(lending, first, "40000")
    close_account(db, "acct-a")
    person_account(db, vault, "acct-b", person=8)
    second = line_for(lending, "acct-b", "50000")

    with pytest.raises(BorrowerCapExceeded) as refused:
        draw(lending, second, "30000", on=later)
    assert refused.value.figure == "70000.00"  # 40 000 owed + 30 000
    with pytest.raises(BorrowerCapExceeded):  # the live offer says the same
        quote_draw(
            lending.uow_factory, lending.cost_caps,
            line_id=second.line_id, amount=Money("30000"), periods=12, on=later,
        )  # fmt: skip
    with lending.uow_factory() as uow:  # nothing was taken from the line
        assert uow.lending.lines.get(second.line_id).available == Money("50000")
    assert draw(lending, second, "20000", on=later).loan.principal == Money("20000")


def test_another_persons_debt_does_not_count(db: sa.Engine) -> None:
    vault = new_vault()
    lending = lending_under(db, caps(("60000", None, None)))
    person_account(db, vault, "acct-x", person=9)
    person_account(db, vault, "acct-y", person=10)
    draw(lending, line_for(lending, "acct-x", "50000"), "50000")
    assert line_for(lending, "acct-y", "50000").limit == Money("50000")


def test_loans_on_an_expired_line_count_at_line_opening_and_draw(db: sa.Engine) -> None:
    """The issue's case: a line expired but its loan is still owed; a new line and a
    draw on it must count that loan (the expired line's unused limit no longer counts)."""
    vault = new_vault()
    reopen = OPENED + 40 * DAY
    rules = caps(("60000", None, reopen), ("55000", reopen + DAY, None))
    lending = lending_under(db, rules)
    person_account(db, vault, "acct-e", person=11)
    short = line_for(lending, "acct-e", "50000", days=30)
    draw(lending, short, "45000")

    with pytest.raises(BorrowerCapExceeded) as refused:
        line_for(lending, "acct-e", "20000", on=reopen)
    assert refused.value.figure == "65000.00"  # 45 000 owed + 20 000; nothing unused
    fresh = line_for(lending, "acct-e", "15000", on=reopen)

    with pytest.raises(BorrowerCapExceeded) as at_draw:
        draw(lending, fresh, "15000", on=reopen + DAY)
    assert at_draw.value.figure == "60000.00"
    assert at_draw.value.limit == "55000.00"
    assert draw(lending, fresh, "10000", on=reopen + DAY).loan.principal == Money("10000")


def test_an_under_age_borrower_gets_no_line(db: sa.Engine) -> None:
    vault = new_vault()
    lending = lending_under(db, caps(("60000", None, None)))
    person_account(db, vault, "acct-minor", person=12)
    with pytest.raises(BorrowerNotEligible) as refused:
        from mobilend.app.lending.lines import open_credit_line

        open_credit_line(
            lending.uow_factory, lending.cost_caps, lending.new_id, borrower_id="acct-minor",
            product_code="cash-12m", limit=Money("1000"), opened_on=OPENED,
            expires_on=OPENED + 30 * DAY, birth_date=dt.date(2010, 3, 1),
        )  # fmt: skip
    assert refused.value.rule == "minimum_age"


def _race(*calls: Callable[[], object]) -> list[object]:
    """Run the calls at once from threads; each result or the exception it raised."""
    results: list[object] = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def run(i: int) -> None:
        start.wait()
        try:
            results[i] = calls[i]()
        except Exception as exc:  # collected and asserted on below
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.parametrize("attempt", range(3))
def test_two_concurrent_draws_for_one_person_never_both_pass(db: sa.Engine, attempt: int) -> None:
    vault = new_vault()
    later = OPENED + 5 * DAY
    lending = lending_under(db, caps(("100000", None, later - DAY), ("60000", later, None)))
    person_account(db, vault, f"acct-p{attempt}", person=20 + attempt)
    one = line_for(lending, f"acct-p{attempt}", "50000")
    close_account(db, f"acct-p{attempt}")
    person_account(db, vault, f"acct-q{attempt}", person=20 + attempt)
    two = line_for(lending, f"acct-q{attempt}", "50000")

    results = _race(
        lambda: draw(lending, one, "35000", on=later),
        lambda: draw(lending, two, "35000", on=later),
    )
    refused = [r for r in results if isinstance(r, BorrowerCapExceeded)]
    assert len(refused) == 1, results  # one fits (35 000), both would not (70 000)
    with db.connect() as conn:
        owed = conn.execute(
            sa.text("SELECT sum(outstanding_principal) FROM loans WHERE borrower_id IN (:a, :b)"),
            {"a": f"acct-p{attempt}", "b": f"acct-q{attempt}"},
        ).scalar_one()
    assert Decimal(owed) / 100 == Decimal("35000")


@pytest.mark.parametrize("attempt", range(3))
def test_two_concurrent_line_openings_for_one_person_never_both_pass(
    db: sa.Engine, attempt: int
) -> None:
    vault = new_vault()
    lending = lending_under(db, caps(("60000", None, None)))
    person_account(db, vault, f"acct-r{attempt}", person=30 + attempt)
    close_account(db, f"acct-r{attempt}")
    person_account(db, vault, f"acct-s{attempt}", person=30 + attempt)

    results = _race(
        lambda: line_for(lending, f"acct-r{attempt}", "40000"),
        lambda: line_for(lending, f"acct-s{attempt}", "40000"),
    )
    assert sum(isinstance(r, BorrowerCapExceeded) for r in results) == 1, results
    with db.connect() as conn:
        limits = conn.execute(
            sa.text("SELECT sum(credit_limit) FROM credit_lines WHERE borrower_id IN (:a, :b)"),
            {"a": f"acct-r{attempt}", "b": f"acct-s{attempt}"},
        ).scalar_one()
    assert limits == 40000 * 100
