"""Each rule of the rulebook on the case that used to get past it (issue: compliance engine)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from mobilend.app.lending.catalogue import DEMO_PRODUCTS
from mobilend.domain.apr import annual_percentage_rate
from mobilend.domain.compliance import (
    AprAboveCap,
    BorrowerCapExceeded,
    BorrowerExposure,
    BorrowerNotEligible,
    BulletTermTooLong,
    CostCap,
    LprCap,
    LprTable,
    NoCostCap,
    OwnShareTooSmall,
    PartnerNotAllowed,
    PenaltyAboveCap,
    PlatformFeeForbidden,
    Rule,
    Rulebook,
    Setting,
    UpfrontDeduction,
)
from mobilend.domain.daycount import DayCount, Frequency, PeriodUnit
from mobilend.domain.errors import ComplianceViolation
from mobilend.domain.funders import Funder, FunderKind, WhitelistStatus
from mobilend.domain.funding import ProgrammeShare
from mobilend.domain.lines import CreditLine
from mobilend.domain.money import Money
from mobilend.domain.products import FeeKind, FeeRule, LoanProduct, LoanTerms, RepaymentMethod
from mobilend.domain.products_state import product_from_state
from mobilend.domain.schedules import generate_schedule
from mobilend.risk.pricing import price_for_band

ON = date(2026, 1, 15)
RULES = Rulebook()


def product(**overrides: object) -> LoanProduct:
    fields: dict[str, object] = {
        "code": "cash",
        "name": "现金贷",
        "min_amount": Money("500"),
        "max_amount": Money("50000"),
        "min_periods": 3,
        "max_periods": 12,
        "annual_rate": Decimal("0.18"),
        "method": RepaymentMethod.EQUAL_INSTALLMENT,
        "day_count": "ACT/360",
        "penalty_rate": Decimal("0.05"),
    }
    fields.update(overrides)
    return LoanProduct.create(**fields)


# -- APR by actual dates -------------------------------------------------------------------


def test_a_two_day_first_period_no_longer_hides_the_cost() -> None:
    """10 000 at 23.9 % (ACT/360) for 12 months from 30 Jan, first due 1 Feb: the period
    count said 20.54 %; by actual days the stub costs what it is and the APR is above 24 %."""
    terms = LoanTerms(
        principal=Money("10000"), periods=12, annual_rate=Decimal("0.239"),
        method=RepaymentMethod.EQUAL_INSTALLMENT, start_date=date(2024, 1, 30),
        first_due_date=date(2024, 2, 1),
    )  # fmt: skip
    apr = annual_percentage_rate(generate_schedule(terms))
    assert Decimal("0.24") < apr.apr < Decimal("0.245")
    assert apr.actual_day_apr is not None and Decimal("0.24") < apr.actual_day_apr
    with pytest.raises(AprAboveCap) as refused:
        RULES.check_offer(apr, "micro-lender", date(2024, 1, 30))
    assert refused.value.rule is Rule.COST_CAP


def test_a_one_period_loan_over_two_days_is_priced_per_day() -> None:
    """One interest-first period of 2 days: 13.28 interest on 10 000. As a whole period it
    looked like 1.59 %; its period is its 2 days, so the APR is 13.28/10000 × 365/2."""
    terms = LoanTerms(
        principal=Money("10000"), periods=1, annual_rate=Decimal("0.239"),
        method=RepaymentMethod.INTEREST_FIRST, start_date=date(2024, 1, 30),
        first_due_date=date(2024, 2, 1),
    )  # fmt: skip
    schedule = generate_schedule(terms)
    assert schedule.total_interest == Money("13.28")
    apr = annual_percentage_rate(schedule)
    assert abs(apr.apr - Decimal("13.28") / 10000 * 365 / 2) < Decimal("1e-20")
    assert apr.apr > Decimal("0.24")


# -- penalty ---------------------------------------------------------------------------------


def test_a_penalty_rate_of_100_percent_is_refused() -> None:
    with pytest.raises(PenaltyAboveCap) as refused:
        RULES.check_product(product(penalty_rate=Decimal("1")), ON)
    assert refused.value.code == "penalty_above_cap"
    assert refused.value.problems[0].field == "penalty_rate"
    assert refused.value.limit == "24.00%"


def test_the_old_demo_cash_product_is_refused_and_the_catalogue_complies() -> None:
    """18 % + 27 % penalty on an overdue loan is 45 % a year; the catalogue now keeps every
    product's interest and penalty within the cap on its worst-case loan."""
    old = dict(DEMO_PRODUCTS[0], penalty_rate="0.27")
    with pytest.raises(PenaltyAboveCap):
        RULES.check_product(product_from_state(old), ON)
    for definition in DEMO_PRODUCTS:
        assert RULES.product_breaches(product_from_state(dict(definition)), ON) == []


