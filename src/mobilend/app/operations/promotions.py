"""Maker-checker executors of policy and model promotion: a policy version made the
champion of its scenario, a model made the champion scorer, or the champion/challenger
split set (which challenger, on what share of applications, with which policy version
or model). What is in force lives with the risk configuration (``RiskVersions``); the
engine is rebuilt when it changes, so a promotion takes effect at the next decision.

Payloads (plain JSON):

- policy promotion: ``{"scenario": "cash", "version": "v2"}``, or a split;
- model promotion: ``{"model": "<folder under the models root>"}``, or a split;
- a split: ``{"challenger": {"name": "v2-trial", "share": "0.10", "policy_version":
  "v2" | null, "model": "<folder>" | null}}``, or ``{"challenger": null}`` to end it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from mobilend.app.operations.approvals import ExecutionContext
from mobilend.app.unit_of_work import UnitOfWork
from mobilend.domain.approvals import ApprovalRequest
from mobilend.domain.errors import Problem, ValidationFailed


@dataclass(frozen=True, slots=True)
class ChallengerSpec:
    name: str
    share: Decimal  # of applications, 0 < share < 1
    policy_version: str | None = None
    model: str | None = None


@dataclass(frozen=True, slots=True)
class VersionsInForce:
    policies: Mapping[str, str]  # scenario → champion version
    policy_versions: Mapping[str, tuple[str, ...]]  # scenario → versions on file
    model: str  # the champion model's folder
    model_version: str  # its manifest hash
    models: Mapping[str, str]  # folder → manifest hash, every model on file
    challenger: ChallengerSpec | None


class RiskVersions(Protocol):
    """Which policy versions and which model the decision engine runs."""

    def in_force(self) -> VersionsInForce: ...

    def check_policy(self, scenario: str, version: str) -> None:
        """Raise ``ValidationFailed`` unless the version exists and loads."""
        ...

    def check_model(self, model: str) -> None:
        """Raise ``ValidationFailed`` unless the folder holds a sound model artifact."""
        ...

    def promote_policy(self, scenario: str, version: str) -> str:
        """Make ``version`` the scenario's champion; returns the previous one."""
        ...

    def promote_model(self, model: str) -> str:
        """Make the model the champion scorer; returns the previous folder."""
        ...

    def set_challenger(self, spec: ChallengerSpec | None) -> None: ...


def challenger_of(payload: Mapping[str, Any]) -> ChallengerSpec | None:
    raw = payload.get("challenger")
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise ValidationFailed([Problem("challenger", "a name and a share are required")])
    name = str(raw.get("name", "")).strip()
    try:
        share = Decimal(str(raw.get("share", "")))
    except InvalidOperation:
        share = Decimal(-1)
    problems = []
    if not name or len(name) > 40:
        problems.append(Problem("name", "请填写挑战者名称 (name the challenger)"))
    if not Decimal(0) < share < Decimal(1):
        problems.append(Problem("share", "占比须在0到1之间 (a share between 0 and 1)"))
    policy_version = str(raw.get("policy_version") or "").strip() or None
    model = str(raw.get("model") or "").strip() or None
    if policy_version is None and model is None:
        problems.append(Problem("challenger", "挑战者须有策略或模型 (a policy or a model)"))
    if problems:
        raise ValidationFailed(problems)
    return ChallengerSpec(name, share, policy_version, model)


def _check_challenger(versions: RiskVersions, spec: ChallengerSpec | None) -> None:
    if spec is None:
        return
    if spec.policy_version is not None:
        for scenario in versions.in_force().policies:
            versions.check_policy(scenario, spec.policy_version)
    if spec.model is not None:
        versions.check_model(spec.model)


def _split_result(spec: ChallengerSpec | None) -> dict[str, Any]:
    if spec is None:
        return {"challenger": None}
    return {
        "challenger": spec.name,
        "share": str(spec.share),
        "policy_version": spec.policy_version,
        "model": spec.model,
        "takes_effect": "next_decision",
    }


def _text(payload: Mapping[str, Any], name: str) -> str:
    value = payload.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed([Problem(name, "is required")])
    return value.strip()


class PolicyPromotionExecutor:
    def __init__(self, versions: RiskVersions) -> None:
        self.versions = versions

    def check(self, uow: UnitOfWork, request: ApprovalRequest, ctx: ExecutionContext) -> None:
        payload = request.payload
        if "challenger" in payload:
            _check_challenger(self.versions, challenger_of(payload))
        else:
            self.versions.check_policy(_text(payload, "scenario"), _text(payload, "version"))

    def execute(
        self, uow: UnitOfWork, request: ApprovalRequest, ctx: ExecutionContext
    ) -> Mapping[str, Any]:
        self.check(uow, request, ctx)
        payload = request.payload
        if "challenger" in payload:
            spec = challenger_of(payload)
            self.versions.set_challenger(spec)
            return _split_result(spec)
        scenario, version = _text(payload, "scenario"), _text(payload, "version")
        previous = self.versions.promote_policy(scenario, version)
        return {"scenario": scenario, "version": version, "previous": previous,
                "takes_effect": "next_decision"}  # fmt: skip

    def rejected(self, uow: UnitOfWork, request: ApprovalRequest, ctx: ExecutionContext) -> None:
        return None


class ModelPromotionExecutor:
    def __init__(self, versions: RiskVersions) -> None:
        self.versions = versions

    def check(self, uow: UnitOfWork, request: ApprovalRequest, ctx: ExecutionContext) -> None:
        payload = request.payload
        if "challenger" in payload:
            _check_challenger(self.versions, challenger_of(payload))
        else:
            self.versions.check_model(_text(payload, "model"))

    def execute(
        self, uow: UnitOfWork, request: ApprovalRequest, ctx: ExecutionContext
    ) -> Mapping[str, Any]:
        self.check(uow, request, ctx)
        payload = request.payload
        if "challenger" in payload:
            spec = challenger_of(payload)
            self.versions.set_challenger(spec)
            return _split_result(spec)
        model = _text(payload, "model")
        previous = self.versions.promote_model(model)
        return {"model": model, "previous": previous, "takes_effect": "next_decision"}

    def rejected(self, uow: UnitOfWork, request: ApprovalRequest, ctx: ExecutionContext) -> None:
        return None
