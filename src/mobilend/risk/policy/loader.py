"""Policy sets: versioned rule files a risk analyst edits, evaluated with zen-engine.

A scenario's policy version is a folder ``files/<scenario>/<version>/`` holding:

* ``policy.json`` — parameters (product limits, score scale, affordability, when to buy
  e-commerce data) and the names of the table files;
* ``knockouts.json`` — a JDM decision table, hit policy *collect*: every row that
  matches the stage's facts is a knock-out hit with a reason code and an action;
* ``score_bands.json`` — score → band and outcome (first hit);
* ``limits.json`` / ``pricing.json`` — band → highest limit / annual rate (first hit);
* ``fraud.json`` — velocity and shared-identifier thresholds (see ``risk/fraud.py``).

The JDM tables are compiled once per process (``create_decision``) and reused: the
Python↔Rust call costs more than the evaluation itself. A policy set's SHA-256 over all
its files is recorded with every decision, so a replay can prove it used the same rules.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import zen

from mobilend.domain.money import Money

FILES_DIR = Path(__file__).resolve().parent / "files"
STAGES = ("application", "telco", "bureau", "ecommerce")
ACTIONS = ("decline", "refer")


class PolicyError(ValueError):
    """A policy file is missing, malformed, or gave an answer the engine cannot use."""


class UnknownProduct(PolicyError):
    pass


@dataclass(frozen=True, slots=True)
class KnockoutHit:
    code: str
    action: str  # decline | refer
    stage: str


@dataclass(frozen=True, slots=True)
class BandResult:
    band: str
    outcome: str  # approve | refer | decline


@dataclass(frozen=True, slots=True)
class Affordability:
    method: str  # income | turnover
    max_debt_service_ratio: Decimal
    income_multiple: Decimal | None = None
    turnover_multiple: Decimal | None = None
    net_margin: Decimal | None = None
    max_financed_share_of_price: Decimal | None = None


@dataclass(frozen=True, slots=True)
class PolicyParams:
    """The typed view of ``policy.json``."""

    scenario: str
    version: str
    name_zh: str
    name_en: str
    licence_type: str
    currency: str
    min_limit: Money
    product_max: Money
    default_term_months: int
    default_amount: Money
    offer_valid_days: int
    score_pdo: float
    score_base: float
    score_base_odds: float
    ecommerce_when: str  # always | grey_zone
    ecommerce_margin_points: int
    affordability: Affordability

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> PolicyParams:
        try:
            currency = str(data.get("currency", "CNY"))
            scale = data["score_scale"]
            ecommerce = data["ecommerce"]
            aff = data["affordability"]

            def dec(key: str) -> Decimal | None:
                return Decimal(str(aff[key])) if aff.get(key) is not None else None

            params = cls(
                scenario=str(data["scenario"]),
                version=str(data["version"]),
                name_zh=str(data["name_zh"]),
                name_en=str(data["name_en"]),
                licence_type=str(data["licence_type"]),
                currency=currency,
                min_limit=Money(str(data["min_limit"]), currency),
                product_max=Money(str(data["product_max"]), currency),
                default_term_months=int(data["default_term_months"]),
                default_amount=Money(str(data["default_amount"]), currency),
                offer_valid_days=int(data["offer_valid_days"]),
                score_pdo=float(scale["pdo"]),
                score_base=float(scale["base_score"]),
                score_base_odds=float(scale["base_odds"]),
                ecommerce_when=str(ecommerce["when"]),
                ecommerce_margin_points=int(ecommerce.get("margin_points", 0)),
                affordability=Affordability(
                    method=str(aff["method"]),
                    max_debt_service_ratio=Decimal(str(aff["max_debt_service_ratio"])),
                    income_multiple=dec("income_multiple"),
                    turnover_multiple=dec("turnover_multiple"),
                    net_margin=dec("net_margin"),
                    max_financed_share_of_price=dec("max_financed_share_of_price"),
                ),
            )
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            raise PolicyError(f"policy.json is malformed: {exc!r}") from exc
        if params.ecommerce_when not in ("always", "grey_zone"):
            raise PolicyError(
                f"ecommerce.when must be always or grey_zone, not {params.ecommerce_when!r}"
            )
        if params.affordability.method not in ("income", "turnover"):
            raise PolicyError(f"unknown affordability method {params.affordability.method!r}")
        return params


class PolicySet:
    """One scenario's rules at one version, compiled and ready to evaluate."""

    def __init__(self, folder: Path, engine: zen.ZenEngine) -> None:
        self.folder = folder
        manifest_path = folder / "policy.json"
        if not manifest_path.is_file():
            raise PolicyError(f"no policy.json in {folder}")
        self.manifest: dict[str, Any] = json.loads(manifest_path.read_text("utf-8"))
        self.params = PolicyParams.parse(self.manifest)
        files: Mapping[str, str] = self.manifest.get("files", {})
        digest = hashlib.sha256()
        for path in sorted(p for p in folder.iterdir() if p.is_file()):
            digest.update(path.name.encode("utf-8") + b"\0" + path.read_bytes() + b"\0")
        self.sha256 = digest.hexdigest()
        try:
            self._knockouts = engine.create_decision(self._read(files["knockouts"]))
            self._bands = engine.create_decision(self._read(files["score_bands"]))
            self._limits = engine.create_decision(self._read(files["limits"]))
            self._pricing = engine.create_decision(self._read(files["pricing"]))
            self.fraud_rules: dict[str, Any] = json.loads(self._read(files["fraud"]))
        except KeyError as exc:
            raise PolicyError(f"policy.json of {folder} does not name the file {exc}") from exc
        except RuntimeError as exc:  # zen reports malformed JDM as RuntimeError
            raise PolicyError(f"a decision table in {folder} does not load: {exc}") from exc
        self._band_values: dict[str, tuple[Money, Decimal]] = {}
        self._band_by_score: dict[int, BandResult] = {}
        self._lock = threading.Lock()

    def _read(self, name: str) -> str:
        path = self.folder / name
        if not path.is_file():
            raise PolicyError(f"policy file {path} is missing")
        return path.read_text("utf-8")

    @property
    def scenario(self) -> str:
        return self.params.scenario

    @property
    def version(self) -> str:
        return self.params.version

    @property
    def policy_id(self) -> str:
        return f"{self.params.scenario}/{self.params.version}"

    def knockouts(self, stage: str, facts: Mapping[str, Any]) -> list[KnockoutHit]:
        """Every knock-out row of ``stage`` that ``facts`` match, in table order."""
        if stage not in STAGES:
            raise PolicyError(f"unknown stage {stage!r}")
        result = self._knockouts.evaluate({**facts, "stage": stage})["result"]
        rows = result if isinstance(result, list) else [result] if result else []
        hits = []
        for row in rows:
            code, action = row.get("code"), row.get("action")
            if not isinstance(code, str) or action not in ACTIONS:
                raise PolicyError(f"knock-out row gave code={code!r} action={action!r}")
            hits.append(KnockoutHit(code, action, stage))
        return hits

    def band(self, score: int) -> BandResult:
        """Band and outcome of an integer score. The table is fixed, so each score's answer
        is kept: the engine is asked once per distinct score (a few hundred at most)."""
        with self._lock:
            known = self._band_by_score.get(score)
        if known is not None:
            return known
        result = self._bands.evaluate({"score": score})["result"]
        band, outcome = result.get("band"), result.get("outcome")
        if not isinstance(band, str) or outcome not in ("approve", "refer", "decline"):
            raise PolicyError(
                f"score band table gave band={band!r} outcome={outcome!r} for {score}"
            )
        answer = BandResult(band, outcome)
        with self._lock:
            if len(self._band_by_score) < 10_000:
                self._band_by_score[score] = answer
        return answer

    def band_terms(self, band: str) -> tuple[Money, Decimal]:
        """(highest limit, annual rate) of a band; the tables are fixed, so answers are kept."""
        with self._lock:
            known = self._band_values.get(band)
        if known is not None:
            return known
        limit = self._limits.evaluate({"band": band})["result"].get("max_limit")
        rate = self._pricing.evaluate({"band": band})["result"].get("annual_rate")
        if limit is None or rate is None:
            raise PolicyError(f"band {band!r} has no row in the limit or pricing table")
        value = (Money(str(limit), self.params.currency), Decimal(str(rate)))
        with self._lock:
            self._band_values[band] = value
        return value


