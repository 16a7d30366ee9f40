"""One decision's pipeline, cheapest checks first, stopping once the outcome is known.

1. free checks from the application: identity, age, student, region, blacklist, fraud
   velocity and shared identifiers;
2. telco (cheap, paid): real-name match, number status and tenure;
3. credit bureau (paid): ID-name match, current overdue, enquiries, new lenders;
4. e-commerce (paid) only when still needed: always for scenarios that say so, else
   only when a pre-score without it is neither clearly approved (with income known)
   nor clearly declined — "clearly" meaning the outcome would not change within
   ``margin_points`` of the score;
5. PD model → market stress → decision score → band (approve / refer / decline);
6. price by band under the cost cap (the APR of the product's offers when the product is
   known), limit as the smallest applicable cap (the per-borrower cap from the rulebook).

A source that cannot answer leads to a refer with a data reason — never to an approval
on missing data. The pipeline reads sources through ``SourceAccess``: live it calls the
adapters, in a replay it hands back what the record holds, so both run this same code.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from mobilend.domain.compliance import CostCapPolicy
from mobilend.domain.decisions import DecisionReason
from mobilend.domain.money import Money
from mobilend.domain.products import LoanProduct
from mobilend.risk.applicant_facts import (
    application_facts,
    bureau_facts,
    ecommerce_facts,
    telco_facts,
)
from mobilend.risk.feature_builder import build_features, money_amount, requested_term
from mobilend.risk.fraud import fraud_hits, parse_rules
from mobilend.risk.limits import LimitInputs, compute_limit
from mobilend.risk.policy.loader import PolicySet
from mobilend.risk.ports import DataSourceUnavailable
from mobilend.risk.pricing import PriceResult, price_for_band
from mobilend.risk.records import money_from
from mobilend.risk.scoring import (
    MarketCondition,
    ModelReason,
    ModelScore,
    Scorer,
    decision_scaling,
    run_scorer,
)

MAX_REASONS = 4
PAID_STAGES = (("telco", telco_facts), ("bureau", bureau_facts))


class SourceAccess(Protocol):
    def get(self, source: str) -> Mapping[str, Any]:
        """The source's payload; raises DataSourceUnavailable."""
        ...


@dataclass(frozen=True, slots=True)
class EvaluationContext:
    policy: PolicySet
    reason_texts: Mapping[str, Mapping[str, str]]
    applicant: Mapping[str, Any]  # the application in its recorded (JSON) form
    on: dt.date
    fraud: Mapping[str, Any]  # fraud observations
    scorer: Scorer
    market: MarketCondition
    cost_caps: CostCapPolicy
    shadow_scorer: Scorer | None = None
    #: The product applied for, when known: the price then fits its offers' APR to the cap.
    product: LoanProduct | None = None
    #: A replay's recorded price workings: the price (and the per-borrower cap) are then
    #: the record's inputs, not worked out again under today's rules and products.
    recorded_price: Mapping[str, Any] | None = None


@dataclass(slots=True)
class Evaluation:
    outcome: str
    reason_codes: list[str]
    reasons: list[DecisionReason]
    limit: Money | None = None
    annual_rate: Decimal | None = None
    workings: dict[str, Any] = field(default_factory=dict)


class _Reasons:
    """Code → texts, from the policy catalogue or, for model factors, from the model."""

    def __init__(self, texts: Mapping[str, Mapping[str, str]]) -> None:
        self.texts = texts
        self.model_texts: dict[str, ModelReason] = {}

    def learn(self, reasons: tuple[ModelReason, ...]) -> list[str]:
        for reason in reasons:
            self.model_texts[reason.code] = reason
        return [r.code for r in reasons]

    def reason(self, code: str) -> DecisionReason:
        if code in self.model_texts:
            r = self.model_texts[code]
            return DecisionReason(code, r.text_zh or code, r.text_en or code)
        entry = self.texts.get(code)
        if entry is None:
            return DecisionReason(code, code, code)
        return DecisionReason(code, entry["zh"], entry["en"])


def _ranked(codes: list[str]) -> list[str]:
    seen: list[str] = []
    for code in codes:
        if code not in seen:
            seen.append(code)
    return seen[:MAX_REASONS]


