"""Funding within the compliance rules: a joint programme's own share at registration and
at routing, and partners the rules in force do not allow passed over at routing."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest
from tests.app.test_disbursement import World, partner_bank, world  # noqa: F401  (fixture)
from tests.lending_scenarios import OPENED_ON

from mobilend.app.funding.routing import add_programme, register_funder, routing_history
from mobilend.domain.compliance import CostCapPolicy, OwnShareTooSmall, Rule, Setting
from mobilend.domain.funding import OWN_POOL, FunderKind, Programme, ProgrammeShare

FORTY_PERCENT = CostCapPolicy(
    settings=[Setting(Rule.JOINT_OWN_SHARE, Decimal("0.40"), effective_from=OPENED_ON)]
)


def joint(own: str, code: str = "jl") -> Programme:
    rest = str(Decimal(1) - Decimal(own))
    return Programme(
        code,
        code,
        (ProgrammeShare(OWN_POOL, Decimal(own)), ProgrammeShare("bank_b", Decimal(rest))),
        5,
    )


def test_a_programme_below_the_own_share_in_force_is_refused(world: World) -> None:  # noqa: F811
    register_funder(world.lending.uow_factory, partner_bank("bank_b"), single_programme=False)
    with pytest.raises(OwnShareTooSmall) as refused:
        add_programme(world.lending.uow_factory, joint("0.35"), rules=FORTY_PERCENT, on=OPENED_ON)
    assert (refused.value.rule, refused.value.figure, refused.value.limit) == (
        "joint_own_share", "35.00%", "40.00%",
    )  # fmt: skip
    # The day before the rule, 35 % was enough.
    before = OPENED_ON - dt.timedelta(days=1)
    add_programme(world.lending.uow_factory, joint("0.35"), rules=FORTY_PERCENT, on=before)


def test_routing_passes_over_a_joint_programme_the_rules_now_forbid(world: World) -> None:  # noqa: F811
    register_funder(
        world.lending.uow_factory,
        partner_bank("bank_b", requires_approval=False, priority=1),
        single_programme=False,
    )
    add_programme(world.lending.uow_factory, joint("0.35"))  # fine under the default 30 %
    world.lending = dataclasses.replace(world.lending, cost_caps=FORTY_PERCENT)
    drawn = world.draw()
    assert [t.funder_code for t in drawn.tranches] == [OWN_POOL]
    record = routing_history(world.lending.uow_factory, drawn.loan.loan_id)[0]
    assert any(
        "joint_own_share" in p for p in record.reasons["considered"]["jl"]["problems"]["programme"]
    )


def test_routing_passes_over_a_partner_of_a_kind_the_rules_do_not_allow(world: World) -> None:  # noqa: F811
    cfc = partner_bank(
        "cfc_a", kind=FunderKind.CONSUMER_FINANCE, requires_approval=False, priority=1
    )
    register_funder(world.lending.uow_factory, cfc)
    banks_only = CostCapPolicy(
        settings=[Setting(Rule.PARTNER_WHITELIST, frozenset({"bank"}), effective_from=OPENED_ON)]
    )
    allowed = world.draw(borrower="b-before")  # default rules: a consumer-finance company may fund
    assert [t.funder_code for t in allowed.tranches] == ["cfc_a"]
    world.lending = dataclasses.replace(world.lending, cost_caps=banks_only)
    drawn = world.draw(borrower="b-after")
    assert [t.funder_code for t in drawn.tranches] == [OWN_POOL]
    record = routing_history(world.lending.uow_factory, drawn.loan.loan_id)[0]
    problems = record.reasons["considered"]["cfc_a"]["problems"]["cfc_a"]
    assert any(p.startswith(Rule.PARTNER_WHITELIST.value) for p in problems)
