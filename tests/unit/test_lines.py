"""Credit lines (授信) and draws (用信)."""

from __future__ import annotations

import datetime as dt

import pytest

from mobilend.domain.errors import Conflict, ValidationFailed
from mobilend.domain.lines import (
    CreditLine,
    LimitExceeded,
    LineClosed,
    LineExpired,
    LineFrozen,
    LineStatus,
)
from mobilend.domain.money import Money

OPENED = dt.date(2024, 1, 1)
EXPIRES = dt.date(2024, 12, 31)


def m(value: str) -> Money:
    return Money(value)


def line(limit: str = "5000", revolving: bool = True) -> CreditLine:
    return CreditLine("LN1", "B1", m(limit), EXPIRES, OPENED, revolving=revolving)


def test_a_draw_uses_the_limit() -> None:
    credit_line = line()
    draw = credit_line.draw(m("1200"), dt.date(2024, 2, 1))
    assert draw.amount == m("1200")
    assert draw.used_after == m("1200")
    assert draw.available_after == m("3800")
    assert credit_line.available == m("3800")


def test_a_draw_above_available_is_refused_and_changes_nothing() -> None:
    credit_line = line()
    credit_line.draw(m("4000"), OPENED)
    with pytest.raises(LimitExceeded) as caught:
        credit_line.draw(m("1000.01"), OPENED)
    assert caught.value.code == "line_limit_exceeded"
    assert credit_line.used_amount == m("4000")
    assert credit_line.draw(m("1000"), OPENED).available_after.is_zero()


def test_a_frozen_line_refuses_draws_until_unfrozen() -> None:
    credit_line = line()
    credit_line.freeze("fraud review")
    assert credit_line.status is LineStatus.FROZEN
    with pytest.raises(LineFrozen):
        credit_line.draw(m("10"), OPENED)
    credit_line.unfreeze()
    assert credit_line.draw(m("10"), OPENED).used_after == m("10")
    with pytest.raises(Conflict):
        credit_line.unfreeze()
    with pytest.raises(ValidationFailed):
        credit_line.freeze("")


def test_an_expired_line_refuses_draws() -> None:
    credit_line = line()
    assert credit_line.draw(m("10"), EXPIRES).amount == m("10")  # the last day still counts
    with pytest.raises(LineExpired):
        credit_line.draw(m("10"), EXPIRES + dt.timedelta(days=1))
    assert not credit_line.expire_if_due(EXPIRES)
    assert credit_line.expire_if_due(EXPIRES + dt.timedelta(days=1))
    assert credit_line.status is LineStatus.EXPIRED
    with pytest.raises(LineExpired):
        credit_line.draw(m("10"), EXPIRES)
    credit_line.extend(dt.date(2025, 12, 31))
    assert credit_line.status is LineStatus.ACTIVE


def test_a_closed_line_refuses_everything() -> None:
    credit_line = line()
    credit_line.close()
    with pytest.raises(LineClosed):
        credit_line.draw(m("10"), OPENED)
    with pytest.raises(LineClosed):
        credit_line.change_limit(m("9000"))


def test_revolving_line_gets_repaid_principal_back() -> None:
    credit_line = line()
    credit_line.draw(m("3000"), OPENED)
    assert credit_line.restore(m("1000")) == m("1000")
    assert credit_line.available == m("3000")
    with pytest.raises(Conflict):
        credit_line.restore(m("2000.01"))


def test_non_revolving_line_gets_limit_back_only_for_cancelled_draws() -> None:
    credit_line = line(revolving=False)
    credit_line.draw(m("3000"), OPENED)
    assert credit_line.restore(m("1000")).is_zero()
    assert credit_line.available == m("2000")
    assert credit_line.restore(m("3000"), cancelled=True) == m("3000")
    assert credit_line.available == m("5000")


def test_lowering_the_limit_below_used_floors_available_at_zero() -> None:
    credit_line = line()
    credit_line.draw(m("3000"), OPENED)
    credit_line.change_limit(m("2000"))
    assert credit_line.available.is_zero()
    with pytest.raises(LimitExceeded):
        credit_line.draw(m("0.01"), OPENED)
    credit_line.restore(m("1500"))
    assert credit_line.available == m("500")
    credit_line.change_limit(m("8000"))
    assert credit_line.available == m("6500")


@pytest.mark.parametrize("amount", ["0", "-5", "0.001"])
def test_draw_amounts_must_be_positive_fen(amount: str) -> None:
    with pytest.raises(ValidationFailed):
        line().draw(m(amount), OPENED)


def test_invalid_lines_report_every_problem() -> None:
    with pytest.raises(ValidationFailed) as caught:
        CreditLine("LN1", "B1", m("-1"), OPENED - dt.timedelta(days=1), OPENED, used=m("-2"))
    assert {p.field for p in caught.value.problems} == {"limit", "used", "expires_on"}


def test_state_round_trips() -> None:
    credit_line = line()
    credit_line.draw(m("123.45"), OPENED)
    credit_line.freeze("overdue elsewhere")
    state = credit_line.to_state()
    assert state["used_minor"] == 12345
    assert CreditLine.from_state(state) == credit_line
