"""Portfolio risk arithmetic: model monitoring (PSI, AUC, KS from counts) and the stress
test (expected loss and capital under a PD multiplier and a macro scenario).

Everything works from grouped counts (applications per score, goods and bads per score,
balances per cell), so a book of a million loans costs what a few hundred rows cost.
Risk figures are estimates, computed in floats and returned as rounded Decimals; money
is Decimal throughout.
"""

from __future__ import annotations

import bisect
import enum
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from statistics import NormalDist

from mobilend.domain.errors import Problem, ValidationFailed
from mobilend.domain.money import Money

# --------------------------------------------------------------------------- monitoring

#: Empty bins would make PSI infinite; they count as this share instead.
PSI_EPSILON = 1e-4
PSI_WATCH = 0.1
PSI_ALERT = 0.25
AUC_ALERT = 0.65


# Floats appear here only inside the statistics (PSI's logarithms, the normal
# distribution of the IRB formula), never for money: each comes back as a quantized
# Decimal rate, and amounts (EAD, expected loss, capital) stay Money.
def _ratio(value: float, places: int = 4) -> Decimal:
    return Decimal(str(value)).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)


def psi(
    edges: Sequence[float], expected: Sequence[float], counts: Mapping[int, int]
) -> Decimal | None:
    """PSI of scores (``counts``: applications per score) against reference bins.
    None when there is nothing to compare."""
    total = sum(counts.values())
    if total == 0 or len(expected) != len(edges) + 1:
        return None
    binned = [0] * len(expected)
    for score, n in counts.items():
        binned[bisect.bisect_right(list(edges), score)] += n
    value = 0.0
    for n, e in zip(binned, expected, strict=True):
        actual = max(n / total, PSI_EPSILON)
        reference = max(float(e), PSI_EPSILON)
        value += (actual - reference) * math.log(actual / reference)
    return _ratio(value)


@dataclass(frozen=True, slots=True)
class Discrimination:
    goods: int
    bads: int
    auc: Decimal | None
    ks: Decimal | None


def auc_ks(performance: Iterable[tuple[int, int, int]]) -> Discrimination:
    """AUC and KS of a score (higher = safer) from ``(score, goods, bads)`` counts.

    AUC is the chance a random good scores above a random bad (ties count half);
    KS is the largest gap between the cumulative shares of bads and goods."""
    rows = sorted(performance)
    goods = sum(g for _, g, _ in rows)
    bads = sum(b for _, _, b in rows)
    if goods == 0 or bads == 0:
        return Discrimination(goods, bads, None, None)
    wins = 0.0
    bads_below = 0
    cum_good = cum_bad = 0
    ks = 0.0
    for _score, g, b in rows:  # ascending score
        wins += g * (bads_below + b / 2)
        bads_below += b
        cum_good += g
        cum_bad += b
        ks = max(ks, abs(cum_bad / bads - cum_good / goods))
    return Discrimination(goods, bads, _ratio(wins / (goods * bads)), _ratio(ks))


class Stability(enum.StrEnum):
    STABLE = "stable"
    WATCH = "watch"
    ALERT = "alert"


def stability(value: Decimal | None) -> Stability | None:
    if value is None:
        return None
    if value > Decimal(str(PSI_ALERT)):
        return Stability.ALERT
    return Stability.WATCH if value > Decimal(str(PSI_WATCH)) else Stability.STABLE


# --------------------------------------------------------------------------- stress test

#: Twelve-month PD by delinquency bucket, before any stress (editable per run).
DEFAULT_BUCKET_PD: Mapping[str, Decimal] = {
    "C": Decimal("0.03"),
    "M1": Decimal("0.25"),
    "M2": Decimal("0.50"),
    "M3": Decimal("0.70"),
    "M4": Decimal("0.85"),
    "M5": Decimal("0.92"),
    "M6": Decimal("0.96"),
    "M6+": Decimal("1"),
}
DEFAULT_LGD = Decimal("0.75")  # unsecured consumer credit
RETAIL_CORRELATION = 0.15  # Basel "other retail" lies between 0.03 and 0.16
CONFIDENCE = 0.999


@dataclass(frozen=True, slots=True)
class MacroScenario:
    code: str
    label_zh: str
    label_en: str
    pd_multiplier: Decimal
    lgd_add: Decimal


SCENARIOS: Mapping[str, MacroScenario] = {
    s.code: s
    for s in (
        MacroScenario("baseline", "基准情景", "baseline", Decimal("1"), Decimal("0")),
        MacroScenario("adverse", "不利情景", "adverse", Decimal("1.5"), Decimal("0.05")),
        MacroScenario(
            "severe", "严重不利情景", "severely adverse", Decimal("2.5"), Decimal("0.10")
        ),
    )
}


