"""Funding rules: funder eligibility, joint-lending shares and splits, routing order."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mobilend.app.funding.ports import Strategy
from mobilend.app.funding.routing import order_fits
from mobilend.domain.errors import ValidationFailed
from mobilend.domain.funding import (
    MIN_JOINT_SHARE,
    Funder,
    FunderKind,
    FunderPosition,
    FundingRequest,
    JointShareTooSmall,
    Programme,
    ProgrammeShare,
    Tranche,
    WhitelistStatus,
    check_shares,
    fit_programme,
    funder_problems,
    payout_settlement_entry,
    split_collection,
    split_principal,
    tranches_for,
)
from mobilend.domain.ledger import ComponentAmounts
from mobilend.domain.money import Money

ON = dt.date(2026, 3, 2)


def bank(code: str = "bank_a", **overrides: object) -> Funder:
    fields: dict[str, object] = {
        "code": code,
        "name": f"Bank {code}",
        "kind": FunderKind.BANK,
        "licence_no": "B0001H",
        "whitelist_status": WhitelistStatus.WHITELISTED,
        "whitelisted_from": dt.date(2026, 1, 1),
        "min_amount": Money("500.00"),
        "max_amount": Money("50000.00"),
        "cost_of_funds": Decimal("0.05"),
        "interest_share": Decimal("0.8"),
    }
    fields.update(overrides)
    return Funder(**fields)  # type: ignore[arg-type]


def empty(code: str) -> FunderPosition:
    return FunderPosition.empty(code)


def request(amount: str = "10000.00", **overrides: object) -> FundingRequest:
    fields: dict[str, object] = {
        "amount": Money(amount), "product_code": "cash-12m", "on": ON, "score": 600,
        "region_code": "310000",
    }  # fmt: skip
    fields.update(overrides)
    return FundingRequest(**fields)  # type: ignore[arg-type]


def shares(*pairs: tuple[str, str]) -> tuple[ProgrammeShare, ...]:
    return tuple(ProgrammeShare(code, Decimal(share)) for code, share in pairs)


# --------------------------------------------------------------------------- shares


@pytest.mark.parametrize("small", ["0.29", "0.10", "0.2999"])
def test_joint_share_below_thirty_percent_is_refused(small: str) -> None:
    rest = str(Decimal(1) - Decimal(small))
    with pytest.raises(JointShareTooSmall) as err:
        Programme("jl", "joint", shares(("own_pool", small), ("bank_a", rest)))
    assert "30" in err.value.problems[0].message


def test_joint_shares_at_thirty_percent_and_single_funders_are_accepted() -> None:
    Programme("jl", "joint", shares(("own_pool", "0.3"), ("bank_a", "0.7")))
    Programme("j3", "three", shares(("own_pool", "0.3"), ("a", "0.3"), ("b", "0.4")))
    Programme("solo", "solo", shares(("bank_a", "1")))
    assert Decimal("0.30") == MIN_JOINT_SHARE


def test_joint_rule_is_on_the_platforms_own_share_not_each_partners() -> None:
    """Two banks at 50 % each with no own share was accepted and own 71 % + bank 29 %
    refused; the rule is the platform's own share of each joint loan (at least 30 %)."""
    with pytest.raises(JointShareTooSmall) as err:
        Programme("two_banks", "two banks", shares(("bank_a", "0.5"), ("bank_b", "0.5")))
    assert err.value.breaches[0].rule == "joint_own_share"
    assert err.value.breaches[0].figure == "0.00%"
    Programme("mostly_own", "own + bank", shares(("own_pool", "0.71"), ("bank_a", "0.29")))
    Programme(
        "small_partners", "own + two", shares(("own_pool", "0.8"), ("a", "0.1"), ("b", "0.1"))
    )


