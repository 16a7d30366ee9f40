"""Use cases: the funder registry, and routing a loan to the funder(s) that fund it.

Routing weighs every funding programme for the loan (``domain.funding.fit_programme``),
orders those that fit by the configured strategy, and reserves the chosen funders'
quota under a row lock at the commit — re-checking the fit, since another loan may have
taken the last of a quota meanwhile. Every decision is written to the routing log with the
reasons for the choice and for each programme passed over.

Strategies:

* ``priority`` — the programme with the lowest priority number;
* ``cheapest`` — the lowest blended cost of funds among those with capacity;
* ``round_robin`` — the programme furthest below its share (weight) of loans routed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from mobilend.app.funding.ports import (
    FundingSettings,
    FundingStores,
    RoutingRecord,
    Strategy,
)
from mobilend.app.unit_of_work import UnitOfWork, UnitOfWorkFactory
from mobilend.domain.compliance import ANY_LICENCE, CostCapPolicy
from mobilend.domain.errors import (
    ChangedMeanwhile,
    Conflict,
    NotFound,
    Problem,
    ValidationFailed,
)
from mobilend.domain.funding import (
    OWN_POOL,
    Funder,
    FunderPosition,
    FundingRequest,
    Programme,
    ProgrammeFit,
    Tranche,
    default_own_pool,
    fit_programme,
    single_funder_programme,
)
from mobilend.domain.money import Money


class NoFunderAvailable(Conflict):
    code = "no_funder_available"


class FundingChanged(ChangedMeanwhile):
    """The chosen programme no longer fits at the commit: another loan took the last of a
    funder's quota or balance meanwhile. Nothing was written; run again (``command`` and
    the journey's ``run_once`` do), the request is routed on the new positions."""

    code = "funding_changed"

    def __init__(self, programme_code: str, problems: dict[str, list[str]]) -> None:
        message = "资金方额度刚刚发生变化，请重试 (a funder's capacity changed meanwhile; please try again)"
        super().__init__(
            message,
            [Problem(code, "; ".join(reasons)) for code, reasons in problems.items()]
            or [Problem(programme_code, message)],
        )
        self.programme_code = programme_code


# --------------------------------------------------------------------------- registry


def register_funder(
    uow_factory: UnitOfWorkFactory, funder: Funder, *, single_programme: bool = True
) -> Funder:
    """Add a funder; unless it only lends jointly, also a programme of its own."""
    with uow_factory() as uow:
        stores = uow.funding
        stores.funders.add(funder)
        if single_programme:
            stores.funders.add_programme(single_funder_programme(funder))
        uow.commit()
    return funder


def update_funder(uow_factory: UnitOfWorkFactory, funder: Funder) -> Funder:
    """Replace a funder's registry entry (whitelist dates, quotas, limits…)."""
    with uow_factory() as uow:
        stores = uow.funding
        stores.funders.get(funder.code)
        stores.funders.save(funder)
        uow.commit()
    return funder


def add_programme(
    uow_factory: UnitOfWorkFactory,
    programme: Programme,
    *,
    rules: CostCapPolicy | None = None,
    on: dt.date | None = None,
) -> Programme:
    """A funding programme over registered funders. Its shares are checked by the domain
    (the default own share) and, given ``rules`` and ``on``, against the joint-lending
    rule in force for every licence type the catalogue lends under
    (``OwnShareTooSmall``)."""
    with uow_factory() as uow:
        stores = uow.funding
        known = {f.code for f in _funders(stores)}
        unknown = [code for code in programme.funder_codes if code not in known]
        if unknown:
            raise ValidationFailed([Problem("shares", f"unknown funders: {', '.join(unknown)}")])
        if rules is not None and on is not None:
            licences = {p.licence_type for p in uow.lending.products.list()} or {ANY_LICENCE}
            for licence in sorted(licences):
                rules.check_joint_programme(programme.shares, licence, on)
        stores.funders.add_programme(programme)
        uow.commit()
    return programme


def configure_funding(
    uow_factory: UnitOfWorkFactory,
    *,
    strategy: str | None = None,
    joint_balance_limit: Money | None = None,
    clear_joint_balance_limit: bool = False,
    approval_timeout_s: int | None = None,
) -> FundingSettings:
    if strategy is not None and strategy not in Strategy.ALL:
        raise ValidationFailed([Problem("strategy", f"one of {', '.join(Strategy.ALL)}")])
    if approval_timeout_s is not None and approval_timeout_s < 1:
        raise ValidationFailed([Problem("approval_timeout_s", "must be at least 1")])
    with uow_factory() as uow:
        stores = uow.funding
        current = stores.funders.settings()
        updated = replace(
            current,
            strategy=strategy or current.strategy,
            joint_balance_limit=None
            if clear_joint_balance_limit
            else (joint_balance_limit or current.joint_balance_limit),
            approval_timeout_s=approval_timeout_s or current.approval_timeout_s,
        )
        stores.funders.save_settings(updated)
        uow.commit()
    return updated