def test_penalty_accrual_rate_is_lowered_to_the_room_left_by_the_apr() -> None:
    """A loan at an APR of 20 % (ACT/360) may accrue a penalty of at most 4 % a year over
    365 days, i.e. 4 % × 360/365 as the daily rate is rate/360."""
    allowed = RULES.penalty_rate_for(
        Decimal("0.20"), Decimal("0.27"), DayCount.ACT_360, "micro-lender", ON
    )
    assert allowed == Decimal("0.039452")  # 0.04 × 360 / 365, rounded down
    assert allowed * 365 / 360 + Decimal("0.20") <= Decimal("0.24")
    assert RULES.penalty_rate_for(
        Decimal("0.24"), Decimal("0.05"), DayCount.ACT_365, "micro-lender", ON
    ) == Decimal(0)


# -- pricing the APR, not the nominal rate -------------------------------------------------


def test_the_top_band_is_priced_so_every_offer_fits_the_cap() -> None:
    """0.2376 nominal on ACT/360 gives APRs of 23.6–24.4 %: priced for the product, the rate
    is lowered until its worst-case loan fits, and a draw at the line's rate fits too."""
    cash = product(penalty_rate=Decimal(0))
    price = price_for_band(Decimal("0.2376"), licence_type="micro-lender", on=ON, product=cash)
    assert price.capped and price.annual_rate < Decimal("0.2376")
    for periods in (3, 6, 12):
        for start in (date(2026, 1, 1), date(2026, 2, 1), date(2026, 7, 1)):
            offer = RULES.fit_offer(cash, Money("500"), periods, start, None, price.annual_rate)
            assert not offer.rate_lowered
            assert offer.apr.apr_for_cap <= Decimal("0.24")
    asked = RULES.fit_offer(cash, Money("500"), 3, date(2026, 7, 1), None, Decimal("0.2376"))
    assert asked.rate_lowered and asked.apr.apr_for_cap <= Decimal("0.24")


# -- bullet term ---------------------------------------------------------------------------


def test_a_bullet_product_over_12_months_is_refused() -> None:
    bullet = product(method="bullet", min_periods=1, max_periods=60, annual_rate=Decimal("0.10"))
    with pytest.raises(BulletTermTooLong) as refused:
        RULES.check_product(bullet, ON)
    assert refused.value.figure == "60 months"
    assert (
        RULES.product_breaches(
            product(method="bullet", min_periods=1, annual_rate=Decimal("0.10")), ON
        )
        == []
    )


def test_a_weekly_bullet_offer_past_12_months_is_refused_by_its_dates() -> None:
    weekly = product(
        method="bullet", frequency=Frequency(1, PeriodUnit.WEEKS), min_periods=1,
        max_periods=60, annual_rate=Decimal("0.10"), max_amount=Money("1000"),
    )  # fmt: skip
    RULES.fit_offer(weekly, Money("1000"), 52, ON)  # 364 days
    with pytest.raises(BulletTermTooLong):
        RULES.fit_offer(weekly, Money("1000"), 53, ON)


# -- per-borrower cap ------------------------------------------------------------------------


def test_a_product_lending_more_than_one_borrower_may_owe_is_refused() -> None:
    with pytest.raises(BorrowerCapExceeded) as refused:
        RULES.check_product(product(max_amount=Money("500000")), ON)
    assert refused.value.figure == "500000.00" and refused.value.limit == "200000.00"


def line(limit: str, *, expires: date, used: str = "0") -> CreditLine:
    return CreditLine(
        f"L-{limit}-{expires}", "B1", Money(limit), expires, date(2025, 1, 1), Money(used)
    )


def test_an_expired_line_with_loans_still_counts_towards_the_cap() -> None:
    """The borrower's line expired but 80 000 is still owed on it: a new line of 200 000
    would take the person to 280 000, above the cap; 120 000 fits."""
    expired = line("100000", expires=date(2025, 12, 31), used="80000")
    exposure = BorrowerExposure.of([expired], [Money("80000")], ON)
    assert exposure.unused_limits == Money(0)  # an expired line's unused limit is gone
    with pytest.raises(BorrowerCapExceeded):
        RULES.check_line_opening(exposure, Money("200000"), "micro-lender", ON)
    RULES.check_line_opening(exposure, Money("120000"), "micro-lender", ON)