@pytest.mark.parametrize(
    "pairs",
    [
        (("a", "0.5"), ("b", "0.4")),  # sums to 0.9
        (("a", "0.5"), ("a", "0.5")),  # same funder twice
        (("a", "1.2"), ("b", "-0.2")),  # negative share
        (),
    ],
)
def test_shares_must_be_positive_distinct_and_sum_to_one(
    pairs: tuple[tuple[str, str], ...],
) -> None:
    with pytest.raises(ValidationFailed):
        check_shares(shares(*pairs))


def test_principal_split_by_largest_remainder_ties_to_the_earlier_share() -> None:
    # 5 fen at 30/30/40: exact 1.5, 1.5, 2.0 fen; one fen left over, both .5 remainders
    # tie, so it goes to the first.
    parts = split_principal(Money("0.05"), [Decimal("0.3"), Decimal("0.3"), Decimal("0.4")])
    assert [p.to_minor() for p in parts] == [2, 1, 2]
    parts = split_principal(Money("10000.01"), [Decimal("0.3"), Decimal("0.7")])
    assert [p.format() for p in parts] == ["3000.00", "7000.01"]


joint_shares = (
    st.lists(st.integers(min_value=30, max_value=70), min_size=1, max_size=3)
    .filter(lambda xs: len(xs) == 1 or sum(xs[:-1]) <= 100 - 30)
    .map(
        lambda xs: (
            [Decimal(100)]
            if len(xs) == 1
            else [*map(Decimal, xs[:-1]), Decimal(100 - sum(xs[:-1]))]
        )
    )
    .filter(lambda xs: all(x >= 30 for x in xs))
    .map(lambda xs: [x / 100 for x in xs])
)
fen = st.integers(min_value=1, max_value=10**10)


@settings(max_examples=300, deadline=None)
@given(total=fen, weights=joint_shares)
def test_principal_split_sums_exactly_and_each_part_is_within_a_fen(
    total: int, weights: list[Decimal]
) -> None:
    # the first share is the own pool's, at least 30 % of a joint loan
    check_shares(
        [ProgrammeShare("own_pool" if i == 0 else f"f{i}", w) for i, w in enumerate(weights)]
    )
    parts = split_principal(Money.from_minor(total), weights)
    assert sum(p.to_minor() for p in parts) == total
    for part, weight in zip(parts, weights, strict=True):
        exact = Decimal(total) * weight
        assert abs(Decimal(part.to_minor()) - exact) < 1
    # largest remainder: a part rounded up never has a smaller remainder than one rounded down
    remainders = [Decimal(total) * w - int(Decimal(total) * w) for w in weights]
    up = [
        r
        for p, w, r in zip(parts, weights, remainders, strict=True)
        if p.to_minor() > int(Decimal(total) * w)
    ]
    down = [
        r
        for p, w, r in zip(parts, weights, remainders, strict=True)
        if p.to_minor() == int(Decimal(total) * w)
    ]
    if up and down:
        assert min(up) >= max(down)


def _tranches(weights: list[Decimal], interest_shares: list[Decimal]) -> list[Tranche]:
    return [
        Tranche(f"f{i}", Money("1.00"), w, s, f"cash:funder:f{i}")
        for i, (w, s) in enumerate(zip(weights, interest_shares, strict=True))
    ]


@settings(max_examples=300, deadline=None)
@given(
    weights=joint_shares,
    principal=st.integers(0, 10**9),
    interest=st.integers(0, 10**8),
    fees=st.integers(0, 10**6),
    penalty=st.integers(0, 10**6),
    keep=st.lists(st.integers(0, 100), min_size=3, max_size=3),
)
def test_repayments_split_exactly_by_share(
    weights: list[Decimal], principal: int, interest: int, fees: int, penalty: int, keep: list[int]
) -> None:
    collected = ComponentAmounts(
        Money.from_minor(principal), Money.from_minor(interest),
        Money.from_minor(fees), Money.from_minor(penalty),
    )  # fmt: skip
    interest_shares = [Decimal(k) / 100 for k in keep[: len(weights)]]
    takes = split_collection(collected, _tranches(weights, interest_shares))
    # Each component's parts (funders' takes plus the platform's margin) sum exactly.
    assert sum(t.principal.to_minor() for t in takes) == principal
    income = sum(t.interest.to_minor() + t.fees.to_minor() + t.penalty.to_minor() for t in takes)
    margin = sum(t.platform_margin.to_minor() for t in takes)
    assert income + margin == interest + fees + penalty
    # Each funder's share of each component is the largest-remainder split of it.
    for component in ("principal", "interest", "fees", "penalty"):
        amount = getattr(collected, component)
        expected = (
            split_principal(amount, weights) if amount.is_positive() else [amount] * len(weights)
        )
        for take, part, share in zip(takes, expected, interest_shares, strict=True):
            got = getattr(take, component)
            if component == "principal":
                assert got == part
            else:
                assert got == Money(part.amount * share).round()