class PolicyBook:
    """All scenarios' policy sets under one folder; each version is compiled once."""

    def __init__(self, root: Path | str = FILES_DIR, engine: zen.ZenEngine | None = None) -> None:
        self.root = Path(root)
        self._engine = engine or zen.ZenEngine()
        index_path = self.root / "active.json"
        index = json.loads(index_path.read_text("utf-8")) if index_path.is_file() else {}
        self.active: dict[str, str] = dict(index.get("active", {}))
        self.products: dict[str, str] = dict(index.get("products", {}))
        self._sets: dict[tuple[str, str], PolicySet] = {}
        self._lock = threading.Lock()
        reasons_path = self.root / "reasons.json"
        self.reason_texts: dict[str, dict[str, str]] = (
            json.loads(reasons_path.read_text("utf-8"))["codes"] if reasons_path.is_file() else {}
        )

    def get(self, scenario: str, version: str | None = None) -> PolicySet:
        version = version or self.active.get(scenario)
        if version is None:
            raise UnknownProduct(f"no active policy version for scenario {scenario!r}")
        key = (scenario, version)
        with self._lock:
            found = self._sets.get(key)
            if found is None:
                folder = self.root / scenario / version
                if not folder.is_dir():
                    raise PolicyError(f"policy {scenario}/{version} not found under {self.root}")
                found = PolicySet(folder, self._engine)
                self._sets[key] = found
        return found

    def scenario_for(self, product_code: str) -> str:
        if product_code in self.products:
            return self.products[product_code]
        lowered = product_code.lower()
        for scenario in self.active:
            if lowered == scenario or lowered.startswith((scenario + "-", scenario + "_")):
                return scenario
        raise UnknownProduct(f"no policy scenario serves product {product_code!r}")

    def for_product(self, product_code: str, version: str | None = None) -> PolicySet:
        return self.get(self.scenario_for(product_code), version)
