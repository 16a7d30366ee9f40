"""Model monitoring and stress arithmetic from grouped counts, checked by hand."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from mobilend.domain.errors import ValidationFailed
from mobilend.domain.money import Money
from mobilend.domain.portfolio import (
    SCENARIOS,
    Exposure,
    auc_ks,
    psi,
    retail_capital_rate,
    stability,
    stress_test,
)


def test_auc_and_ks_by_hand() -> None:
    # Scores 1..3; goods mostly high, bads mostly low.
    perf = [(1, 1, 3), (2, 2, 1), (3, 3, 0)]  # (score, goods, bads): 6 goods, 4 bads
    result = auc_ks(perf)
    # Good-bad pairs where the good scores higher: score 2 goods beat 3 bads (2×3), score 3
    # goods beat all 4 (3×4); ties count half: score 1 (1×3/2), score 2 (2×1/2).
    wins = 2 * 3 + 3 * 4 + 1 * 3 / 2 + 2 * 1 / 2
    assert result.auc == Decimal(str(round(wins / 24, 4)))
    # Cumulative bads vs goods by score: 3/4 − 1/6 = 0.5833 at score 1, the largest gap.
    assert result.ks == Decimal("0.5833")
    assert auc_ks([(1, 5, 0)]).auc is None


def test_psi_by_hand_and_its_bands() -> None:
    edges, expected = (500.0,), (0.5, 0.5)
    counts = {400: 80, 600: 20}  # 80 % below 500 where training had 50 %
    value = 0.3 * math.log(0.8 / 0.5) + (-0.3) * math.log(0.2 / 0.5)
    assert psi(edges, expected, counts) == Decimal(str(round(value, 4)))
    assert stability(psi(edges, expected, counts)).value == "alert"
    assert stability(psi(edges, expected, {400: 50, 600: 50})).value == "stable"
    assert psi(edges, expected, {}) is None


def test_stress_expected_loss_and_capital() -> None:
    book = [
        Exposure("cash", "own_pool", "C", 10, Money("10000.00")),
        Exposure("cash", "bank_a", "M1", 2, Money("1000.00")),
    ]
    base = stress_test(book, scenario=SCENARIOS["baseline"], pd_multiplier=Decimal(1))
    # EL = PD × LGD × EAD: 0.03 × 0.75 × 10,000 + 0.25 × 0.75 × 1,000.
    assert base.total.expected_loss == Money("225.00") + Money("187.50")
    assert [line.key for line in base.by_funder] == ["bank_a", "own_pool"]
    assert base.total.ead == Money("11000.00")
    severe = stress_test(book, scenario=SCENARIOS["severe"], pd_multiplier=Decimal(2))
    # PD × 2 × 2.5 (capped at 1), LGD 0.75 + 0.10.
    assert severe.by_funder[0].expected_loss == Money("850.00")  # M1: PD 1.25 → 1
    assert severe.total.expected_loss > base.total.expected_loss
    assert severe.total.capital > Money("0")
    with pytest.raises(ValidationFailed):
        stress_test(book, scenario=SCENARIOS["baseline"], pd_multiplier=Decimal(0))


def test_capital_rate_is_zero_for_certain_default_and_rises_with_lgd() -> None:
    assert retail_capital_rate(Decimal(1), Decimal("0.75")) == 0
    low = retail_capital_rate(Decimal("0.03"), Decimal("0.5"))
    high = retail_capital_rate(Decimal("0.03"), Decimal("0.75"))
    assert 0 < low < high < 1