class _Run:
    def __init__(self, ctx: EvaluationContext, sources: SourceAccess) -> None:
        self.ctx = ctx
        self.sources = sources
        self.params = ctx.policy.params
        self.reasons = _Reasons(ctx.reason_texts)
        self.scaling = decision_scaling(
            self.params.score_pdo, self.params.score_base, self.params.score_base_odds
        )
        self.payloads: dict[str, Mapping[str, Any]] = {}
        self.stages: list[dict[str, Any]] = []
        self.refer_codes: list[str] = []
        self.workings: dict[str, Any] = {"stages": self.stages}

    # -- outcomes --------------------------------------------------------------
    def finish(
        self,
        outcome: str,
        codes: list[str],
        limit: Money | None = None,
        rate: Decimal | None = None,
    ) -> Evaluation:
        ranked = _ranked(codes)
        if outcome == "decline" and not ranked:
            raise AssertionError("a decline must carry at least one reason")
        return Evaluation(
            outcome=outcome,
            reason_codes=ranked,
            reasons=[self.reasons.reason(c) for c in ranked],
            limit=limit,
            annual_rate=rate,
            workings=self.workings,
        )

    def _hits(
        self, stage: str, facts: Mapping[str, Any], extra: tuple[tuple[str, str], ...] = ()
    ) -> list[str]:
        """Knock-out (and fraud) hits of a stage; returns the decline codes, keeps refer codes."""
        hits = [(h.code, h.action) for h in self.ctx.policy.knockouts(stage, facts)] + list(extra)
        self.stages.append(
            {
                "stage": stage,
                "facts": dict(facts),
                "hits": [{"code": c, "action": a} for c, a in hits],
            }
        )
        self.refer_codes += [c for c, a in hits if a == "refer"]
        return [c for c, a in hits if a == "decline"]

    # -- model -----------------------------------------------------------------
    def features(self) -> dict[str, Any]:
        return build_features(
            self.ctx.applicant,
            self.ctx.on,
            self.payloads,
            default_amount=str(self.params.default_amount.amount),
            default_term_months=self.params.default_term_months,
        )

    def score(
        self, features: Mapping[str, Any], scorer: Scorer | None = None
    ) -> tuple[ModelScore, dict[str, Any]]:
        model = run_scorer(scorer or self.ctx.scorer, features)
        stressed = self.ctx.market.stress_pd(model.pd)
        score = self.scaling.score(stressed)
        band = self.ctx.policy.band(score - self.ctx.market.cutoff_shift_points)
        summary = {
            "model_version": (scorer or self.ctx.scorer).version,
            "pd": model.pd,
            "model_score": model.model_score,
            "stressed_pd": stressed,
            "score": score,
            "band": band.band,
            "band_outcome": band.outcome,
            "model_reasons": [r.code for r in model.reasons],
        }
        return model, summary

    def _outcome_at(self, score: int) -> str:
        return self.ctx.policy.band(score - self.ctx.market.cutoff_shift_points).outcome

    # -- the pipeline ----------------------------------------------------------
    def run(self) -> Evaluation:
        ctx = self.ctx
        rules = parse_rules(ctx.policy.fraud_rules)
        facts = application_facts(ctx.applicant, ctx.on, len(ctx.fraud.get("blacklisted", ())))
        fraud = tuple((h.code, h.action) for h in fraud_hits(rules, ctx.fraud))
        declines = self._hits("application", facts, fraud)
        if declines:
            return self.finish("decline", declines)

        for source, to_facts in PAID_STAGES:
            unavailable = self._fetch(source)
            if unavailable:
                return self.finish("refer", [unavailable, *self.refer_codes])
            declines = self._hits(source, to_facts(self.payloads[source]))
            if declines:
                return self.finish("decline", declines)

        model: ModelScore | None = None
        if self.params.ecommerce_when == "grey_zone":
            model, pre = self.score(self.features())
            self.workings["pre_score"] = pre
            margin = self.params.ecommerce_margin_points
            if self._outcome_at(pre["score"] + margin) == "decline":
                self.workings["final_score"] = pre
                codes = ["SCORE_BELOW_CUTOFF", *self.reasons.learn(model.reasons)]
                return self.finish("decline", codes)
            income_known = self.ctx.applicant.get("monthly_income") is not None
            if not (income_known and self._outcome_at(pre["score"] - margin) == "approve"):
                model = None
        if model is None:
            unavailable = self._fetch("ecommerce")
            if unavailable:
                return self.finish("refer", [unavailable, *self.refer_codes])
            declines = self._hits("ecommerce", ecommerce_facts(self.payloads["ecommerce"]))
            if declines:
                return self.finish("decline", declines)
        return self.decide_on_score(model)

    def _fetch(self, source: str) -> str | None:
        try:
            self.payloads[source] = self.sources.get(source)
        except DataSourceUnavailable as exc:
            self.stages.append({"stage": source, "unavailable": exc.reason})
            return f"DATA_{source.upper()}_UNAVAILABLE"
        return None

    def decide_on_score(self, model: ModelScore | None) -> Evaluation:
        features = self.features()
        self.workings["features"] = features
        if model is None or "ecommerce" in self.payloads:
            model, final = self.score(features)
        else:
            final = self.workings["pre_score"]
        self.workings["final_score"] = final
        if self.ctx.shadow_scorer is not None:
            self.workings["shadow_score"] = self.score(features, self.ctx.shadow_scorer)[1]
        model_codes = self.reasons.learn(model.reasons)
        if final["band_outcome"] == "decline":
            return self.finish("decline", ["SCORE_BELOW_CUTOFF", *model_codes])

        band_limit, band_rate = self.ctx.policy.band_terms(final["band"])
        recorded = self.ctx.recorded_price
        if recorded is not None:
            price = PriceResult(
                Decimal(str(recorded["annual_rate"])),
                Decimal(str(recorded["cost_cap"])),
                bool(recorded["capped"]),
            )
            self.workings["price"] = dict(recorded)
            borrower_cap = money_from(recorded.get("borrower_cap"))
        else:
            price = price_for_band(
                band_rate,
                licence_type=self.params.licence_type,
                on=self.ctx.on,
                cost_caps=self.ctx.cost_caps,
                product=self.ctx.product,
            )
            borrower_cap = self.ctx.cost_caps.borrower_cap(self.params.licence_type, self.ctx.on)
            self.workings["price"] = {
                "band_rate": band_rate,
                "annual_rate": price.annual_rate,
                "cost_cap": price.cost_cap,
                "capped": price.capped,
                "borrower_cap": borrower_cap,
                "rulebook": self.ctx.cost_caps.version,
            }
        limit = compute_limit(self.limit_inputs(band_limit, price.annual_rate, borrower_cap))
        self.workings["limit"] = {
            "binding": limit.binding,
            "candidates": limit.candidates,
            "limit": limit.limit,
            "below_minimum": limit.below_minimum,
            "affordability_known": limit.affordability_known,
            "market_factor": self.ctx.market.limit_factor,
        }
        if not limit.affordability_known:
            return self.finish("refer", ["INCOME_UNVERIFIED", *self.refer_codes, *model_codes])
        if limit.below_minimum:
            return self.finish("decline", ["LIMIT_BELOW_MINIMUM", limit.reason_code, *model_codes])
        notes = [limit.reason_code]
        if limit.market_cut or self.ctx.market.cutoff_shift_points:
            notes.append("MARKET_STRESS")
        if price.capped:
            notes.append("PRICE_CAPPED")
        if final["band_outcome"] == "refer" or self.refer_codes:
            codes = (
                [*self.refer_codes, "SCORE_REVIEW_BAND", *model_codes]
                if final["band_outcome"] == "refer"
                else [*self.refer_codes, *notes]
            )
            return self.finish("refer", codes, limit.limit, price.annual_rate)
        return self.finish("approve", notes, limit.limit, price.annual_rate)

    def limit_inputs(
        self, band_limit: Money, annual_rate: Decimal, borrower_cap: Money | None = None
    ) -> LimitInputs:
        applicant = self.ctx.applicant
        declared: Mapping[str, Any] = applicant.get("declared") or {}
        currency = self.params.currency
        bureau = self.payloads.get("bureau") or {}
        ecommerce = self.payloads.get("ecommerce") or {}
        loans = bureau.get("loans") or {}
        merchant = ecommerce.get("merchant") or {}

        def fen(value: Any) -> Money | None:
            return None if value is None else Money.from_minor(int(value), currency)

        def lowest(*amounts: Money | None) -> Money | None:
            present = [a for a in amounts if a is not None]
            return min(present, key=lambda m: m.amount) if present else None

        income = lowest(
            money_from(applicant.get("monthly_income")), fen(ecommerce.get("income_estimate_fen"))
        )
        turnover = lowest(
            money_from(declared.get("monthly_turnover")), fen(merchant.get("monthly_turnover_fen"))
        )
        price_text = money_amount(declared.get("purchase_price"))
        exposure = money_from(declared.get("existing_credit_limits")) or Money.zero(currency)
        return LimitInputs(
            band_limit=band_limit,
            product_max=self.params.product_max,
            min_limit=self.params.min_limit,
            affordability=self.params.affordability,
            annual_rate=annual_rate,
            term_months=requested_term(applicant, self.params.default_term_months),
            monthly_income=income,
            monthly_debt_service=fen(loans.get("monthly_repayment_fen")) or Money.zero(currency),
            monthly_turnover=turnover,
            purchase_price=Money(price_text, currency) if price_text else None,
            existing_exposure=exposure,
            regulatory_cap=borrower_cap
            or self.ctx.cost_caps.borrower_cap(self.params.licence_type, self.ctx.on),
            market_factor=self.ctx.market.limit_factor,
        )


def evaluate(ctx: EvaluationContext, sources: SourceAccess) -> Evaluation:
    return _Run(ctx, sources).run()