def test_lines_of_every_account_of_one_person_add_up() -> None:
    """By identity: two open lines (one frozen) on two accounts of the same person."""
    lines = [line("100000", expires=date(2026, 12, 31), used="30000"),
             line("60000", expires=date(2026, 12, 31))]  # fmt: skip
    lines[1].freeze("overdue elsewhere")
    exposure = BorrowerExposure.of(lines, [Money("30000")], ON)
    assert exposure.total == Money("160000")
    with pytest.raises(BorrowerCapExceeded):
        RULES.check_line_opening(exposure, Money("50000"), "micro-lender", ON)
    RULES.check_line_opening(exposure, Money("40000"), "micro-lender", ON)


def test_a_draw_may_not_take_the_balance_above_the_cap() -> None:
    exposure = BorrowerExposure(Money("190000"), Money("50000"))
    RULES.check_draw(exposure, Money("10000"), "micro-lender", ON)
    with pytest.raises(BorrowerCapExceeded) as refused:
        RULES.check_draw(exposure, Money("10000.01"), "micro-lender", ON)
    assert refused.value.problems[0].field == "amount"


# -- joint lending ---------------------------------------------------------------------------


def test_joint_programmes_need_the_platforms_own_thirty_percent() -> None:
    two_banks = [ProgrammeShare("bank_a", Decimal("0.5")), ProgrammeShare("bank_b", Decimal("0.5"))]
    with pytest.raises(OwnShareTooSmall):
        RULES.check_joint_programme(two_banks, "micro-lender", ON)
    own_71 = [ProgrammeShare("own_pool", Decimal("0.71")), ProgrammeShare("bank", Decimal("0.29"))]
    RULES.check_joint_programme(own_71, "micro-lender", ON)
    stricter = Rulebook(settings=[Setting(Rule.JOINT_OWN_SHARE, Decimal("0.8"), "micro-lender",
                                          date(2026, 1, 1))])  # fmt: skip
    with pytest.raises(OwnShareTooSmall):
        stricter.check_joint_programme(own_71, "micro-lender", ON)
    stricter.check_joint_programme(own_71, "micro-lender", date(2025, 12, 31))


# -- cost-cap selection ----------------------------------------------------------------------


def test_a_later_general_cap_does_not_override_a_stricter_licence_cap() -> None:
    rules = Rulebook([
        CostCap(Decimal("0.36"), "*", date(2017, 1, 1)),
        CostCap(Decimal("0.154"), "micro-lender", date(2023, 1, 1)),
        CostCap(Decimal("0.24"), "*", date(2024, 1, 1)),
    ])  # fmt: skip
    assert rules.cap_for("micro-lender", date(2024, 6, 1)).limit == Decimal("0.154")
    assert rules.cap_for("bank", date(2024, 6, 1)).limit == Decimal("0.24")
    assert rules.cap_for("micro-lender", date(2022, 6, 1)).limit == Decimal("0.36")


def test_a_licence_specific_cap_ends_on_its_last_day() -> None:
    rules = Rulebook([
        CostCap(Decimal("0.24")),
        CostCap(Decimal("0.154"), "micro-lender", date(2023, 1, 1), date(2024, 12, 31)),
    ])  # fmt: skip
    assert rules.cap_for("micro-lender", date(2024, 12, 31)).limit == Decimal("0.154")
    assert rules.cap_for("micro-lender", date(2025, 1, 1)).limit == Decimal("0.24")


def test_four_times_lpr_for_one_licence_type() -> None:
    """4 × the one-year LPR in force: 3.45 % from Aug 2023 gives 13.8 %, 3.10 % from
    Oct 2024 gives 12.4 %; other licence types keep the general 24 %."""
    lpr = LprTable([(date(2023, 8, 21), Decimal("0.0345")), (date(2024, 10, 21), Decimal("0.031"))])
    rules = Rulebook(
        [CostCap(Decimal("0.24")), LprCap(Decimal(4), "pawn", date(2023, 1, 1))], lpr=lpr
    )
    assert rules.cap_for("pawn", date(2024, 1, 1)).limit == Decimal("0.1380")
    october = rules.cap_for("pawn", date(2024, 11, 1))
    assert october.limit == Decimal("0.124")
    assert "LPR" in october.basis and october.effective_from == date(2024, 10, 21)
    assert rules.cap_for("micro-lender", date(2024, 11, 1)).limit == Decimal("0.24")
    with pytest.raises(NoCostCap):
        rules.cap_for("pawn", date(2023, 5, 1))  # no LPR published yet in the table


