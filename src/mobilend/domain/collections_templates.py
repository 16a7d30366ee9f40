"""Collection templates as records (话术模板管理): a version of a script or message is
proposed, checked at once against the conduct rules (banned words, debt talk aimed at
contact persons, third parties), and goes live only when a second person approves it;
the version it replaces is retired. What a template may say is limited to the facts the
conduct gate fills in (``KNOWN_PARAMETERS``) and the free-text fields it declares.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import string
from dataclasses import dataclass

from mobilend.domain.collections_conduct import (
    ConductPolicy,
    ContactTemplate,
    Party,
    template_problems,
)
from mobilend.domain.errors import Problem

#: What the gate and the use cases fill into a template: the borrower's name, the loan's
#: reference, days past due, what is owed, the call-back number, the agent's reference;
#: a promise's date and amount, a settlement's deadline, a plan's next instalment.
KNOWN_PARAMETERS = frozenset(
    {
        "name", "loan_ref", "dpd", "amount", "callback", "agent_ref",
        "due_on", "promised", "valid_until", "next_due", "next_amount",
    }
)  # fmt: skip

_CODE = re.compile(r"^[a-z][a-z0-9_]{1,47}$")
_VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,31}$")
_FIELD = re.compile(r"^[a-z][a-z0-9_]*$")
MAX_BODY = 500


class TemplateStatus(enum.StrEnum):
    PROPOSED = "proposed"
    APPROVED = "approved"  # live: the gate uses it
    REJECTED = "rejected"
    RETIRED = "retired"  # replaced by a later approved version


@dataclass(frozen=True, slots=True)
class TemplateRecord:
    template_id: str
    template: ContactTemplate
    status: TemplateStatus
    proposed_by: str
    proposed_at: dt.datetime
    decided_by: str = ""
    decided_at: dt.datetime | None = None
    note: str = ""

    @property
    def code(self) -> str:
        return self.template.code


def _placeholders(body: str) -> list[str]:
    try:
        return [name for _, name, _, _ in string.Formatter().parse(body) if name is not None]
    except ValueError:
        return ["{"]  # an unbalanced brace


def proposal_problems(template: ContactTemplate, policy: ConductPolicy) -> list[Problem]:
    """Why a proposed template cannot go forward (empty: it may wait for approval)."""
    problems: list[Problem] = []
    if not _CODE.match(template.code):
        problems.append(Problem("code", "lower-case letters, digits and _ (2–48)"))
    if not _VERSION.match(template.version):
        problems.append(Problem("version", "letters, digits, . _ - (1–32)"))
    if not template.channels:
        problems.append(Problem("channels", "at least one channel"))
    if not template.parties:
        problems.append(Problem("parties", "at least one party"))
    bad_free = sorted(f for f in template.free_text if not _FIELD.match(f))
    if bad_free:
        problems.append(Problem("free_text", "field names are lower-case identifiers"))
    allowed = KNOWN_PARAMETERS | template.free_text
    if Party.CONTACT_PERSON in template.parties:
        # A call-back request names the borrower and the number, nothing about the debt.
        allowed = frozenset({"name", "callback"}) | template.free_text
    for name, body in (("body_zh", template.body_zh), ("body_en", template.body_en)):
        if not body.strip():
            problems.append(Problem(name, "required"))
            continue
        if len(body) > MAX_BODY:
            problems.append(Problem(name, f"at most {MAX_BODY} characters"))
        unknown = sorted({p for p in _placeholders(body) if p not in allowed})
        if unknown:
            problems.append(Problem(name, "unknown placeholders: " + ", ".join(unknown)))
    return problems + template_problems(template, policy)
