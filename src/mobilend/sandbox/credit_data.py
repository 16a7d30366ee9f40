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
from fastapi.responses import JSONResponse
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
        self.phone_owners: dict[str, tuple[str, str]] = {}
        self.overrides: dict[tuple[str, str], dict[str, Any]] = {}
        self.calls: dict[str, int] = dict.fromkeys(SOURCES, 0)
        self.answered: dict[str, int] = dict.fromkeys(SOURCES, 0)

    @staticmethod
    def _nid(national_id: str) -> str:
        return national_id.strip().upper()

    def _finish(self, source: str, national_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        patch = self.overrides.get((source, self._nid(national_id)))
        if patch:
            payload = deep_merge(payload, patch)
        self.answered[source] += 1
        return {"source": source, "data_version": self.dataset.data_version, **payload}

    def bureau(self, body: BureauRequest) -> dict[str, Any]:
        nid = self._nid(body.national_id)
        registered = self.registered_names.setdefault(nid, body.full_name.strip())
        row = self.dataset.row_for(nid)
        payload = bureau_report(row, nid, name_match=registered == body.full_name.strip())
        return self._finish("bureau", nid, payload)

    def telco(self, body: TelcoRequest) -> dict[str, Any]:
        nid = self._nid(body.national_id)
        phone = body.phone.strip()
        owner = self.phone_owners.setdefault(phone, (nid, body.full_name.strip()))
        matches = owner == (nid, body.full_name.strip())
        row = self.dataset.row_for(nid)
        return self._finish("telco", nid, telco_record(row, phone, real_name_match=matches))

    def ecommerce(self, body: EcommerceRequest) -> dict[str, Any]:
        nid = self._nid(body.national_id)
        return self._finish("ecommerce", nid, ecommerce_profile(self.dataset.row_for(nid), nid))

    def oracle(self, national_id: str) -> dict[str, Any]:
        row = self.dataset.row_for(self._nid(national_id))
        return {"data_version": self.dataset.data_version, "row": row.as_dict()}

    async def reset(self, options: dict[str, Any]) -> None:
        self.registered_names.clear()
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

    async def answer(source: str, request: Request, produce: Any) -> Any:
        service.calls[source] += 1
        subject = request.headers.get("Idempotency-Key") or request.url.path
        verdict = await service.faults.before(request.url.path, subject)
        if verdict.response is not None:
            return verdict.response
        payload = produce()
        late = await service.faults.after(verdict)
        return late or JSONResponse(payload)

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "data_version": service.dataset.data_version}

    @app.post("/bureau/v1/reports")
    async def bureau(body: BureauRequest, request: Request) -> Any:
        return await answer("bureau", request, lambda: service.bureau(body))

    @app.post("/telco/v1/verifications")
    async def telco(body: TelcoRequest, request: Request) -> Any:
        return await answer("telco", request, lambda: service.telco(body))

    @app.post("/ecommerce/v1/profiles")
    async def ecommerce(body: EcommerceRequest, request: Request) -> Any:
        return await answer("ecommerce", request, lambda: service.ecommerce(body))

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