def test_rules_read_from_configuration() -> None:
    rules = Rulebook.from_config({
        "cost_caps": [{"limit": "0.24"}, {"lpr_multiple": "4", "licence_type": "pawn"}],
        "lpr": [["2024-10-21", "0.031"]],
        "rules": [{"rule": "borrower_cap", "value": "300000", "licence_type": "bank",
                   "effective_from": "2025-01-01"}],
    })  # fmt: skip
    assert rules.cap_for("pawn", ON).limit == Decimal("0.124")
    assert rules.borrower_cap("bank", ON) == Money("300000")
    assert rules.borrower_cap("micro-lender", ON) == Money("200000")


# -- who lends, who borrows, what is paid out ------------------------------------------------


def funder(**overrides: object) -> Funder:
    fields: dict[str, object] = {
        "code": "bank_a", "name": "A 银行", "kind": FunderKind.BANK, "licence_no": "B001",
        "whitelist_status": WhitelistStatus.WHITELISTED, "whitelisted_from": date(2025, 1, 1),
    }  # fmt: skip
    fields.update(overrides)
    return Funder(**fields)  # type: ignore[arg-type]


def test_partners_must_be_licensed_whitelisted_institutions() -> None:
    RULES.check_partner(funder(), "micro-lender", ON)
    for broken in (
        funder(whitelist_status=WhitelistStatus.SUSPENDED),
        funder(whitelisted_until=date(2025, 12, 31)),
        funder(licence_no=" "),
    ):
        with pytest.raises(PartnerNotAllowed):
            RULES.check_partner(broken, "micro-lender", ON)
    banks_only = Rulebook(settings=[Setting(Rule.PARTNER_WHITELIST, frozenset({"bank"}))])
    with pytest.raises(PartnerNotAllowed):
        banks_only.check_partner(funder(kind=FunderKind.MICRO_LENDER), "micro-lender", ON)


def test_no_fee_may_be_payable_to_a_platform_operator() -> None:
    platform_fee = FeeRule(FeeKind.PER_INSTALLMENT, rate=Decimal("0.0001"), payee="platform")
    with pytest.raises(PlatformFeeForbidden) as refused:
        RULES.check_product(product(fees=(platform_fee,)), ON)
    assert refused.value.problems[0].field == "fees[0].payee"


def test_nothing_may_be_deducted_from_the_payout() -> None:
    RULES.check_payout(Money("10000"), Money("10000"))
    with pytest.raises(UpfrontDeduction):
        RULES.check_payout(Money("10000"), Money("9800"))


def test_no_lending_to_students_or_under_18s() -> None:
    RULES.check_borrower(date(2000, 1, 15), False, "micro-lender", ON)
    with pytest.raises(BorrowerNotEligible) as minor:
        RULES.check_borrower(date(2008, 1, 16), False, "micro-lender", ON)  # 17 until tomorrow
    assert minor.value.rule is Rule.MINIMUM_AGE
    with pytest.raises(BorrowerNotEligible) as student:
        RULES.check_borrower(date(2000, 1, 15), True, "micro-lender", ON)
    assert student.value.rule is Rule.STUDENT


# -- one vocabulary --------------------------------------------------------------------------


def test_every_breach_names_its_rule_field_figure_and_limit_in_both_languages() -> None:
    bad = product(max_amount=Money("500000"), penalty_rate=Decimal("1"),
                  fees=(FeeRule(FeeKind.UPFRONT, amount=Money("1"), payee="platform"),))  # fmt: skip
    breaches = RULES.product_breaches(bad, ON)
    assert [b.rule for b in breaches] == [Rule.PENALTY_CAP, Rule.BORROWER_CAP, Rule.PLATFORM_FEE]
    for breach in breaches:
        assert breach.subject == "cash"
        assert " / " in breach.message and breach.figure and breach.limit
        report = breach.to_dict()
        assert report["rule"] == breach.rule.value and report["rule_name_zh"]
    with pytest.raises(ComplianceViolation) as refused:
        RULES.check_product(bad, ON)
    assert len(refused.value.problems) == 3
