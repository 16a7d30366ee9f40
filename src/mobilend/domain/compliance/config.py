"""The rules as configuration: dated entries per licence type, and which one is in force.

Every entry names a licence type (or ``"*"`` for every type) and the days it is in
force (``effective_from`` up to ``effective_until``, both included). On a date the
*most specific* entry in force wins: one for the licence type itself beats a
general one whatever their dates (a micro-lender cap of 15.4 % from 2023 stays in
force when a general 24 % arrives in 2024); among equally specific entries the
latest effective date wins, and on a full tie the later-listed entry.

A cost cap is a fixed APR (``CostCap``) or a multiple of the one-year Loan Prime
Rate in force on the date (``LprCap``, e.g. 4 × LPR), read from an ``LprTable``.
The other rules are ``Setting`` values; ``DEFAULT_SETTINGS`` holds the rules every
licence type starts with. ``RuleSettings.from_config`` reads the JSON-ready form.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from mobilend.domain.compliance.breaches import NoCostCap, Rule, percent
from mobilend.domain.errors import Problem, ValidationFailed
from mobilend.domain.money import Money, MoneyError

ANY_LICENCE = "*"
DEFAULT_COST_CAP = Decimal("0.24")
#: A platform's own share of every joint loan (CBIRC joint-lending rule).
DEFAULT_JOINT_OWN_SHARE = Decimal("0.30")
#: Payees that mark a fee as payable to a platform operator (助贷平台服务费).
DEFAULT_PLATFORM_PAYEES = frozenset({"platform", "platform_operator", "operator"})
#: Funder kinds a licensed lender may fund loans with (besides its own pool).
DEFAULT_PARTNER_KINDS = frozenset({"bank", "consumer_finance", "micro_lender"})

SettingValue = Decimal | int | bool | Money | frozenset[str]


def _in_force(effective_from: dt.date, until: dt.date | None, on: dt.date) -> bool:
    return effective_from <= on and (until is None or on <= until)


def _dates_problems(effective_from: object, until: object) -> list[Problem]:
    if not isinstance(effective_from, dt.date):
        return [Problem("effective_from", "须为日期 / must be a date")]
    if until is not None and (not isinstance(until, dt.date) or until < effective_from):
        return [Problem("effective_until", "须不早于生效日 / must not be before effective_from")]
    return []


@dataclass(frozen=True, slots=True)
class CostCap:
    """A fixed APR cap (as a fraction, e.g. ``Decimal("0.24")``)."""

    limit: Decimal
    licence_type: str = ANY_LICENCE
    effective_from: dt.date = dt.date.min
    effective_until: dt.date | None = None
    basis: str = ""  # how the limit was set, e.g. "4 × LPR 3.10% (2024-10-21)"

    def __post_init__(self) -> None:
        if not isinstance(self.limit, Decimal) or not self.limit.is_finite() or self.limit <= 0:
            raise ValueError("a cost cap limit must be a positive Decimal fraction")
        problems = _dates_problems(self.effective_from, self.effective_until)
        if problems:
            raise ValidationFailed(problems)


@dataclass(frozen=True, slots=True)
class LprCap:
    """A cap of ``multiple`` × the one-year LPR in force on the date."""

    multiple: Decimal
    licence_type: str = ANY_LICENCE
    effective_from: dt.date = dt.date.min
    effective_until: dt.date | None = None

    def __post_init__(self) -> None:
        if (
            not isinstance(self.multiple, Decimal)
            or not self.multiple.is_finite()
            or self.multiple <= 0
        ):
            raise ValueError("an LPR multiple must be a positive Decimal")
        problems = _dates_problems(self.effective_from, self.effective_until)
        if problems:
            raise ValidationFailed(problems)


@dataclass(frozen=True, slots=True)
class LprTable:
    """One-year Loan Prime Rates by publication date; the rate on a date is the latest
    published on or before it."""

    rates: tuple[tuple[dt.date, Decimal], ...]

    def __init__(self, rates: Iterable[tuple[dt.date, Decimal]]) -> None:
        ordered = tuple(sorted(rates))
        if any(not r.is_finite() or r <= 0 for _, r in ordered):
            raise ValueError("LPR rates must be positive Decimal fractions")
        object.__setattr__(self, "rates", ordered)

    def rate_on(self, on: dt.date) -> tuple[dt.date, Decimal]:
        published = [(day, rate) for day, rate in self.rates if day <= on]
        if not published:
            raise NoCostCap(
                f"{on} 之前没有公布的贷款市场报价利率 / no LPR was published on or before {on}"
            )
        return published[-1]


@dataclass(frozen=True, slots=True)
class Setting:
    """One dated value of a rule other than the cost cap.

    ``rule`` and the type of ``value``: ``BORROWER_CAP`` Money; ``BULLET_TERM`` int
    (months); ``JOINT_OWN_SHARE`` Decimal; ``PARTNER_WHITELIST`` frozenset of funder
    kinds allowed; ``PLATFORM_FEE`` frozenset of payees that may not be charged for;
    ``MINIMUM_AGE`` int (years); ``STUDENT`` bool (students may borrow).
    """

    rule: Rule
    value: SettingValue
    licence_type: str = ANY_LICENCE
    effective_from: dt.date = dt.date.min
    effective_until: dt.date | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "rule", Rule(self.rule))
        expected = _SETTING_TYPES.get(self.rule)
        problems = _dates_problems(self.effective_from, self.effective_until)
        if expected is None:
            problems.append(Problem("rule", f"{self.rule} is not a setting"))
        elif not isinstance(self.value, expected) or (
            isinstance(self.value, bool) and expected is not bool
        ):
            problems.append(Problem("value", f"{self.rule} takes a {expected.__name__}"))
        if problems:
            raise ValidationFailed(problems)


_SETTING_TYPES: dict[Rule, type] = {
    Rule.BORROWER_CAP: Money,
    Rule.BULLET_TERM: int,
    Rule.JOINT_OWN_SHARE: Decimal,
    Rule.PARTNER_WHITELIST: frozenset,
    Rule.PLATFORM_FEE: frozenset,
    Rule.MINIMUM_AGE: int,
    Rule.STUDENT: bool,
}

DEFAULT_SETTINGS: tuple[Setting, ...] = (
    Setting(Rule.BORROWER_CAP, Money("200000")),
    Setting(Rule.BULLET_TERM, 12),
    Setting(Rule.JOINT_OWN_SHARE, DEFAULT_JOINT_OWN_SHARE),
    Setting(Rule.PARTNER_WHITELIST, DEFAULT_PARTNER_KINDS),
    Setting(Rule.PLATFORM_FEE, DEFAULT_PLATFORM_PAYEES),
    Setting(Rule.MINIMUM_AGE, 18),
    Setting(Rule.STUDENT, False),
)


class _Dated(Protocol):
    @property
    def licence_type(self) -> str: ...

    @property
    def effective_from(self) -> dt.date: ...

    @property
    def effective_until(self) -> dt.date | None: ...


_Entry = TypeVar("_Entry", bound=_Dated)


def most_specific(entries: Sequence[_Entry], licence_type: str, on: dt.date) -> _Entry | None:
    """The entry in force on ``on`` for ``licence_type``: its own before a general one,
    then the latest effective date, then the later-listed."""
    ranked = [
        ((entry.licence_type != ANY_LICENCE, entry.effective_from, index), entry)
        for index, entry in enumerate(entries)
        if entry.licence_type in (licence_type, ANY_LICENCE)
        and _in_force(entry.effective_from, entry.effective_until, on)
    ]
    return max(ranked, key=lambda pair: pair[0])[1] if ranked else None


class RuleSettings:
    """Dated rules per licence type, and the value of each in force on a date."""

    def __init__(
        self,
        caps: Iterable[CostCap | LprCap] | None = None,
        *,
        settings: Iterable[Setting] = (),
        lpr: LprTable | None = None,
    ) -> None:
        self.caps: tuple[CostCap | LprCap, ...] = (
            (CostCap(DEFAULT_COST_CAP),) if caps is None else tuple(caps)
        )
        self.settings: tuple[Setting, ...] = (*DEFAULT_SETTINGS, *settings)
        self.lpr = lpr
        if self.lpr is None and any(isinstance(c, LprCap) for c in self.caps):
            raise ValueError("an LPR-based cap needs an LPR table")

    # -- the values in force ------------------------------------------------------
    def cap_for(self, licence_type: str, on: dt.date) -> CostCap:
        """The cost cap in force for ``licence_type`` on ``on`` (raises ``NoCostCap``)."""
        cap = most_specific(self.caps, licence_type, on)
        if cap is None:
            raise NoCostCap(
                f"{on} 没有适用于牌照类型 {licence_type} 的成本上限 / "
                f"no cost cap is configured for licence type {licence_type!r} on {on}"
            )
        if isinstance(cap, CostCap):
            return cap
        assert self.lpr is not None
        published, rate = self.lpr.rate_on(on)
        return CostCap(
            cap.multiple * rate,
            cap.licence_type,
            max(cap.effective_from, published),
            cap.effective_until,
            basis=f"{cap.multiple.normalize()} × LPR {percent(rate)} ({published})",
        )

    def _value(self, rule: Rule, licence_type: str, on: dt.date) -> SettingValue:
        found = most_specific([s for s in self.settings if s.rule is rule], licence_type, on)
        if found is None:  # the defaults run from date.min with no end, unless replaced
            raise NoCostCap(f"no {rule} rule is in force for {licence_type!r} on {on}")
        return found.value

    def borrower_cap(self, licence_type: str, on: dt.date) -> Money:
        value = self._value(Rule.BORROWER_CAP, licence_type, on)
        assert isinstance(value, Money)
        return value

    def bullet_term_months(self, licence_type: str, on: dt.date) -> int:
        value = self._value(Rule.BULLET_TERM, licence_type, on)
        assert isinstance(value, int)
        return value

    def joint_own_share(self, licence_type: str, on: dt.date) -> Decimal:
        value = self._value(Rule.JOINT_OWN_SHARE, licence_type, on)
        assert isinstance(value, Decimal)
        return value

    def partner_kinds(self, licence_type: str, on: dt.date) -> frozenset[str]:
        value = self._value(Rule.PARTNER_WHITELIST, licence_type, on)
        assert isinstance(value, frozenset)
        return value

    def platform_payees(self, licence_type: str, on: dt.date) -> frozenset[str]:
        value = self._value(Rule.PLATFORM_FEE, licence_type, on)
        assert isinstance(value, frozenset)
        return value

    def minimum_age(self, licence_type: str, on: dt.date) -> int:
        value = self._value(Rule.MINIMUM_AGE, licence_type, on)
        assert isinstance(value, int)
        return value

    def students_allowed(self, licence_type: str, on: dt.date) -> bool:
        value = self._value(Rule.STUDENT, licence_type, on)
        assert isinstance(value, bool)
        return value

    # -- configuration as plain values ----------------------------------------------
    @classmethod
    def config_kwargs(cls, config: Mapping[str, Any]) -> dict[str, Any]:
        """Constructor arguments from the JSON-ready form::

        {"cost_caps": [{"limit": "0.24"}, {"lpr_multiple": "4", "licence_type":
          "pawn", "effective_from": "2021-01-01"}],
         "lpr": [["2024-10-21", "0.031"]],
         "rules": [{"rule": "borrower_cap", "value": "300000", "licence_type":
          "consumer-finance", "effective_from": "2025-01-01"}]}
        """
        try:
            caps: list[CostCap | LprCap] = []
            for entry in config.get("cost_caps", ()):
                dates = _dated(entry)
                if "lpr_multiple" in entry:
                    caps.append(LprCap(Decimal(str(entry["lpr_multiple"])), **dates))
                else:
                    caps.append(CostCap(Decimal(str(entry["limit"])), **dates))
            lpr = None
            if config.get("lpr"):
                lpr = LprTable(
                    (dt.date.fromisoformat(str(day)), Decimal(str(rate)))
                    for day, rate in config["lpr"]
                )
            settings = [
                Setting(
                    Rule(str(entry["rule"])),
                    _setting_value(Rule(str(entry["rule"])), entry["value"]),
                    **_dated(entry),
                )
                for entry in config.get("rules", ())
            ]
        except (KeyError, TypeError, ValueError, ArithmeticError, MoneyError) as exc:
            raise ValidationFailed(
                [Problem("compliance", f"规则配置有误 / malformed rule configuration: {exc}")]
            ) from None
        return {"caps": caps or None, "settings": settings, "lpr": lpr}


def _dated(entry: Mapping[str, Any]) -> dict[str, Any]:
    until = entry.get("effective_until")
    return {
        "licence_type": str(entry.get("licence_type", ANY_LICENCE)),
        "effective_from": dt.date.fromisoformat(str(entry.get("effective_from", dt.date.min))),
        "effective_until": dt.date.fromisoformat(str(until)) if until else None,
    }


def _setting_value(rule: Rule, value: Any) -> SettingValue:
    kind = _SETTING_TYPES.get(rule)
    if kind is Money:
        return Money(str(value))
    if kind is Decimal:
        return Decimal(str(value))
    if kind is int:
        return int(value)
    if kind is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{rule} takes true or false")
        return value
    if kind is frozenset:
        return frozenset(str(v) for v in value)
    raise ValueError(f"{rule} is not a setting")
