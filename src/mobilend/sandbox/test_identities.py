"""Sandbox test identities: people whose credit decision is known in advance.

Like a payment provider's test cards, each identity below always gets the same outcome
from the default scoring engine when the credit data comes from this sandbox
(``MOBILEND_DECISION_ENGINE=auto`` with no ``MOBILEND_CREDIT_DATA_URL``, what ``make
run`` starts): the sandbox answers for these national IDs from the scripted profiles
here instead of from a dataset row. Any other valid ID gets a row of ``credit_data.csv``
(see ``credit_profiles.py``) and whatever the model makes of it.

The fraud identity is on the platform's blacklist: the service puts it there when it
starts this sandbox itself (``bootstrap.sandboxes.seed_sandbox_blacklist``). The outage
identity's bureau report always fails (HTTP 503), as a bureau that is down would.

Standard library only: the sandbox shares nothing with the platform but the wire format.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: Dataset money unit → fen, as in ``credit_profiles`` (one unit = ¥40).
_FEN_PER_UNIT = 4000


@dataclass(frozen=True, slots=True)
class SandboxIdentity:
    """One documented test person: what to type, and what the decision will be."""

    key: str  # approve | decline | refer | fraud | outage
    outcome: str  # approve | decline | refer
    name: str
    national_id: str
    phone: str  # 11-digit mainland mobile number
    bank_card: str
    #: What happens, for the README and the sandbox pages.
    result_zh: str
    result_en: str
    #: The reason code the decision leads with (none for an approval).
    reason_code: str = ""
    #: Anything the applicant must do for this outcome (empty: nothing special).
    note_zh: str = ""
    note_en: str = ""
    bureau: Mapping[str, Any] = field(default_factory=dict)
    telco: Mapping[str, Any] = field(default_factory=dict)
    ecommerce: Mapping[str, Any] = field(default_factory=dict)
    #: Sources that answer 503 for this person.
    unavailable: frozenset[str] = frozenset()
    blacklisted: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "outcome": self.outcome,
            "name": self.name,
            "national_id": self.national_id,
            "phone": self.phone,
            "bank_card": self.bank_card,
            "result_zh": self.result_zh,
            "result_en": self.result_en,
            "reason_code": self.reason_code,
            "note_zh": self.note_zh,
            "note_en": self.note_en,
            "unavailable": sorted(self.unavailable),
            "blacklisted": self.blacklisted,
        }


def _fen(units: int) -> int:
    return units * _FEN_PER_UNIT


#: A clean, well-off applicant: long job tenure, own home, no debt, no late payments.
GOOD_BUREAU: Mapping[str, Any] = {
    "personal": {
        "marital_status": "married",
        "housing": "owner",
        "occupation_type": "fixed",
        "employer_tenure_years": 12,
    },
    "loans": {
        "open_loans": 0,
        "lenders_count": 0,
        "new_lenders_30d": 0,
        "new_lenders_90d": 0,
        "outstanding_balance_fen": 0,
        "monthly_repayment_fen": 0,
        "current_overdue_fen": 0,
        "current_overdue_days": 0,
    },
    "repayment_history": {"overdue_events_24m": 0, "max_overdue_days_24m": 0},
    "queries": {"last_30d": 0, "last_90d": 1},
}
GOOD_TELCO: Mapping[str, Any] = {
    "phone_status": "active",
    "carrier": "CMCC",
    "phone_tenure_months": 96,
    "monthly_bill_fen": 12_800,
}
GOOD_ECOMMERCE: Mapping[str, Any] = {
    "monthly_spend_fen": _fen(60),  # ¥2,400 a month
    "return_rate": "0.03",
    "active_months": 72,
    "income_estimate_fen": _fen(300),  # ¥12,000 a month
    "wealth_estimate_fen": _fen(10_000),  # ¥400,000
    "merchant": {"monthly_turnover_fen": None, "active_months": 48},
}

IDENTITIES: tuple[SandboxIdentity, ...] = (
    SandboxIdentity(
        key="approve",
        outcome="approve",
        name="张通过",
        national_id="110101199001010111",
        phone="13800000001",
        bank_card="6222020000000015",
        result_zh="批准：授信额度与利率立即可用",
        result_en="Approved: a credit line and its price at once",
    ),
    SandboxIdentity(
        key="decline",
        outcome="decline",
        name="王拒绝",
        national_id="110101198802020227",
        phone="13800000002",
        bank_card="6222020000000023",
        result_zh="拒绝：征信报告显示当前有逾期未还款项",
        result_en="Declined: the credit report shows a payment overdue now",
        reason_code="KO_CURRENT_OVERDUE",
        bureau={
            "loans": {
                "open_loans": 2,
                "lenders_count": 2,
                "outstanding_balance_fen": 1_860_000,
                "monthly_repayment_fen": 155_000,
                "current_overdue_fen": 320_000,
                "current_overdue_days": 45,
            },
            "repayment_history": {"overdue_events_24m": 2, "max_overdue_days_24m": 45},
        },
    ),
    SandboxIdentity(
        key="refer",
        outcome="refer",
        name="赵转审",
        national_id="110101198603030334",
        phone="13800000003",
        bank_card="6222020000000031",
        result_zh="转人工审核：收入无法核实，网购退货比例异常",
        result_en="Referred for review: income cannot be confirmed, unusual share of returns",
        reason_code="INCOME_UNVERIFIED",
        note_zh="“月收入”请留空",
        note_en="leave “monthly income” empty",
        ecommerce={"return_rate": "0.42", "income_estimate_fen": None},
    ),
    SandboxIdentity(
        key="fraud",
        outcome="decline",
        name="钱欺诈",
        national_id="110101198704040443",
        phone="13800000004",
        bank_card="6222020000000049",
        result_zh="拒绝（反欺诈）：身份证号在风险名单上，不查询任何付费数据",
        result_en="Declined (fraud check): the ID is on the risk list; no paid data is bought",
        reason_code="KO_BLACKLIST",
        blacklisted=True,
    ),
    SandboxIdentity(
        key="outage",
        outcome="refer",
        name="孙中断",
        national_id="11010119890505055X",
        phone="13800000005",
        bank_card="6222020000000056",
        result_zh="转人工审核：征信机构暂时无法应答（HTTP 503）",
        result_en="Referred for review: the credit bureau is not answering (HTTP 503)",
        reason_code="DATA_BUREAU_UNAVAILABLE",
        unavailable=frozenset({"bureau"}),
    ),
)

BY_NATIONAL_ID: Mapping[str, SandboxIdentity] = {i.national_id: i for i in IDENTITIES}
BY_KEY: Mapping[str, SandboxIdentity] = {i.key: i for i in IDENTITIES}


def identity_for(national_id: str) -> SandboxIdentity | None:
    return BY_NATIONAL_ID.get(national_id.strip().upper())


def blacklisted_national_ids() -> list[str]:
    return [i.national_id for i in IDENTITIES if i.blacklisted]


def identities_table_html(extra_columns: Mapping[str, Mapping[str, str]] | None = None) -> str:
    """The identities as an HTML table (for the sandboxes' index pages); ``extra_columns``
    adds a column per title, keyed by phone number."""
    extra = extra_columns or {}
    head = ["结果 Outcome", "手机号 Phone", "姓名 Name", "身份证号 Resident ID", "银行卡 Card"]
    head += list(extra)
    rows = []
    for i in IDENTITIES:
        result = f"{html.escape(i.result_zh)}<br>{html.escape(i.result_en)}"
        if i.note_zh:
            result += f"<br><b>{html.escape(i.note_zh)} / {html.escape(i.note_en)}</b>"
        cells = [
            result,
            html.escape(i.phone),
            html.escape(i.name),
            html.escape(i.national_id),
            html.escape(i.bank_card),
        ]
        cells += [html.escape(column.get(i.phone, "")) for column in extra.values()]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    header = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    return f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def page(title: str, body: str) -> str:
    """A minimal stand-alone HTML page (no scripts, no inline styles)."""
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title></head><body>"
        f"<h1>{html.escape(title)}</h1>{body}</body></html>"
    )
