"""The credit decision engine: ``decide`` live, ``replay`` from a stored record.

``RiskDecisionEngine`` implements the ``DecisionEngine`` port. Live, it picks the
scenario's policy and the champion/challenger arm, reads fraud signals, runs the
pipeline in ``evaluation.py`` against the real data sources, records the sighting for
later fraud checks and saves the full decision record. ``replay`` runs the same
pipeline on the record's stored inputs — no network, no stores — and refuses to
answer unless the rebuilt record is byte for byte the stored one.

The decision date comes in; nothing reads the clock, so the same inputs always give
the same decision.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mobilend.domain.compliance import CostCapPolicy
from mobilend.domain.decisions import Applicant, CreditDecision
from mobilend.domain.money import Money
from mobilend.domain.products import LoanProduct
from mobilend.risk.evaluation import Evaluation, EvaluationContext, evaluate
from mobilend.risk.feature_builder import FEATURE_COLUMNS, FEATURE_SET_VERSION
from mobilend.risk.fraud import observe_and_record, parse_rules
from mobilend.risk.policy.loader import PolicyBook, PolicySet
from mobilend.risk.ports import (
    ApplicationSighting,
    CreditDataSource,
    DataSourceUnavailable,
    DecisionRecordStore,
    FraudSignalStore,
)
from mobilend.risk.records import (
    RECORD_VERSION,
    applicant_to_dict,
    canonical_json,
    decision_from_record,
    to_jsonable,
)
from mobilend.risk.scoring import Challenger, MarketCondition, MarketOverlay, Scorer, assign_arm

ENGINE_VERSION = "1"


class ReplayError(Exception):
    """A record cannot be replayed (unknown model or policy version, changed files...)."""


class ReplayMismatch(ReplayError):
    """The replay ran but did not rebuild the stored record exactly."""

    def __init__(self, decision_id: str, differing: Sequence[str]) -> None:
        super().__init__(
            f"replay of {decision_id} differs from the stored record in: {', '.join(differing)}"
        )
        self.differing = tuple(differing)


def default_decision_id(applicant: Applicant, on: dt.date) -> str:
    return f"DEC-{applicant.application_id}-{on:%Y%m%d}"


class _LiveSources:
    """Calls the adapters and logs each answer (or failure) for the record."""

    def __init__(
        self, applicant: Applicant, on: dt.date, sources: Mapping[str, CreditDataSource]
    ) -> None:
        self.applicant = applicant
        self.on = on
        self.sources = sources
        self.log: list[dict[str, Any]] = []

    def get(self, source: str) -> Mapping[str, Any]:
        adapter = self.sources.get(source)
        try:
            if adapter is None:
                raise DataSourceUnavailable(source, "not_configured")
            report = adapter.fetch(self.applicant, self.on)
            # The JSON round trip makes the live run see exactly what a replay will see.
            payload: Mapping[str, Any] = json.loads(json.dumps(to_jsonable(report.payload)))
        except DataSourceUnavailable as exc:
            self.log.append(
                {
                    "source": source,
                    "status": "unavailable",
                    "reason": exc.reason,
                    "detail": exc.detail,
                }
            )
            raise
        except Exception as exc:  # an adapter bug must refer the case, not crash the decision
            self.log.append(
                {
                    "source": source,
                    "status": "unavailable",
                    "reason": "error",
                    "detail": repr(exc)[:300],
                }
            )
            raise DataSourceUnavailable(source, "error", repr(exc)[:300]) from exc
        self.log.append(
            {
                "source": source,
                "status": "ok",
                "payload": payload,
                "data_version": report.data_version,
                "fetched_on": report.fetched_on.isoformat(),
                "cost": to_jsonable(report.cost),
                "cached": report.cached,
            }
        )
        return payload


class _RecordedSources:
    """Hands back the answers a record holds; asking for anything else is a divergence."""

    def __init__(self, log: Sequence[Mapping[str, Any]]) -> None:
        self.log = [dict(entry) for entry in log]
        self._by_source = {entry["source"]: entry for entry in self.log}

    def get(self, source: str) -> Mapping[str, Any]:
        entry = self._by_source.get(source)
        if entry is None:
            raise ReplayError(f"the replay asked for {source}, which the decision did not call")
        if entry["status"] != "ok":
            raise DataSourceUnavailable(source, entry["reason"], entry.get("detail", ""))
        payload: Mapping[str, Any] = entry["payload"]
        return payload


def _condition_json(condition: MarketCondition) -> dict[str, Any]:
    return {
        "id": condition.id,
        "effective_from": condition.effective_from.isoformat(),
        "pd_multiplier": str(condition.pd_multiplier),
        "cutoff_shift_points": condition.cutoff_shift_points,
        "limit_factor": str(condition.limit_factor),
        "note_zh": condition.note_zh,
        "note_en": condition.note_en,
    }


class RiskDecisionEngine:
    """Implements the ``DecisionEngine`` port (``decide``) and replays decision records."""

    def __init__(
        self,
        *,
        scorer: Scorer,
        sources: Mapping[str, CreditDataSource],
        fraud_store: FraudSignalStore,
        policies: PolicyBook | None = None,
        overlay: MarketOverlay | None = None,
        challenger: Challenger | None = None,
        records: DecisionRecordStore | None = None,
        cost_caps: CostCapPolicy | None = None,
        products: Callable[[str], LoanProduct | None] | None = None,
        other_scorers: Sequence[Scorer] = (),
        decision_id: Callable[[Applicant, dt.date], str] = default_decision_id,
    ) -> None:
        self.scorer = scorer
        self.sources = sources
        self.fraud_store = fraud_store
        self.policies = policies or PolicyBook()
        self.overlay = overlay or MarketOverlay.load()
        self.challenger = challenger
        self.records = records
        self.cost_caps = cost_caps or CostCapPolicy()
        #: Looks a product up by code, so prices fit its offers' APR (None: nominal cap).
        self.products = products
        self.decision_id = decision_id
        known = [scorer, *other_scorers]
        if challenger is not None and challenger.scorer is not None:
            known.append(challenger.scorer)
        self._scorers = {s.version: s for s in known}
        for model in known:
            # A model trained on other columns would see only missing values here: refuse it.
            unknown = set(getattr(model, "feature_names", ())) - set(FEATURE_COLUMNS)
            if unknown:
                raise ValueError(
                    f"model {model.version} needs features the feature builder does not make: {sorted(unknown)}"
                )

    def _product(self, code: str) -> LoanProduct | None:
        return self.products(code) if self.products is not None and code else None

    # -- live ------------------------------------------------------------------
    def decide(self, applicant: Applicant, on: dt.date) -> CreditDecision:
        return self.decide_with_record(applicant, on)[0]

    def decide_with_record(
        self, applicant: Applicant, on: dt.date
    ) -> tuple[CreditDecision, dict[str, Any]]:
        champion_policy = self.policies.for_product(applicant.product_code)
        arm = assign_arm(applicant.application_id, self.challenger)
        policy, scorer, shadow = champion_policy, self.scorer, None
        if arm == "challenger" and self.challenger is not None:
            if self.challenger.policy_version is not None:
                policy = self.policies.get(champion_policy.scenario, self.challenger.policy_version)
            if self.challenger.scorer is not None:
                scorer, shadow = self.challenger.scorer, self.scorer
        sighting = ApplicationSighting(
            application_id=applicant.application_id,
            on=on,
            national_id=applicant.national_id.strip().upper(),
            phone=applicant.phone.strip(),
            device_id=applicant.device_id,
            ip_address=applicant.ip_address,
            bank_card=applicant.bank_card,
        )
        # Counted and recorded in one step, before the slower checks: a twin application
        # arriving meanwhile sees this one.
        fraud = observe_and_record(self.fraud_store, sighting, parse_rules(policy.fraud_rules))
        applicant_data = applicant_to_dict(applicant)
        ctx = EvaluationContext(
            policy=policy,
            reason_texts=self.policies.reason_texts,
            applicant=applicant_data,
            on=on,
            fraud=fraud,
            scorer=scorer,
            market=self.overlay.on(on),
            cost_caps=self.cost_caps,
            shadow_scorer=shadow,
            product=self._product(applicant.product_code),
        )
        live = _LiveSources(applicant, on, self.sources)
        evaluation = evaluate(ctx, live)
        record = self._record(self.decision_id(applicant, on), ctx, arm, live.log, evaluation)
        if self.records is not None:
            self.records.save(record["decision_id"], record)
        return decision_from_record(record), record

    # -- replay ----------------------------------------------------------------
    def replay(self, record: Mapping[str, Any]) -> CreditDecision:
        """The stored decision, rebuilt from the record's inputs alone (no network, no stores)."""
        return self.replay_record(record)[0]

    def replay_record(self, record: Mapping[str, Any]) -> tuple[CreditDecision, dict[str, Any]]:
        rebuilt = self.rebuild(record)
        if canonical_json(rebuilt) != canonical_json(record):
            differing = sorted(
                k for k in set(rebuilt) | set(record) if rebuilt.get(k) != record.get(k)
            )
            raise ReplayMismatch(str(record["decision_id"]), differing)
        return decision_from_record(rebuilt), rebuilt

    def rebuild(self, record: Mapping[str, Any], *, current: bool = False) -> dict[str, Any]:
        """The record rebuilt from its stored inputs (data sources' answers, fraud
        signals, market condition): with the policy, model and price it was decided
        with, or (``current``) with today's champion policy and model for its product
        and today's pricing — what would be decided now on the same inputs."""
        if record.get("record_version") != RECORD_VERSION:
            raise ReplayError(
                f"record version {record.get('record_version')!r} is not {RECORD_VERSION}"
            )
        applicant = record["applicant"]
        product_code = str(applicant.get("product_code", ""))
        if current:
            try:
                policy = self.policies.for_product(product_code)
            except Exception as exc:
                raise ReplayError(f"no policy in force for {product_code!r}: {exc}") from exc
            scorer, shadow, price, arm, challenger = self.scorer, None, None, "champion", None
        else:
            policy = self._policy_for_replay(record["policy"])
            scorer = self._scorer_for_replay(record["model_version"])
            shadow_version = record.get("shadow_model_version")
            shadow = self._scorer_for_replay(shadow_version) if shadow_version else None
            # The price is an input of the record, as the data sources' answers are: the
            # rules and products of the day it was decided, not today's.
            price = (record.get("workings") or {}).get("price")
            arm, challenger = record["arm"], record.get("challenger")
        ctx = EvaluationContext(
            policy=policy,
            reason_texts=self.policies.reason_texts,
            applicant=applicant,
            on=dt.date.fromisoformat(record["decided_on"]),
            fraud=record["inputs"]["fraud"],
            scorer=scorer,
            market=MarketCondition.from_json(record["market"]),
            cost_caps=self.cost_caps,
            shadow_scorer=shadow,
            product=self._product(product_code),
            recorded_price=price,
        )
        recorded = _RecordedSources(record["inputs"]["sources"])
        evaluation = evaluate(ctx, recorded)
        return self._record(record["decision_id"], ctx, arm, recorded.log, evaluation, challenger)

    def _policy_for_replay(self, info: Mapping[str, Any]) -> PolicySet:
        try:
            policy = self.policies.get(info["scenario"], info["version"])
        except Exception as exc:
            raise ReplayError(f"policy {info['id']} is not available: {exc}") from exc
        if policy.sha256 != info["sha256"]:
            raise ReplayError(
                f"policy {info['id']} files changed since the decision (hash differs)"
            )
        return policy

    def _scorer_for_replay(self, version: str) -> Scorer:
        scorer = self._scorers.get(version)
        if scorer is None:
            raise ReplayError(
                f"model version {version} is not loaded; known: {sorted(self._scorers)}"
            )
        return scorer

    # -- record ----------------------------------------------------------------
    def _record(
        self,
        decision_id: str,
        ctx: EvaluationContext,
        arm: str,
        source_log: Sequence[Mapping[str, Any]],
        evaluation: Evaluation,
        challenger_name: str | None = None,
    ) -> dict[str, Any]:
        if challenger_name is None and self.challenger is not None and arm == "challenger":
            challenger_name = self.challenger.name
        policy = ctx.policy
        currency = policy.params.currency
        by_source: dict[str, Money] = {}
        for entry in source_log:
            if entry["status"] == "ok":
                cost = Money(entry["cost"]["amount"], entry["cost"]["currency"])
                by_source[entry["source"]] = (
                    by_source.get(entry["source"], Money.zero(currency)) + cost
                )
        by_source = {name: cost.round() for name, cost in by_source.items()}
        total = sum((c for c in by_source.values()), Money.zero(currency)).round()
        offer = evaluation.outcome in ("approve", "refer") and evaluation.limit is not None
        expires = ctx.on + dt.timedelta(days=policy.params.offer_valid_days) if offer else None
        versions = {
            "engine": ENGINE_VERSION,
            "policy": policy.policy_id,
            "policy_sha256": policy.sha256,
            "model": ctx.scorer.version,
            "features": FEATURE_SET_VERSION,
            "market": ctx.market.id,
            "arm": arm,
            "challenger": challenger_name or "",
        }
        for entry in source_log:
            if entry["status"] == "ok":
                versions[f"data.{entry['source']}"] = entry["data_version"]
        price = evaluation.workings.get("price") or {}
        if "rulebook" in price:  # records from before the rulebook was named have none
            versions["rulebook"] = str(price["rulebook"])
        record: dict[str, Any] = {
            "record_version": RECORD_VERSION,
            "decision_id": decision_id,
            "decided_on": ctx.on.isoformat(),
            "applicant": ctx.applicant,
            "policy": {
                "id": policy.policy_id,
                "scenario": policy.scenario,
                "version": policy.version,
                "sha256": policy.sha256,
            },
            "arm": arm,
            "challenger": challenger_name,
            "model_version": ctx.scorer.version,
            "shadow_model_version": ctx.shadow_scorer.version if ctx.shadow_scorer else None,
            "market": _condition_json(ctx.market),
            "inputs": {"fraud": ctx.fraud, "sources": list(source_log)},
            "sources_called": [e["source"] for e in source_log],
            "costs": {"by_source": by_source, "total": total},
            "workings": evaluation.workings,
            "versions": versions,
            "result": {
                "outcome": evaluation.outcome,
                "limit": evaluation.limit if offer else None,
                "annual_rate": evaluation.annual_rate if offer else None,
                "expires_on": expires,
                "reasons": [
                    {"code": r.code, "text_zh": r.text_zh, "text_en": r.text_en}
                    for r in evaluation.reasons
                ],
            },
        }
        # One JSON round trip: the record in memory is exactly what storage will hold.
        stored: dict[str, Any] = json.loads(canonical_json(to_jsonable(record)))
        return stored


def load_default_scorer(model_dir: str | None = None) -> Scorer:
    """The platform's default PD model, trained from ``data/credit_data.csv`` on first use."""
    from mobilend.risk.model.artifact import load_model
    from mobilend.risk.model.defaults import ensure_default_model

    return load_model(ensure_default_model(model_dir))
