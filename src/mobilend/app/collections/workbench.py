"""What the collections workbench shows besides the case itself: what the conduct gate
would allow this agent now (each channel, with the rules that would refuse it), and the
manager's view of the book (agents' and agencies' load).

The preview only reads: the gate still decides when a contact is asked for (the daily
caps are taken atomically there; here they are counted from this case's own log).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from mobilend.app.collections.desk import CollectionsDesk
from mobilend.app.collections.ports import LENDER, AgencyRecord, AgentLoad, BorrowerReach
from mobilend.app.collections.templates import live_templates
from mobilend.domain.collections_conduct import (
    Channel,
    ConductRule,
    Party,
    ProposedContact,
    check_contact,
)


@dataclass(frozen=True, slots=True)
class ChannelPreview:
    channel: Channel
    template: str  # the approved template for the borrower on this channel
    rules: tuple[ConductRule, ...]  # empty: the gate would let it through now

    @property
    def allowed(self) -> bool:
        return not self.rules


def conduct_preview(
    desk: CollectionsDesk,
    reach: BorrowerReach,
    case_id: str,
    *,
    agent_id: str,
    supervisor: bool,
    now: dt.datetime,
) -> list[ChannelPreview]:
    """Each channel to the borrower, as the gate would judge it for this agent now."""
    policy = desk.settings.conduct
    with desk.uow_factory() as uow:
        templates = live_templates(uow)  # what the gate speaks with now, not the shipped file
        case = uow.collections.cases.get(case_id)
        paused = case.paused or bool(uow.collections.complaints.open_for_borrower(case.borrower_id))
        agent = uow.collections.agents.agent(agent_id)
        contacts = uow.collections.contacts.for_case(case_id)
    if supervisor and (agent is None or agent.team == LENDER):
        assigned = case.team == LENDER or case.placement.value == "legal"
    else:
        assigned = (
            agent is not None
            and agent.active
            and agent.team == case.team
            and case.agent_id == agent.agent_id
        )
    where = reach.reach(case.borrower_id)
    local = now.astimezone(ZoneInfo(where.time_zone or desk.settings.default_time_zone))
    today = [c for c in contacts if c.local_day == local.date() and c.allowed]
    calls = sum(1 for c in today if c.counted_call)
    messages = sum(1 for c in today if c.channel in (Channel.SMS, Channel.PUSH))
    previews = []
    for channel in (Channel.CALL, Channel.SMS, Channel.PUSH, Channel.VISIT):
        template = next(
            (
                t
                for t in templates.values()
                if channel in t.channels and Party.BORROWER in t.parties
            ),
            None,
        )
        recipient = {
            Channel.CALL: where.phone,
            Channel.SMS: where.phone,
            Channel.PUSH: where.push_token,
            Channel.VISIT: "visit",
        }[channel]
        rules = check_contact(
            ProposedContact(
                channel=channel,
                party=Party.BORROWER,
                local_time=local.time(),
                text="",
                template=template,
                case_open=case.is_open,
                case_paused=paused,
                assigned=assigned,
                has_recipient=bool(recipient),
                call_cap_reached=channel is Channel.CALL and calls >= policy.max_connected_calls,
                message_cap_reached=channel in (Channel.SMS, Channel.PUSH)
                and messages >= policy.max_messages,
            ),
            policy,
        )
        previews.append(ChannelPreview(channel, template.code if template else "", tuple(rules)))
    return previews


@dataclass(frozen=True, slots=True)
class TeamLoads:
    agents: list[AgentLoad]  # the lender's own agents
    agencies: list[tuple[AgencyRecord, int]]  # each agency with its open cases


def team_loads(desk: CollectionsDesk) -> TeamLoads:
    with desk.uow_factory() as uow:
        agents = uow.collections.agents.loads(LENDER)
        agencies = uow.collections.agents.agencies()
        loads = uow.collections.agents.agency_loads()
    return TeamLoads(agents, [(a, loads.get(a.code, 0)) for a in agencies])
