"""``Rulebook``: every regulatory rule, effective-dated per licence type, and the one
place each use case asks before it acts.

Each rule has a ``*_breaches`` method that lists what is broken (for reports) and a
``check_*`` method that raises the ``RuleBroken`` subclass of the first breach
(codes ``apr_above_cap``, ``penalty_above_cap``, ``borrower_cap_exceeded``…):

==================  ===============================================================
product creation    ``check_product(product, on)``
line opening        ``check_line_opening(exposure, limit, licence_type, on)``
                    (and ``check_borrower(birth_date, is_student, licence_type, on)``)
pricing a line      ``max_rate(product, on, up_to=band_rate)``
offer and draw      ``fit_offer(product, amount, periods, on, first_due, rate)`` then,
                    at the draw, ``check_draw(exposure, amount, licence_type, on)``
                    and ``check_payout(principal, paid_out)``
penalty accrual     ``penalty_rate_for(apr, penalty_rate, day_count, licence_type, on)``
funding             ``check_joint_programme(shares, licence_type, on)``,
                    ``check_partner(funder, licence_type, on)``
==================  ===============================================================
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from mobilend.domain.apr import AprResult
from mobilend.domain.compliance import offers, parties, products
from mobilend.domain.compliance.breaches import AprAboveCap, Breach, refuse_if_any
from mobilend.domain.compliance.config import CostCap, LprCap, LprTable, RuleSettings, Setting
from mobilend.domain.compliance.offers import PricedOffer
from mobilend.domain.compliance.parties import BorrowerExposure, FundingShare
from mobilend.domain.compliance.products import ProductCostCheck
from mobilend.domain.daycount import DayCount
from mobilend.domain.funders import OWN_POOL, Funder
from mobilend.domain.money import Money
from mobilend.domain.products import LoanProduct
from mobilend.domain.schedules import Schedule

#: The version of the rules built into the code (``Rulebook()``).
DEFAULT_VERSION = "default"


class Rulebook(RuleSettings):
    """The rules in force, and every check on them. ``Rulebook()`` holds the defaults:
    a 24 % cost cap, a 200 000 per-borrower cap, bullet loans up to 12 months, a 30 %
    own share of joint loans, licensed whitelisted partners, no platform-operator
    fees, no lending to students or under-18s."""

    def __init__(
        self,
        caps: Iterable[CostCap | LprCap] | None = None,
        *,
        settings: Iterable[Setting] = (),
        lpr: LprTable | None = None,
        version: str = DEFAULT_VERSION,
    ) -> None:
        super().__init__(caps, settings=settings, lpr=lpr)
        #: Which rules these are: ``default``, or a digest of the configuration they were
        #: read from. Decision records and priced loans name it, so a figure can be traced
        #: to the rules it was checked against.
        self.version = version
        self._ceilings: dict[tuple[LoanProduct, dt.date], Decimal] = {}
        self._start_ceilings: dict[tuple[LoanProduct, CostCap, dt.date], Decimal] = {}

    @classmethod
    def from_config(cls, config: Mapping[str, Any], version: str | None = None) -> Rulebook:
        """From the JSON-ready form (see ``RuleSettings.config_kwargs``); the version is
        ``rules-`` and the first 12 hex digits of the SHA-256 of its canonical JSON
        unless given."""
        if version is None:
            canonical = json.dumps(config, sort_keys=True, ensure_ascii=False, default=str)
            version = "rules-" + hashlib.sha256(canonical.encode()).hexdigest()[:12]
        return cls(**cls.config_kwargs(config), version=version)

    # -- cost cap -------------------------------------------------------------------
    def check_offer(self, apr: Decimal | AprResult, licence_type: str, on: dt.date) -> CostCap:
        """Refuse an APR above the cap in force; return the cap that was applied. An
        ``AprResult`` is judged on ``apr_for_cap`` (the higher of its two figures)."""
        cap = self.cap_for(licence_type, on)
        figure = apr.apr_for_cap if isinstance(apr, AprResult) else apr
        if figure > cap.limit:
            raise AprAboveCap([products.cost_breach(figure, cap, licence_type)])
        return cap

    # -- products -------------------------------------------------------------------
    def product_breaches(
        self, product: LoanProduct, on: dt.date, start_dates: Sequence[dt.date] | None = None
    ) -> list[Breach]:
        return products.product_breaches(self, product, on, start_dates)[0]

    def check_product(
        self, product: LoanProduct, on: dt.date, start_dates: Sequence[dt.date] | None = None
    ) -> ProductCostCheck:
        """Refuse a product breaking any rule in force on ``on``; its worst-case APR
        (every amount, term and start month) must fit the cost cap, its penalty too."""
        breaches, check = products.product_breaches(self, product, on, start_dates)
        refuse_if_any(breaches)
        return check

    # -- pricing and offers ------------------------------------------------------------
    def max_rate(self, product: LoanProduct, on: dt.date, up_to: Decimal | None = None) -> Decimal:
        """The highest rate ≤ ``up_to`` (default: the cap itself) at which every loan of
        the product fits the cap in force on ``on``. The ceiling is found once per
        product and date (the APR rises with the rate, so any rate below it fits).

        The loans weighed start on ``on`` or on the first of each of the next twelve
        months; since the APR rises with the rate, the ceiling over all of them is the
        lowest of each start's own ceiling, and a start's ceiling (under the same cap)
        never changes — so each is worked out once, and a new business date costs one
        new start, not thirteen."""
        key = (product, on)
        if key not in self._ceilings:
            cap = self.cap_for(product.licence_type, on)
            self._ceilings[key] = min(
                self._start_ceiling(product, cap, on, start)
                for start in products.candidate_starts(product.frequency, on)
            )
        ceiling = self._ceilings[key]
        return ceiling if up_to is None else min(up_to, ceiling)

    def _start_ceiling(
        self, product: LoanProduct, cap: CostCap, on: dt.date, start: dt.date
    ) -> Decimal:
        key = (product, cap, start)
        if key not in self._start_ceilings:
            self._start_ceilings[key] = offers.max_product_rate(
                self, product, on, cap.limit, start_dates=[start]
            )
        return self._start_ceilings[key]

    def fit_offer(
        self,
        product: LoanProduct,
        principal: Money,
        periods: int,
        on: dt.date,
        first_due: dt.date | None = None,
        annual_rate: Decimal | None = None,
        *,
        with_xirr: bool = True,
    ) -> PricedOffer:
        """The offer for a draw on ``on``: the rate lowered as far as the cap needs, the
        penalty rate too (see ``offers.fit_offer``)."""
        return offers.fit_offer(
            self, product, principal, periods, on, first_due, annual_rate, with_xirr=with_xirr
        )

    def penalty_rate_for(
        self,
        apr: Decimal | AprResult,
        penalty_rate: Decimal,
        day_count: DayCount,
        licence_type: str,
        on: dt.date,
    ) -> Decimal:
        """The penalty rate a loan of this APR may accrue on ``on``: its own, lowered
        so that APR + penalty stay within the cap in force."""
        figure = apr.apr_for_cap if isinstance(apr, AprResult) else apr
        cap = self.cap_for(licence_type, on)
        return min(penalty_rate, products.penalty_ceiling(figure, cap.limit, day_count))

    def loan_breaches(
        self,
        licence_type: str,
        schedule: Schedule,
        penalty_rate: Decimal,
        on: dt.date,
        apr: AprResult | None = None,
    ) -> list[Breach]:
        return offers.loan_breaches(self, licence_type, schedule, penalty_rate, on, apr)

    # -- borrowers ----------------------------------------------------------------------
    def line_opening_breaches(
        self, exposure: BorrowerExposure, limit: Money, licence_type: str, on: dt.date
    ) -> list[Breach]:
        return parties.line_opening_breaches(self, exposure, limit, licence_type, on)

    def check_line_opening(
        self, exposure: BorrowerExposure, limit: Money, licence_type: str, on: dt.date
    ) -> None:
        refuse_if_any(self.line_opening_breaches(exposure, limit, licence_type, on))

    def draw_breaches(
        self, exposure: BorrowerExposure, amount: Money, licence_type: str, on: dt.date
    ) -> list[Breach]:
        return parties.draw_breaches(self, exposure, amount, licence_type, on)

    def check_draw(
        self, exposure: BorrowerExposure, amount: Money, licence_type: str, on: dt.date
    ) -> None:
        refuse_if_any(self.draw_breaches(exposure, amount, licence_type, on))

    def borrower_breaches(
        self, birth_date: dt.date, is_student: bool, licence_type: str, on: dt.date
    ) -> list[Breach]:
        return parties.borrower_breaches(self, birth_date, is_student, licence_type, on)

    def check_borrower(
        self, birth_date: dt.date, is_student: bool, licence_type: str, on: dt.date
    ) -> None:
        refuse_if_any(self.borrower_breaches(birth_date, is_student, licence_type, on))

    def check_payout(self, principal: Money, paid_out: Money) -> None:
        refuse_if_any(parties.payout_breaches(principal, paid_out))

    # -- funding ----------------------------------------------------------------------
    def joint_breaches(
        self,
        shares: Sequence[FundingShare],
        licence_type: str,
        on: dt.date,
        own_codes: Iterable[str] = (OWN_POOL,),
    ) -> list[Breach]:
        return parties.joint_breaches(self, shares, licence_type, on, own_codes)

    def check_joint_programme(
        self,
        shares: Sequence[FundingShare],
        licence_type: str,
        on: dt.date,
        own_codes: Iterable[str] = (OWN_POOL,),
    ) -> None:
        refuse_if_any(self.joint_breaches(shares, licence_type, on, own_codes))

    def partner_breaches(self, funder: Funder, licence_type: str, on: dt.date) -> list[Breach]:
        return parties.partner_breaches(self, funder, licence_type, on)

    def check_partner(self, funder: Funder, licence_type: str, on: dt.date) -> None:
        refuse_if_any(self.partner_breaches(funder, licence_type, on))


#: The name the use cases know the rulebook by.
CostCapPolicy = Rulebook