@dataclass(frozen=True, slots=True)
class FunderView:
    funder: Funder
    position: FunderPosition
    whitelist_problem: str


def list_funders(
    uow_factory: UnitOfWorkFactory, on: dt.date, currency: str = "CNY"
) -> list[FunderView]:
    """Every funder (the own pool included) with its position on ``on``."""
    with uow_factory() as uow:
        stores = uow.funding
        funders = _funders(stores, currency)
        positions = stores.positions.get([f.code for f in funders], on, currency)
        return [
            FunderView(
                f,
                positions.get(f.code) or FunderPosition.empty(f.code, currency),
                f.whitelist_problem(on),
            )
            for f in funders
        ]


def list_programmes(uow_factory: UnitOfWorkFactory) -> list[Programme]:
    with uow_factory() as uow:
        return _programmes(uow.funding, _funders(uow.funding))


def _funders(stores: FundingStores, currency: str = "CNY") -> list[Funder]:
    funders = stores.funders.list()
    if not any(f.code == OWN_POOL for f in funders):
        funders.append(default_own_pool(currency))
    return sorted(funders, key=lambda f: (f.priority, f.code))


def _programmes(stores: FundingStores, funders: Sequence[Funder]) -> list[Programme]:
    programmes = stores.funders.programmes()
    if not any(p.funder_codes == (OWN_POOL,) for p in programmes):
        own = next(f for f in funders if f.code == OWN_POOL)
        programmes.append(single_funder_programme(own))
    return programmes


# --------------------------------------------------------------------------- strategies


def order_fits(
    strategy: str, fits: Iterable[ProgrammeFit], routed_counts: dict[str, int]
) -> list[ProgrammeFit]:
    """The programmes that fit, best first under ``strategy``."""
    fitting = [f for f in fits if f.fits]
    if strategy == Strategy.CHEAPEST:
        return sorted(
            fitting, key=lambda f: (f.blended_cost, f.programme.priority, f.programme.code)
        )
    if strategy == Strategy.ROUND_ROBIN:
        return sorted(
            fitting,
            key=lambda f: (
                Decimal(routed_counts.get(f.programme.code, 0)) / f.programme.weight,
                f.programme.priority,
                f.programme.code,
            ),
        )
    return sorted(fitting, key=lambda f: (f.programme.priority, f.programme.code))


def why_chosen(strategy: str, fit: ProgrammeFit, routed_counts: dict[str, int]) -> str:
    programme = fit.programme
    if strategy == Strategy.CHEAPEST:
        return f"lowest blended cost of funds with capacity: {fit.blended_cost:.4%}"
    if strategy == Strategy.ROUND_ROBIN:
        return (
            f"furthest below its share: {routed_counts.get(programme.code, 0)} loans "
            f"routed at weight {programme.weight}"
        )
    return f"highest priority with capacity: priority {programme.priority}"


@dataclass(frozen=True, slots=True)
class RoutingChoice:
    programme: Programme | None
    tranches: tuple[Tranche, ...]
    record: RoutingRecord


