import dataclasses, datetime as dt
from tests.integration.test_risk_stores_db import *
def test_dbg(db, vault, sandbox):
    person = applicant(12, region="310104")
    for day in range(4):
        later = dataclasses.replace(person, application_id=f"APP-12-{day}")
        d, r = engine_on(db, vault, sandbox).decide_with_record(later, ON + dt.timedelta(days=day))
        print(day, d.outcome, [x.code for x in d.reasons], r["sources_called"], [(e["source"], e.get("cached")) for e in r["inputs"]["sources"]])