def test_a_repayment_on_a_joint_loan_splits_to_the_fen() -> None:
    tranches = [
        Tranche("own_pool", Money("3000.00"), Decimal("0.3"), Decimal("1"), "cash:own_pool"),
        Tranche("bank_a", Money("7000.00"), Decimal("0.7"), Decimal("0.8"), "cash:funder:bank_a"),
    ]
    paid = ComponentAmounts(Money("833.33"), Money("150.01"), Money("0.00"), Money("0.03"))
    own, partner = split_collection(paid, tranches)
    # principal 249.999 / 583.331: the spare fen goes to the larger remainder (own pool)
    assert (own.principal, partner.principal) == (Money("250.00"), Money("583.33"))
    # interest 45.003 / 105.007 → 45.00 / 105.01, of which bank_a keeps 80 %: 84.008 → 84.01
    assert (own.interest, partner.interest) == (Money("45.00"), Money("84.01"))
    assert partner.platform_margin == Money("21.00")
    # penalty 0.009 / 0.021 → 0.01 / 0.02, bank_a keeps 0.016 → 0.02
    assert (own.penalty, partner.penalty) == (Money("0.01"), Money("0.02"))
    assert own.total + partner.total + own.platform_margin + partner.platform_margin == paid.total


# --------------------------------------------------------------------------- eligibility


def test_every_funder_rule_is_checked() -> None:
    assert funder_problems(bank(), empty("bank_a"), request(), Money("10000.00")) == []
    cases = {
        "whitelist_not_yet_effective": bank(whitelisted_from=dt.date(2026, 4, 1)),
        "whitelist_expired": bank(whitelisted_until=dt.date(2026, 3, 1)),
        "whitelist_suspended": bank(whitelist_status=WhitelistStatus.SUSPENDED),
        "no_licence": bank(licence_no=" "),
        "region_not_served": bank(regions=frozenset({"110000"})),
        "product_not_offered": bank(products=frozenset({"sme"})),
        "score_below_cutoff": bank(min_score=650),
        "amount_above_maximum": bank(max_amount=Money("9999.99")),
        "amount_below_minimum": bank(min_amount=Money("10000.01"), max_amount=Money("20000")),
        "daily_quota_exhausted": bank(daily_quota=Money("15000.00")),
        "total_quota_exhausted": bank(total_quota=Money("15000.00")),
        "concentration_limit": bank(max_balance=Money("15000.00")),
    }
    used = FunderPosition("bank_a", Money("6000.00"), Money("6000.00"), Money("6000.00"))
    for reason, funder in cases.items():
        assert reason in funder_problems(funder, used, request(), Money("10000.00")), reason
    unknown_score = funder_problems(
        bank(min_score=500), empty("bank_a"), request(score=None), Money("1000.00")
    )
    assert unknown_score == ["score_unknown"]


def test_whitelist_is_effective_on_its_first_and_last_day() -> None:
    funder = bank(whitelisted_from=ON, whitelisted_until=ON)
    assert funder.whitelist_problem(ON) == ""
    assert funder.whitelist_problem(ON + dt.timedelta(days=1)) == "whitelist_expired"