def route_loan(
    uow: UnitOfWork,
    new_id: Callable[[], str],
    request: FundingRequest,
    *,
    loan_id: str,
    borrower_id: str,
    attempt: int = 1,
    excluded: Iterable[str] = (),
    context: dict[str, object] | None = None,
    rules: CostCapPolicy | None = None,
    licence_type: str = ANY_LICENCE,
) -> RoutingChoice:
    """Choose the funding of one loan and log why. Call inside a unit of work.

    The choice is made on the funders' positions as read; the reservation is left to the
    commit (``UnitOfWork.before_commit``), which locks the chosen funders' rows, weighs
    the programme again on what is then certain and counts the loan — or refuses with
    ``FundingChanged`` (everything rolls back; running the request again routes afresh).
    Nearly every new loan writes the same few funder rows, so their locks are held for
    the commit alone, not for the rest of the draw.

    With ``rules``, a programme also fits only if the compliance rules in force on the
    loan's date allow it: every partner licensed, of an allowed kind and whitelisted
    (``partner_whitelist``), the own share of a joint programme at least the minimum
    (``joint_own_share``).

    Returns a choice with no programme when nothing can take the loan (also logged)."""
    stores = uow.funding
    settings = stores.funders.settings()
    currency = request.amount.currency
    funders = _funders(stores, currency)
    by_code = {f.code: f for f in funders}
    programmes = _programmes(stores, funders)
    excluded_codes = tuple(sorted(set(excluded)))
    joint_outstanding = stores.positions.joint_outstanding(currency)
    counts = stores.positions.programme_counts()

    def weigh(programme: Programme, positions: dict[str, FunderPosition]) -> ProgrammeFit:
        fit = fit_programme(
            programme,
            by_code,
            positions,
            request,
            excluded=excluded_codes,
            joint_outstanding=joint_outstanding,
            joint_limit=settings.joint_balance_limit,
        )
        if rules is None:
            return fit
        return _within_rules(fit, rules, by_code, licence_type, request.on)

    positions = stores.positions.get(list(by_code), request.on, currency)
    fits = [weigh(p, positions) for p in programmes]
    considered = {
        f.programme.code: {
            "fits": f.fits,
            "problems": f.reasons(),
            "blended_cost": str(f.blended_cost),
            "priority": f.programme.priority,
            "joint": f.programme.is_joint,
        }
        for f in fits
    }
    chosen = next(iter(order_fits(settings.strategy, fits, counts)), None)
    why = (
        why_chosen(settings.strategy, chosen, counts)
        if chosen is not None
        else "no programme has a funder able to take this loan"
    )
    record = RoutingRecord(
        record_id=new_id(),
        loan_id=loan_id,
        borrower_id=borrower_id,
        attempt=attempt,
        strategy=settings.strategy,
        programme_code=chosen.programme.code if chosen else None,
        reasons={
            "why": why,
            "excluded": list(excluded_codes),
            "request": {
                "amount": request.amount.format(),
                "product_code": request.product_code,
                "score": request.score,
                "region_code": request.region_code,
                "on": request.on.isoformat(),
                **(context or {}),
            },
            "considered": considered,
        },
    )
    stores.routing.add(record)
    if chosen is None:
        return RoutingChoice(None, (), record)

    def reserve_at_commit() -> None:
        # The chosen funders' rows, locked in code order like every other transaction's,
        # and the programme weighed again on them: another loan may have taken the last
        # of a quota since they were read.
        codes = sorted(chosen.programme.funder_codes)
        locked = stores.positions.get(codes, request.on, currency, for_update=True)
        again = weigh(chosen.programme, {**positions, **locked})
        if not again.fits:
            raise FundingChanged(chosen.programme.code, again.reasons())
        reserve(stores, chosen, request.on)

    uow.before_commit(reserve_at_commit)
    return RoutingChoice(chosen.programme, chosen.tranches, record)


def _within_rules(
    fit: ProgrammeFit,
    rules: CostCapPolicy,
    funders: dict[str, Funder],
    licence_type: str,
    on: dt.date,
) -> ProgrammeFit:
    """The fit with the compliance rules' objections added to its problems."""
    problems = {code: list(reasons) for code, reasons in fit.problems.items()}
    for code in fit.programme.funder_codes:
        funder = funders.get(code)
        if funder is None:
            continue
        for breach in rules.partner_breaches(funder, licence_type, on):
            problems.setdefault(code, []).append(f"{breach.rule.value}: {breach.figure}")
    for breach in rules.joint_breaches(fit.programme.shares, licence_type, on):
        problems.setdefault("programme", []).append(
            f"{breach.rule.value}: {breach.figure} < {breach.limit}"
        )
    if not problems:
        return fit
    return replace(fit, problems={code: tuple(r) for code, r in problems.items()})


def reserve(stores: FundingStores, fit: ProgrammeFit, on: dt.date) -> None:
    """Count the loan against its funders' quotas and balances, and its programme's tally."""
    for tranche in sorted(fit.tranches, key=lambda t: t.funder_code):
        stores.positions.change(
            tranche.funder_code, on, tranche.principal, tranche.principal, joint=tranche.joint
        )
    total = fit.tranches[0].principal
    for tranche in fit.tranches[1:]:
        total = total + tranche.principal
    stores.positions.count_programme(fit.programme, 1, total)


def release(stores: FundingStores, loan_id: str, routed_on: dt.date) -> list[Tranche]:
    """Give back the quota and balance a loan's live tranches took; mark them released."""
    tranches = stores.tranches.for_loan(loan_id)
    for tranche in sorted(tranches, key=lambda t: t.funder_code):
        stores.positions.change(
            tranche.funder_code, routed_on, -tranche.principal, -tranche.principal,
            joint=tranche.joint,
        )  # fmt: skip
    stores.tranches.release(loan_id)
    return tranches


def refresh_positions(uow_factory: UnitOfWorkFactory) -> dict[str, Money]:
    """Recompute every funder's outstanding balance from its open loans (daily: repayments
    lower it without touching the funder rows on the hot path)."""
    with uow_factory() as uow:
        balances = uow.funding.positions.refresh_outstanding()
        uow.commit()
    return balances


def routing_history(uow_factory: UnitOfWorkFactory, loan_id: str) -> list[RoutingRecord]:
    with uow_factory() as uow:
        records = uow.funding.routing.for_loan(loan_id)
    if not records:
        raise NotFound(f"no routing recorded for loan {loan_id}")
    return records