@dataclass(frozen=True, slots=True)
class Exposure:
    """One cell of the active book."""

    product_code: str
    funder_code: str
    bucket: str
    loans: int
    ead: Money  # exposure at default: outstanding principal and receivables


@dataclass(frozen=True, slots=True)
class StressLine:
    key: str
    loans: int
    ead: Money
    expected_loss: Money
    capital: Money

    @property
    def loss_rate(self) -> Decimal:
        if not self.ead.is_positive():
            return Decimal(0)
        return (self.expected_loss.amount / self.ead.amount).quantize(Decimal("0.0001"))


@dataclass(frozen=True, slots=True)
class StressResult:
    scenario: MacroScenario
    pd_multiplier: Decimal
    lgd: Decimal
    by_product: tuple[StressLine, ...]
    by_funder: tuple[StressLine, ...]
    total: StressLine


def retail_capital_rate(pd: Decimal, lgd: Decimal) -> Decimal:
    """Capital per unit of exposure for unexpected loss (Basel IRB, retail):
    LGD·N[(G(PD) + √R·G(0.999)) / √(1−R)] − PD·LGD; a defaulted exposure holds none."""
    p = float(pd)
    if p <= 0 or p >= 1:
        return Decimal(0)
    r = RETAIL_CORRELATION
    normal = NormalDist()
    conditional = normal.cdf(
        (normal.inv_cdf(p) + math.sqrt(r) * normal.inv_cdf(CONFIDENCE)) / math.sqrt(1 - r)
    )
    k = float(lgd) * (conditional - p)
    return Decimal(str(max(k, 0.0))).quantize(Decimal("0.000001"), ROUND_HALF_UP)


def stress_test(
    book: Sequence[Exposure],
    *,
    scenario: MacroScenario,
    pd_multiplier: Decimal,
    lgd: Decimal = DEFAULT_LGD,
    bucket_pd: Mapping[str, Decimal] = DEFAULT_BUCKET_PD,
) -> StressResult:
    """Expected loss (PD × LGD × EAD) and capital (IRB retail) of the active book, with
    every bucket's PD multiplied by ``pd_multiplier`` and the scenario's multiplier
    (capped at 1), and the scenario's LGD add-on; by product and by funder."""
    problems = []
    if pd_multiplier <= 0 or pd_multiplier > 20:
        problems.append(Problem("pd_multiplier", "须在0至20之间 (between 0 and 20)"))
    if lgd < 0 or lgd > 1:
        problems.append(Problem("lgd", "须在0至1之间 (between 0 and 1)"))
    if problems:
        raise ValidationFailed(problems)
    stressed_lgd = min(lgd + scenario.lgd_add, Decimal(1))
    factor = pd_multiplier * scenario.pd_multiplier
    currency = book[0].ead.currency if book else "CNY"
    product: dict[str, _Sum] = {}
    funder: dict[str, _Sum] = {}
    total = _Sum.zero("total", currency)
    for cell in book:
        pd = min(bucket_pd.get(cell.bucket, Decimal(1)) * factor, Decimal(1))
        el = (cell.ead * (pd * stressed_lgd)).round()
        capital = (cell.ead * retail_capital_rate(pd, stressed_lgd)).round()
        for groups, key in ((product, cell.product_code), (funder, cell.funder_code)):
            groups.setdefault(key, _Sum.zero(key, currency)).add(cell.loans, cell.ead, el, capital)
        total.add(cell.loans, cell.ead, el, capital)
    return StressResult(
        scenario,
        pd_multiplier,
        stressed_lgd,
        tuple(acc.line() for _, acc in sorted(product.items())),
        tuple(acc.line() for _, acc in sorted(funder.items())),
        total.line(),
    )


@dataclass(slots=True)
class _Sum:
    key: str
    loans: int
    ead: Money
    expected_loss: Money
    capital: Money

    @classmethod
    def zero(cls, key: str, currency: str) -> _Sum:
        zero = Money.zero(currency)
        return cls(key, 0, zero, zero, zero)

    def add(self, loans: int, ead: Money, el: Money, capital: Money) -> None:
        self.loans += loans
        self.ead += ead
        self.expected_loss += el
        self.capital += capital

    def line(self) -> StressLine:
        return StressLine(
            self.key, self.loans, self.ead.round(), self.expected_loss.round(), self.capital.round()
        )
