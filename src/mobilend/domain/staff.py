"""Staff roles and what each may do, action by action.

A role is a job (risk analyst, finance clerk…); a permission is one action (read a loan,
reveal an ID number, approve a write-off). Pages and API routes ask for a permission,
never for a role, so moving an action from one team to another is one line in
``ROLE_PERMISSIONS``. Personal data is masked for everyone; the roles whose work needs
it may reveal one field at a time, and every reveal is audited.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping

from mobilend.domain.errors import DomainError


class Role(enum.StrEnum):
    ADMIN = "admin"  # staff accounts and configuration (products, funders, jobs)
    RISK = "risk"  # credit decisions, policies, models, limits, portfolio risk
    OPERATIONS = "operations"  # borrower service, disbursement exceptions, suspense
    COLLECTIONS = "collections"  # overdue accounts and contact
    COLLECTIONS_MANAGER = "collections_manager"  # strategies, approvals, complaints review
    AGENCY = "agency"  # an external collection agency's agent: its own cases only, no console
    FINANCE = "finance"  # ledger, reconciliation, funders, P&L
    AUDITOR = "auditor"  # reads everything but personal data; changes nothing


class Permission(enum.StrEnum):
    VIEW_DASHBOARD = "dashboard.view"
    SEARCH = "records.search"
    VIEW_ACCOUNTS = "accounts.view"  # borrowers, lines, loans, contracts, applications
    REVEAL_PII = "pii.reveal"
    VIEW_DECISIONS = "decisions.view"
    VIEW_REVIEWS = "reviews.view"
    DECIDE_REVIEWS = "reviews.decide"
    VIEW_APPROVALS = "approvals.view"
    REQUEST_WRITE_OFF = "write_off.request"
    APPROVE_WRITE_OFF = "write_off.approve"
    REQUEST_REFUND = "refund.request"
    APPROVE_REFUND = "refund.approve"
    REQUEST_SETTLEMENT = "settlement.request"
    APPROVE_SETTLEMENT = "settlement.approve"
    REQUEST_MANUAL_APPROVAL = "manual_approval.request"
    APPROVE_MANUAL_APPROVAL = "manual_approval.approve"
    VIEW_PRODUCTS = "products.view"
    CHANGE_PRODUCTS = "products.change"
    APPROVE_PRODUCTS = "products.approve"
    VIEW_FUNDERS = "funders.view"
    CHANGE_FUNDERS = "funders.change"
    APPROVE_FUNDERS = "funders.approve"
    VIEW_POLICIES = "policies.view"
    PROMOTE_POLICIES = "policies.promote"
    APPROVE_POLICIES = "policies.approve"
    VIEW_ANALYTICS = "analytics.view"
    REFRESH_ANALYTICS = "analytics.refresh"  # rebuild the summaries now (dashboard button)
    VIEW_FINANCE = "finance.view"  # P&L, reconciliation, funder settlement
    RUN_STRESS_TEST = "stress.run"
    VIEW_OPERATIONS = "operations.view"  # end of day, job queue, suspense, payouts
    OPERATE = "operations.act"  # assign suspense money, retry payouts
    VIEW_COLLECTIONS = "collections.view"  # the collections book: buckets, loads, recovery
    WORK_CASES = "collections.work"  # one's own queue and cases: contacts, promises
    MANAGE_COLLECTIONS = "collections.manage"  # assignment, four-eyes decisions
    REPLAY_DECISIONS = "decisions.replay"
    VIEW_AUDIT = "audit.view"


P = Permission
_EVERYONE = (P.VIEW_DASHBOARD, P.SEARCH, P.VIEW_APPROVALS)

ROLE_PERMISSIONS: Mapping[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(
        {
            *_EVERYONE,
            P.VIEW_PRODUCTS,
            P.CHANGE_PRODUCTS,
            P.APPROVE_PRODUCTS,
            P.VIEW_FUNDERS,
            P.APPROVE_FUNDERS,
            P.VIEW_POLICIES,
            P.APPROVE_POLICIES,
            P.VIEW_ANALYTICS,
            P.REFRESH_ANALYTICS,
            P.VIEW_OPERATIONS,
            P.VIEW_AUDIT,
        }
    ),
    Role.RISK: frozenset(
        {
            *_EVERYONE,
            P.VIEW_ACCOUNTS,
            P.VIEW_DECISIONS,
            P.REPLAY_DECISIONS,
            P.VIEW_REVIEWS,
            P.DECIDE_REVIEWS,
            P.REQUEST_MANUAL_APPROVAL,
            P.APPROVE_MANUAL_APPROVAL,
            P.VIEW_PRODUCTS,
            P.CHANGE_PRODUCTS,
            P.APPROVE_PRODUCTS,
            P.VIEW_POLICIES,
            P.PROMOTE_POLICIES,
            P.APPROVE_POLICIES,
            P.VIEW_ANALYTICS,
            P.RUN_STRESS_TEST,
            P.VIEW_COLLECTIONS,
            P.VIEW_FUNDERS,
        }
    ),
    Role.OPERATIONS: frozenset(
        {
            *_EVERYONE,
            P.VIEW_ACCOUNTS,
            P.REVEAL_PII,
            P.VIEW_DECISIONS,
            P.VIEW_REVIEWS,
            P.REQUEST_REFUND,
            P.VIEW_PRODUCTS,
            P.VIEW_OPERATIONS,
            P.OPERATE,
            P.REFRESH_ANALYTICS,
        }
    ),
    Role.COLLECTIONS: frozenset(
        {
            *_EVERYONE,
            P.VIEW_ACCOUNTS,
            P.REVEAL_PII,
            P.REQUEST_WRITE_OFF,
            P.REQUEST_SETTLEMENT,
            P.WORK_CASES,
        }
    ),
    Role.COLLECTIONS_MANAGER: frozenset(
        {
            *_EVERYONE,
            P.VIEW_ACCOUNTS,
            P.REVEAL_PII,
            P.REQUEST_WRITE_OFF,
            P.REQUEST_SETTLEMENT,
            P.APPROVE_SETTLEMENT,
            P.VIEW_COLLECTIONS,
            P.WORK_CASES,
            P.MANAGE_COLLECTIONS,
        }
    ),
    # An agency's agents work the cases assigned to them (the collections workbench and
    # API), nothing else: no accounts, no personal data.
    Role.AGENCY: frozenset({*_EVERYONE, P.WORK_CASES}),
    Role.FINANCE: frozenset(
        {
            *_EVERYONE,
            P.VIEW_ACCOUNTS,
            P.REQUEST_WRITE_OFF,
            P.APPROVE_WRITE_OFF,
            P.APPROVE_REFUND,
            P.APPROVE_SETTLEMENT,
            P.VIEW_PRODUCTS,
            P.VIEW_FUNDERS,
            P.CHANGE_FUNDERS,
            P.APPROVE_FUNDERS,
            P.VIEW_ANALYTICS,
            P.VIEW_FINANCE,
            P.RUN_STRESS_TEST,
            P.VIEW_OPERATIONS,
        }
    ),
    Role.AUDITOR: frozenset(
        {
            *_EVERYONE,
            P.VIEW_ACCOUNTS,
            P.VIEW_DECISIONS,
            P.REPLAY_DECISIONS,
            P.VIEW_REVIEWS,
            P.VIEW_PRODUCTS,
            P.VIEW_FUNDERS,
            P.VIEW_POLICIES,
            P.VIEW_ANALYTICS,
            P.VIEW_FINANCE,
            P.RUN_STRESS_TEST,
            P.VIEW_OPERATIONS,
            P.VIEW_COLLECTIONS,
            P.VIEW_AUDIT,
        }
    ),
}

#: Roles whose work needs personal data in the clear (each reveal is still audited).
ROLES_SEEING_FULL_PII: frozenset[Role] = frozenset(
    role for role, granted in ROLE_PERMISSIONS.items() if Permission.REVEAL_PII in granted
)


class Forbidden(DomainError):
    """Signed in, but none of the caller's roles may do this."""

    code = "forbidden"


def _roles(roles: Iterable[str]) -> list[Role]:
    known = {r.value: r for r in Role}
    return [known[r] for r in roles if r in known]


def permissions_of(roles: Iterable[str]) -> frozenset[Permission]:
    granted: set[Permission] = set()
    for role in _roles(roles):
        granted |= ROLE_PERMISSIONS[role]
    return frozenset(granted)


def permits(roles: Iterable[str], permission: Permission) -> bool:
    return permission in permissions_of(roles)


def roles_with(permission: Permission) -> tuple[Role, ...]:
    return tuple(r for r in Role if permission in ROLE_PERMISSIONS[r])


def require(roles: Iterable[str], permission: Permission) -> None:
    """Raise ``Forbidden`` unless one of ``roles`` grants ``permission``."""
    if not permits(roles, permission):
        who = ", ".join(r.value for r in roles_with(permission)) or "nobody"
        raise Forbidden(f"无权操作 (not permitted: {permission.value}; roles: {who})")


def sees_full_pii(roles: Iterable[str]) -> bool:
    return permits(roles, Permission.REVEAL_PII)
