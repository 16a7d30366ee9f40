"""Domain errors: every refusal carries a stable machine code and plain messages.

The API maps these to 4xx responses in one table; nothing here knows about HTTP.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input: which field, and a plain message."""

    field: str
    message: str


class DomainError(Exception):
    """Base of every business-rule refusal. ``code`` is stable for clients."""

    code: str = "domain_error"

    def __init__(self, message: str, problems: Sequence[Problem] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.problems: tuple[Problem, ...] = tuple(problems)


class ValidationFailed(DomainError):
    """Input broke one or more rules; ``problems`` lists every one of them."""

    code = "validation_failed"

    def __init__(self, problems: Sequence[Problem], message: str = "") -> None:
        text = message or "; ".join(f"{p.field}: {p.message}" for p in problems)
        super().__init__(text, problems)


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    """The request clashes with the current state (e.g. line frozen, loan closed)."""

    code = "conflict"


class ChangedMeanwhile(Conflict):
    """What the request relied on changed under it before its commit (another request took
    it); nothing was written, and running the request again decides on the new state."""

    code = "changed_meanwhile"


class ComplianceViolation(DomainError):
    """A regulatory limit would be broken (rate cap, per-borrower cap...)."""

    code = "compliance_violation"


class GatewayUnavailable(Exception):
    """An outside system did not answer (timeouts, 5xx, circuit open) after the adapter's retries.

    The call may or may not have taken effect: retry later with the same idempotency key,
    or ask for the status. Adapters raise subclasses of this; use cases catch it.
    """
