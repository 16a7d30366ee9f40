"""Sandbox credit data service: bureau (征信), telco and e-commerce sources over real HTTP.

One FastAPI app stands in for the three paid data sources a lender calls when deciding.
Each applicant's data comes deterministically from one row of ``credit_data.csv``
(see ``credit_profiles.py``), so the same national ID always gets the same report.

Wire format (JSON; money is integer fen; every answer carries ``source`` and
``data_version``; send an ``Idempotency-Key`` header so retries are recognisable):

* ``POST /bureau/v1/reports`` ``{"national_id", "full_name"}`` → credit report:
  ``subject.name_match``, ``personal.*``, ``loans.*`` (open loans, lenders, new lenders
  in 30/90 days, outstanding balance, monthly repayment, current overdue),
  ``repayment_history.*``, ``queries.last_30d/last_90d``.
* ``POST /telco/v1/verifications`` ``{"phone", "full_name", "national_id"}`` →
  ``real_name_match``, ``phone_status``, ``phone_tenure_months``, ``carrier``, ``monthly_bill_fen``.
* ``POST /ecommerce/v1/profiles`` ``{"national_id", "phone"}`` → ``monthly_spend_fen``,
  ``return_rate``, ``income_estimate_fen``, ``wealth_estimate_fen``, ``merchant.*``.

Identity: the first name seen for a national ID is the registered one (the bureau's
``name_match`` is false for any other name); the first person seen with a phone number
owns it (the telco's ``real_name_match`` is false for anyone else).

Test identities (``test_identities.py``): for the documented national IDs the three
sources answer from scripted profiles, so each gets a known decision (approve, decline,
refer, fraud hit, bureau outage); their names are registered from the start.
``GET /`` shows them as a page, ``GET /test-identities`` as JSON.

Admin (never faulted): ``/admin/faults`` (latency, timeout, error_5xx, down — see
``faults.py``; ``paths: ["/bureau"]`` limits a fault to one source), ``/admin/reset``,
``/admin/stats``; ``POST /admin/overrides`` ``{"national_id", "source", "patch"}`` lays a
patch over one person's answer (``DELETE`` clears them); ``GET /admin/profiles/{id}`` is
the simulation oracle: the dataset row behind an ID, outcome included.

Run: ``python -m mobilend.sandbox.credit_data --port 8701 [--data FILE.csv]``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from mobilend.sandbox.credit_profiles import (
    CreditDataset,
    bureau_report,
    deep_merge,
    default_data_path,
    ecommerce_profile,
    telco_record,
)
from mobilend.sandbox.faults import FaultBoard, admin_router
from mobilend.sandbox.test_identities import (
    GOOD_BUREAU,
    GOOD_ECOMMERCE,
    GOOD_TELCO,
    IDENTITIES,
    identities_table_html,
    identity_for,
    page,
)

SOURCES = ("bureau", "telco", "ecommerce")


class BureauRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    national_id: str = Field(min_length=15, max_length=18)
    full_name: str = Field(min_length=1, max_length=100)


class TelcoRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phone: str = Field(min_length=5, max_length=20)
    full_name: str = Field(min_length=1, max_length=100)
    national_id: str = Field(min_length=15, max_length=18)


class EcommerceRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    national_id: str = Field(min_length=15, max_length=18)
    phone: str = Field(default="", max_length=20)


class OverrideBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    national_id: str = Field(min_length=15, max_length=18)
    source: Literal["bureau", "telco", "ecommerce"]
    patch: dict[str, Any]


class CreditDataService:
    """State of one sandbox instance: dataset, identity registries, overrides, counters."""

    def __init__(self, dataset: CreditDataset, seed: int = 0) -> None:
        self.dataset = dataset
        self.faults = FaultBoard(frozenset(), seed)
        self.registered_names: dict[str, str] = {}
        self._register_test_identities()
        self.phone_owners: dict[str, tuple[str, str]] = {}
        self.overrides: dict[tuple[str, str], dict[str, Any]] = {}
        self.calls: dict[str, int] = dict.fromkeys(SOURCES, 0)
        self.answered: dict[str, int] = dict.fromkeys(SOURCES, 0)

    @staticmethod
    def _nid(national_id: str) -> str:
        return national_id.strip().upper()

    def _register_test_identities(self) -> None:
        for identity in IDENTITIES:
            self.registered_names[identity.national_id] = identity.name

    def is_down_for(self, source: str, national_id: str) -> bool:
        """Whether ``source`` is scripted to fail for this person (a test identity)."""
        identity = identity_for(national_id)
        return identity is not None and source in identity.unavailable

    def _finish(self, source: str, national_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        patch = self.overrides.get((source, self._nid(national_id)))
        if patch:
            payload = deep_merge(payload, patch)
        self.answered[source] += 1
        return {"source": source, "data_version": self.dataset.data_version, **payload}

    def bureau(self, body: BureauRequest) -> dict[str, Any]:
        nid = self._nid(body.national_id)
        registered = self.registered_names.setdefault(nid, body.full_name.strip())
        name_match = registered == body.full_name.strip()
        identity = identity_for(nid)
        if identity is not None:
            payload = {
                "report_id": f"BR-TEST-{identity.key.upper()}",
                "subject": {"name_match": name_match},
                **deep_merge(dict(GOOD_BUREAU), dict(identity.bureau)),
            }
            return self._finish("bureau", nid, payload)
        row = self.dataset.row_for(nid)
        payload = bureau_report(row, nid, name_match=name_match)
        return self._finish("bureau", nid, payload)

    def telco(self, body: TelcoRequest) -> dict[str, Any]:
        nid = self._nid(body.national_id)
        phone = body.phone.strip()
        owner = self.phone_owners.setdefault(phone, (nid, body.full_name.strip()))
        matches = owner == (nid, body.full_name.strip())
        identity = identity_for(nid)
        if identity is not None:
            payload = {
                "verification_id": f"TV-TEST-{identity.key.upper()}",
                "real_name_match": matches,
                **deep_merge(dict(GOOD_TELCO), dict(identity.telco)),
            }
            return self._finish("telco", nid, payload)
        row = self.dataset.row_for(nid)
        return self._finish("telco", nid, telco_record(row, phone, real_name_match=matches))

    def ecommerce(self, body: EcommerceRequest) -> dict[str, Any]:
        nid = self._nid(body.national_id)
        identity = identity_for(nid)
        if identity is not None:
            payload = {
                "profile_id": f"EC-TEST-{identity.key.upper()}",
                **deep_merge(dict(GOOD_ECOMMERCE), dict(identity.ecommerce)),
            }
            return self._finish("ecommerce", nid, payload)
        return self._finish("ecommerce", nid, ecommerce_profile(self.dataset.row_for(nid), nid))

    def oracle(self, national_id: str) -> dict[str, Any]:
        row = self.dataset.row_for(self._nid(national_id))
        return {"data_version": self.dataset.data_version, "row": row.as_dict()}

    async def reset(self, options: dict[str, Any]) -> None:
        self.registered_names.clear()
        self._register_test_identities()
        self.phone_owners.clear()
        self.overrides.clear()
        self.calls = dict.fromkeys(SOURCES, 0)
        self.answered = dict.fromkeys(SOURCES, 0)

    def stats(self) -> dict[str, Any]:
        return {
            "calls": dict(self.calls),
            "answered": dict(self.answered),
            "data_version": self.dataset.data_version,
            "rows": len(self.dataset.rows),
        }


def create_app(data_path: str | Path | None = None, seed: int = 0) -> FastAPI:
    service = CreditDataService(CreditDataset(data_path or default_data_path()), seed)
    app = FastAPI(title="mobilend sandbox credit data (bureau, telco, e-commerce)", version="1")
    app.state.service = service
    app.include_router(admin_router(service.faults, service.reset, service.stats))

    async def answer(source: str, request: Request, produce: Any, national_id: str) -> Any:
        service.calls[source] += 1
        subject = request.headers.get("Idempotency-Key") or request.url.path
        verdict = await service.faults.before(request.url.path, subject)
        if verdict.response is not None:
            return verdict.response
        if service.is_down_for(source, national_id):
            return JSONResponse(
                {"error": "unavailable", "detail": "sandbox test identity: source down"},
                status_code=503,
            )
        payload = produce()
        late = await service.faults.after(verdict)
        return late or JSONResponse(payload)

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "data_version": service.dataset.data_version}

    @app.get("/", response_class=HTMLResponse)
    async def index() -> str:
        intro = (
            "<p>以下身份证号的征信、运营商和消费数据是固定的，审批结果可预知。"
            "其他有效身份证号的数据取自 credit_data.csv 的一行。</p>"
            "<p>The bureau, telco and e-commerce answers for these resident IDs are scripted, "
            "so their decisions are known in advance. Any other valid ID gets a row of "
            "credit_data.csv.</p>"
        )
        return page("沙盒测试身份 / Sandbox test identities", intro + identities_table_html())

    @app.get("/test-identities")
    async def test_identities() -> dict[str, Any]:
        return {"identities": [identity.as_json() for identity in IDENTITIES]}

    @app.post("/bureau/v1/reports")
    async def bureau(body: BureauRequest, request: Request) -> Any:
        return await answer("bureau", request, lambda: service.bureau(body), body.national_id)

    @app.post("/telco/v1/verifications")
    async def telco(body: TelcoRequest, request: Request) -> Any:
        return await answer("telco", request, lambda: service.telco(body), body.national_id)

    @app.post("/ecommerce/v1/profiles")
    async def ecommerce(body: EcommerceRequest, request: Request) -> Any:
        return await answer("ecommerce", request, lambda: service.ecommerce(body), body.national_id)

    @app.post("/admin/overrides")
    async def set_override(body: OverrideBody) -> dict[str, Any]:
        key = (body.source, service._nid(body.national_id))
        service.overrides[key] = deep_merge(service.overrides.get(key, {}), body.patch)
        return {"overrides": len(service.overrides)}

    @app.delete("/admin/overrides")
    async def clear_overrides() -> dict[str, Any]:
        service.overrides.clear()
        return {"overrides": 0}

    @app.get("/admin/profiles/{national_id}")
    async def profile(national_id: str) -> dict[str, Any]:
        return service.oracle(national_id)

    return app


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8701)
    parser.add_argument("--data", default=None, help="credit_data.csv (default: repo data/)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the fault draws")
    args = parser.parse_args(argv)
    uvicorn.run(
        create_app(args.data, args.seed), host=args.host, port=args.port, log_level="warning"
    )


if __name__ == "__main__":
    main()
