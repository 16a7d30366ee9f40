"""Credit data sources for portfolio simulations: the bureau, telco and e-commerce answers
for each simulated applicant, built in process by the same functions the sandbox data
service uses (``sandbox.credit_profiles``) from the dataset row the applicant was drawn
from. The row handed in carries no outcome: the simulation keeps the truth to itself."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from mobilend.domain.decisions import Applicant
from mobilend.domain.money import Money
from mobilend.risk.ports import DataSourceUnavailable, SourceReport
from mobilend.sandbox.credit_profiles import (
    DatasetRow,
    bureau_report,
    ecommerce_profile,
    telco_record,
)

#: What each answer costs the lender (the HTTP adapters' default prices).
COSTS = {"bureau": Money("2.00"), "telco": Money("0.50"), "ecommerce": Money("0.30")}


class SimulatedCreditSource:
    """One source (``bureau`` / ``telco`` / ``ecommerce``) over ``rows`` by national ID."""

    def __init__(self, name: str, rows: Mapping[str, DatasetRow], data_version: str) -> None:
        self._name = name
        self._rows = rows
        self._version = data_version
        #: What the lender paid this source so far.
        self.spend = Money("0.00")

    @property
    def name(self) -> str:
        return self._name

    def fetch(self, applicant: Applicant, on: dt.date) -> SourceReport:
        row = self._rows.get(applicant.national_id)
        if row is None:
            raise DataSourceUnavailable(self._name, "no_record")
        if self._name == "bureau":
            payload = bureau_report(row, applicant.national_id, True)
        elif self._name == "telco":
            payload = telco_record(row, applicant.phone, True)
        else:
            payload = ecommerce_profile(row, applicant.national_id)
        self.spend = self.spend + COSTS[self._name]
        return SourceReport(self._name, payload, self._version, on, COSTS[self._name])


def simulated_sources(
    rows: Mapping[str, DatasetRow], data_version: str
) -> dict[str, SimulatedCreditSource]:
    return {name: SimulatedCreditSource(name, rows, data_version) for name in COSTS}
