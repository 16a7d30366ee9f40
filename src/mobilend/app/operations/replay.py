"""Decision replay from the console: a stored decision's inputs run again through the
policy and model it was decided with (proving the record), or through today's champion
policy and model (what would be decided now); the differences are shown, and every
replay is written to the audit log."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from mobilend.app.operations.ports import AuditTrail, StaffActor
from mobilend.domain.errors import NotFound
from mobilend.domain.staff import Permission, require
from mobilend.risk.engine import ReplayError
from mobilend.risk.ports import DecisionRecordStore
from mobilend.risk.replay import Difference, differences


class RecordRebuilder(Protocol):
    def rebuild(self, record: Mapping[str, Any], *, current: bool = False) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class ReplayReport:
    decision_id: str
    current: bool  # today's policy and model, not the recorded ones
    identical: bool
    differences: list[Difference] = field(default_factory=list)
    versions: Mapping[str, Any] = field(default_factory=dict)
    error: str = ""


def replay_decision(
    staff: StaffActor,
    records: DecisionRecordStore,
    engine: Callable[[], RecordRebuilder],
    audit: AuditTrail,
    now: Callable[[], Any],
    decision_id: str,
    *,
    current: bool,
) -> ReplayReport:
    require(staff.roles, Permission.REPLAY_DECISIONS)
    try:
        stored = dict(records.get(decision_id))
    except KeyError:
        raise NotFound(f"没有该决策的完整记录 (no decision record {decision_id})") from None
    try:
        rebuilt = engine().rebuild(stored, current=current)
    except (ReplayError, FileNotFoundError, KeyError, ValueError) as exc:
        report = ReplayReport(decision_id, current, False, error=str(exc))
    else:
        found = differences(stored, rebuilt)
        report = ReplayReport(
            decision_id, current, not found, found, dict(rebuilt.get("versions", {}))
        )
    audit.append(
        at=now(),
        actor=staff.actor,
        action="decision.replayed",
        target=f"decision:{decision_id}",
        details={
            "mode": "current" if current else "recorded",
            "identical": report.identical,
            "differing": [d.path for d in report.differences[:20]],
            "error": report.error[:200],
        },
    )
    return report