def test_programme_fit_names_every_funder_problem_and_the_joint_limit() -> None:
    funders = {
        "own_pool": bank("own_pool", kind=FunderKind.OWN_POOL),
        "bank_a": bank(min_score=650),
    }
    joint = Programme("jl", "joint", shares(("own_pool", "0.3"), ("bank_a", "0.7")))
    fit = fit_programme(joint, funders, {}, request())
    assert not fit.fits and fit.problems == {"bank_a": ("score_below_cutoff",)}
    fit = fit_programme(
        joint, funders, {}, request(score=700),
        joint_outstanding=Money("95000.00"), joint_limit=Money("100000.00"),
    )  # fmt: skip
    assert fit.problems == {"programme": ("joint_balance_limit",)}
    fit = fit_programme(joint, funders, {}, request(score=700), excluded=["bank_a"])
    assert fit.problems == {"bank_a": ("excluded_for_this_loan",)}
    fit = fit_programme(joint, funders, {}, request(score=700))
    assert fit.fits and [t.principal for t in fit.tranches] == [Money("3000.00"), Money("7000.00")]
    assert fit.blended_cost == Decimal("0.05")
    assert all(t.joint for t in fit.tranches)


def test_concentration_stops_a_funder_at_its_limit_and_not_before() -> None:
    funder = bank(max_balance=Money("30000.00"))
    at = FunderPosition("bank_a", Money(0), Money("20000.00"), Money("20000.00"))
    assert funder_problems(funder, at, request(), Money("10000.00")) == []
    over = FunderPosition("bank_a", Money(0), Money("20000.01"), Money("20000.01"))
    assert funder_problems(funder, over, request(), Money("10000.00")) == ["concentration_limit"]


# --------------------------------------------------------------------------- strategies


def _fits() -> list:
    funders = {
        "cheap": bank("cheap", cost_of_funds=Decimal("0.03"), priority=30),
        "dear": bank("dear", cost_of_funds=Decimal("0.07"), priority=10),
        "full": bank("full", cost_of_funds=Decimal("0.01"), priority=1, daily_quota=Money("1.00")),
    }
    programmes = [
        Programme(code, code, shares((code, "1")), funders[code].priority, Decimal(w))
        for code, w in (("cheap", "1"), ("dear", "3"), ("full", "1"))
    ]
    return [fit_programme(p, funders, {}, request()) for p in programmes]


def test_priority_takes_the_lowest_priority_number_with_capacity() -> None:
    order = order_fits(Strategy.PRIORITY, _fits(), {})
    assert [f.programme.code for f in order] == ["dear", "cheap"]  # 'full' has no quota left


def test_cheapest_takes_the_lowest_cost_of_funds_with_capacity() -> None:
    order = order_fits(Strategy.CHEAPEST, _fits(), {})
    assert [f.programme.code for f in order] == ["cheap", "dear"]


def test_round_robin_follows_the_weights() -> None:
    counts: dict[str, int] = {}
    chosen = []
    for _ in range(40):
        first = order_fits(Strategy.ROUND_ROBIN, _fits(), counts)[0].programme.code
        counts[first] = counts.get(first, 0) + 1
        chosen.append(first)
    assert counts == {"dear": 30, "cheap": 10}  # weights 3 : 1


def test_settlement_entry_moves_in_transit_to_each_funders_cash() -> None:
    funders = {"own_pool": bank("own_pool", kind=FunderKind.OWN_POOL), "bank_a": bank()}
    joint = Programme("jl", "joint", shares(("own_pool", "0.3"), ("bank_a", "0.7")))
    tranches = tranches_for(Money("10000.01"), joint, funders)
    entry = payout_settlement_entry("e1", ON, "L1", tranches, "PG1")
    postings = {p.account: p.amount for p in entry.postings}
    assert postings == {
        "cash:rail:in_transit": Money("10000.01"),
        "cash:own_pool": Money("-3000.00"),
        "cash:funder:bank_a": Money("-7000.01"),
    }
