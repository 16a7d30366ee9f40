"""Roles, per-action permissions and maker-checker rules (domain, no I/O)."""

from __future__ import annotations

import datetime as dt

import pytest

from mobilend.domain.approvals import (
    ApprovalKind,
    ApprovalStatus,
    SecondPersonRequired,
    new_request,
)
from mobilend.domain.errors import Conflict, ValidationFailed
from mobilend.domain.staff import (
    Forbidden,
    Permission,
    Role,
    permits,
    require,
    roles_with,
    sees_full_pii,
)

AT = dt.datetime(2026, 4, 1, 9, tzinfo=dt.UTC)


def write_off(maker: str = "staff:a", roles: tuple[str, ...] = ("collections",)):  # type: ignore[no-untyped-def]
    return new_request(
        request_id="r1",
        kind=ApprovalKind.WRITE_OFF,
        target="loan:L1",
        payload={"loan_id": "L1"},
        reason="no contact for 180 days",
        maker=maker,
        maker_roles=roles,
        at=AT,
    )


def test_only_the_roles_whose_work_needs_it_reveal_personal_data() -> None:
    assert set(roles_with(Permission.REVEAL_PII)) == {
        Role.OPERATIONS,
        Role.COLLECTIONS,
        Role.COLLECTIONS_MANAGER,
    }
    assert not sees_full_pii(["agency"])  # an outside agency never sees personal data here
    assert not sees_full_pii(["auditor", "admin", "risk", "finance"])
    assert sees_full_pii(["auditor", "collections"])


def test_the_auditor_reads_but_changes_nothing() -> None:
    changes = [p for p in Permission if p.value.split(".")[1] in
               ("request", "approve", "decide", "change", "promote", "act", "reveal")]  # fmt: skip
    assert changes
    assert not any(permits(["auditor"], p) for p in changes)
    assert permits(["auditor"], Permission.VIEW_AUDIT)


def test_unknown_roles_grant_nothing_and_a_refusal_names_who_may() -> None:
    assert not permits(["superuser"], Permission.SEARCH)
    with pytest.raises(Forbidden, match="finance"):
        require(["operations"], Permission.APPROVE_WRITE_OFF)


def test_a_maker_without_the_permission_cannot_ask() -> None:
    with pytest.raises(Forbidden):
        write_off(roles=("risk",))
    with pytest.raises(ValidationFailed):
        new_request(request_id="r", kind=ApprovalKind.WRITE_OFF, target="loan:L1", payload={},
                    reason="  ", maker="staff:a", maker_roles=("finance",), at=AT)  # fmt: skip


def test_the_maker_can_never_check_their_own_request() -> None:
    request = write_off(maker="staff:a", roles=("finance",))
    with pytest.raises(SecondPersonRequired):
        request.approve("staff:a", ("finance",), AT)
    with pytest.raises(Forbidden):  # a second person without the checker permission
        request.approve("staff:b", ("collections",), AT)
    approved = request.approve("staff:b", ("finance",), AT, "ok")
    assert approved.status is ApprovalStatus.APPROVED and approved.checker == "staff:b"
    with pytest.raises(Conflict):  # once only
        approved.approve("staff:c", ("finance",), AT)


def test_a_rejection_needs_a_reason_and_only_the_maker_withdraws() -> None:
    request = write_off()
    with pytest.raises(ValidationFailed):
        request.reject("staff:b", ("finance",), AT, "")
    assert (
        request.reject("staff:b", ("finance",), AT, "still paying").status
        is ApprovalStatus.REJECTED
    )
    with pytest.raises(Forbidden):
        request.cancel("staff:b", AT)
    assert request.cancel("staff:a", AT).status is ApprovalStatus.CANCELLED
