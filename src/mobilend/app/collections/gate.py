"""The conduct gate: the only code path that calls, messages or visits a borrower (or a
contact person they listed) about a debt.

``ConductGate.contact(request)``:

1. reads the case, the borrower's open complaints, where the borrower is (time zone) and
   the approved template; renders the text actually to be said or sent;
2. asks ``domain.collections_conduct.check_contact`` for every rule broken;
3. when none is broken, takes the borrower's per-day slot for calls or messages —
   atomically across the lender and every agency, so 30 agents dialling at once cannot
   pass the cap — and logs the attempt; the transaction commits before anything leaves;
4. only then dials, sends or clears the visit, and records the outcome (a call that does
   not connect gives its slot back).

A refusal is logged with every rule it broke and raised as ``ConductRefused`` (nothing
leaves). Collections use cases receive this gate, never the message gateway or the
dialer; bootstrap is the only place that hands those to it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from mobilend.app.collections.channels import (
    CallRequest,
    CallResult,
    Dialer,
    MessageGateway,
    OutgoingMessage,
)
from mobilend.app.collections.ports import (
    LENDER,
    BorrowerReach,
    CaseRecord,
    ContactRecord,
    Reach,
)
from mobilend.app.collections.settings import CollectionsSettings
from mobilend.app.collections.templates import live_template
from mobilend.app.unit_of_work import UnitOfWork, UnitOfWorkFactory
from mobilend.domain.collections_conduct import (
    Channel,
    ConductRefused,
    ConductRule,
    ContactTemplate,
    Party,
    ProposedContact,
    check_contact,
)
from mobilend.domain.errors import NotFound, Problem, ValidationFailed

log = logging.getLogger(__name__)

#: The actor of contacts the strategy makes on its own.
STRATEGY_ACTOR = "system:strategy"


@dataclass(frozen=True, slots=True)
class ContactRequest:
    case_id: str
    actor: str  # "staff:<user id>" or STRATEGY_ACTOR
    channel: Channel
    template: str
    party: Party = Party.BORROWER
    contact_person_id: str = ""
    #: What an agent typed into the template's free-text fields.
    free_text: Mapping[str, str] = field(default_factory=dict)
    #: Facts a use case adds to the text (a promise's date and amount…); trusted.
    facts: Mapping[str, str] = field(default_factory=dict)
    #: A collections manager may act on any of the lender's cases.
    supervisor: bool = False
    note: str = ""


def staff_id(actor: str) -> str:
    return actor.removeprefix("staff:")


class ConductGate:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        reach: BorrowerReach,
        messages: MessageGateway | None,
        dialer: Dialer | None,
        new_id: Callable[[], str],
        now: Callable[[], dt.datetime],
        settings: CollectionsSettings | None = None,
    ) -> None:
        self._uow = uow
        self._reach = reach
        self._messages = messages
        self._dialer = dialer
        self._new_id = new_id
        self._now = now
        self.settings = settings or CollectionsSettings()

    # -- the one way out -------------------------------------------------------------
    def contact(self, request: ContactRequest) -> ContactRecord:
        """Check, log, then call, send or clear the visit; ``ConductRefused`` when a rule is
        broken (the refusal is logged first)."""
        record, recipient = self._authorise(request)
        if not record.allowed:
            raise ConductRefused([ConductRule(r) for r in record.rules], record.attempt_id)
        if request.channel is Channel.CALL:
            return self._call(record, recipient)
        if request.channel is Channel.VISIT:
            return self._finish(record, "visit_cleared")
        return self._send(record, recipient)

    # -- step 1–3: check and log in one transaction --------------------------------------
    def _authorise(self, request: ContactRequest) -> tuple[ContactRecord, str]:
        now = self._now()
        policy = self.settings.conduct
        # Where the borrower is, read before the transaction: the lookup holds no lock and
        # the transaction below stays one connection long.
        reach = self._reach.reach_for_case(request.case_id)
        recipient = self._recipient(request, reach)
        zone = ZoneInfo(reach.time_zone or self.settings.default_time_zone)
        local = now.astimezone(zone)
        with self._uow() as uow:
            case = uow.collections.cases.get(request.case_id)
            team, assigned = self._team(uow, case, request)
            paused = case.paused or bool(
                uow.collections.complaints.open_for_borrower(case.borrower_id)
            )
            template = live_template(uow, request.template)
            text = self._render(request, case, reach, template) if template else ""
            unknown = set(request.free_text) - set(template.free_text) if template else set()
            if unknown:
                raise ValidationFailed(
                    [
                        Problem(f"free_text.{k}", "not a free-text field of this template")
                        for k in sorted(unknown)
                    ]
                )
            proposed = ProposedContact(
                channel=request.channel,
                party=request.party,
                local_time=local.time(),
                text=text,
                template=template,
                case_open=case.is_open,
                case_paused=paused,
                assigned=assigned,
                has_recipient=bool(recipient) or request.channel is Channel.VISIT,
                free_text=dict(request.free_text),
            )
            rules = check_contact(proposed, policy)
            counted = False
            if not rules and request.channel is not Channel.VISIT:
                kind, cap, rule = (
                    ("call", policy.max_connected_calls, ConductRule.DAILY_CALL_CAP)
                    if request.channel is Channel.CALL
                    else ("message", policy.max_messages, ConductRule.DAILY_MESSAGE_CAP)
                )
                if uow.collections.contacts.take_slot(case.borrower_id, local.date(), kind, cap):
                    counted = True
                else:
                    rules = [rule]
            record = ContactRecord(
                attempt_id=self._new_id(),
                case_id=case.case_id,
                loan_id=case.loan_id,
                borrower_id=case.borrower_id,
                at=now,
                local_day=local.date(),
                actor=request.actor,
                team=team,
                channel=request.channel,
                party=request.party,
                template=request.template,
                allowed=not rules,
                rules=tuple(r.value for r in rules),
                outcome="refused" if rules else "pending",
                counted_call=counted and request.channel is Channel.CALL,
                note=request.note[:500],
                text=text if not rules else "",
            )
            uow.collections.contacts.add(record)
            if request.actor.startswith("staff:"):  # the strategy's own contacts are its log
                uow.audit.record(
                    request.actor,
                    "collections.contact_refused" if rules else "collections.contacted",
                    f"case:{case.case_id}",
                    {
                        "channel": request.channel.value,
                        "party": request.party.value,
                        "rules": list(record.rules),
                        "attempt": record.attempt_id,
                    },
                )
            uow.commit()
        if rules:
            log.info(
                "conduct gate refused %s on case %s: %s",
                request.channel.value,
                request.case_id,
                ",".join(record.rules),
            )
        return record, recipient

    def _team(self, uow: UnitOfWork, case: CaseRecord, request: ContactRequest) -> tuple[str, bool]:
        """The actor's team, and whether the case is theirs to work."""
        if request.actor == STRATEGY_ACTOR:
            # The strategy sends messages (reminders, notices); calls and visits are people's.
            return LENDER, request.channel in (Channel.SMS, Channel.PUSH)
        agent = uow.collections.agents.agent(staff_id(request.actor))
        if request.supervisor and (agent is None or agent.team == LENDER):
            return LENDER, case.team == LENDER or case.placement.value == "legal"
        if agent is None or not agent.active:
            return "", False
        return agent.team, agent.team == case.team and case.agent_id == agent.agent_id

    def _recipient(self, request: ContactRequest, reach: Reach) -> str:
        if request.party is Party.CONTACT_PERSON:
            people = self._reach.contact_persons(reach.borrower_id)
            person = next((p for p in people if p.person_id == request.contact_person_id), None)
            if person is None:
                raise NotFound(f"联系人不存在 (no contact person {request.contact_person_id})")
            return person.phone or ""
        if request.party is not Party.BORROWER:
            return ""
        if request.channel is Channel.PUSH:
            return reach.push_token or ""
        if request.channel in (Channel.SMS, Channel.CALL):
            return reach.phone or ""
        return ""

    def _render(
        self, request: ContactRequest, case: CaseRecord, reach: Reach, template: ContactTemplate
    ) -> str:
        values = {
            "name": reach.display_name
            or ("您" if not reach.locale.startswith("en") else "customer"),
            "loan_ref": case.loan_id[-6:].upper(),
            "dpd": str(case.dpd),
            "amount": case.owed.format(),
            "callback": self.settings.callback_number,
            "agent_ref": staff_id(request.actor)[-6:].upper(),
            **{k: "" for k in template.free_text},
            **dict(request.facts),
            **dict(request.free_text),
        }
        try:
            return template.render(reach.locale, values)
        except ValueError as exc:
            raise ValidationFailed([Problem("template", str(exc))]) from None

    # -- step 4: out through the channel, outcome recorded ------------------------------
    def _call(self, record: ContactRecord, phone: str) -> ContactRecord:
        if self._dialer is None:
            return self._finish(record, "failed", release="call", note="no dialer configured")
        try:
            result = self._dialer.place_call(
                CallRequest(record.attempt_id, phone, record.actor, record.team, record.text)
            )
        except Exception as exc:  # the call did not happen: the slot goes back
            log.warning("dialer failed for %s: %s", record.attempt_id, type(exc).__name__)
            return self._finish(record, "failed", release="call")
        return self._finish_call(record, result)

    def _finish_call(self, record: ContactRecord, result: CallResult) -> ContactRecord:
        return self._finish(
            record,
            result.status,
            release=None if result.connected else "call",
            recording_ref=result.recording_ref,
        )

    def _send(self, record: ContactRecord, recipient: str) -> ContactRecord:
        if self._messages is None:
            return self._finish(record, "failed", release="message", note="no gateway configured")
        try:
            ack = self._messages.send(
                OutgoingMessage(record.attempt_id, record.channel.value, recipient, record.text)
            )
        except Exception as exc:
            log.warning("gateway failed for %s: %s", record.attempt_id, type(exc).__name__)
            return self._finish(record, "failed", release="message")
        if not ack.accepted:
            return self._finish(record, "failed", release="message", note=ack.error)
        return self._finish(record, "sent", gateway_ref=ack.gateway_reference)

    def _finish(
        self,
        record: ContactRecord,
        outcome: str,
        *,
        release: str | None = None,
        recording_ref: str = "",
        gateway_ref: str = "",
        note: str = "",
    ) -> ContactRecord:
        done = dataclasses.replace(
            record,
            outcome=outcome,
            recording_ref=recording_ref,
            gateway_ref=gateway_ref,
            counted_call=record.counted_call and release is None,
            note=(record.note + (" | " if record.note and note else "") + note)[:500],
        )
        with self._uow() as uow:
            if release is not None:
                uow.collections.contacts.release_slot(record.borrower_id, record.local_day, release)
            uow.collections.contacts.save(done)
            uow.commit()
        return done
