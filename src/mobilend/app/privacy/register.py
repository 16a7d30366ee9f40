"""The register of personal data (PIPL art. 51, 54–55; 个人信息处理活动记录): what the
platform holds about a borrower, where it comes from, for which purpose and on which
legal basis, who receives it, how long it is kept and what erasure does to it.

It is also the plan the stores follow: the export lists every table named here, and
erasure treats each table as its entry says — ``clear`` empties the personal columns,
``delete`` removes the rows, ``keep`` leaves records the law requires (the ledger, loan
contracts and servicing history, keyed only by the pseudonymous borrower id). A test
checks that every table with a ``borrower_id`` column has an entry, so a new table of
personal data cannot go unregistered.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from mobilend.domain.borrowers import ConsentPurpose


class Basis(enum.StrEnum):
    """Legal basis of a processing (PIPL art. 13)."""

    CONSENT = "consent"  # art. 13(1): the consent named in ``consent``
    CONTRACT = "contract"  # art. 13(2): needed to make or perform the loan contract
    LEGAL_OBLIGATION = "legal_obligation"  # art. 13(3): AML, credit reporting, accounting


BASIS_NAMES = {
    Basis.CONSENT: "个人同意 consent",
    Basis.CONTRACT: "订立履行合同所必需 contract",
    Basis.LEGAL_OBLIGATION: "履行法定义务 legal obligation",
}


class Erasure(enum.StrEnum):
    CLEAR = "clear"
    DELETE = "delete"
    KEEP = "keep"


@dataclass(frozen=True, slots=True)
class Purpose:
    code: str
    zh: str
    en: str
    basis: Basis
    #: The consent that covers it (withdrawing it stops this processing), if any.
    consent: ConsentPurpose | None = None
    #: What stops when that consent is withdrawn (English, then Chinese).
    stops: str = ""
    stops_zh: str = ""


PURPOSES: tuple[Purpose, ...] = (
    Purpose("account", "账户与身份核验", "account and identity verification", Basis.CONTRACT),
    Purpose(
        "credit_assessment",
        "授信审批与额度复评",
        "credit decisions and line reviews",
        Basis.CONSENT,
        ConsentPurpose.DATA_USE,
        "no new application is decided and no line is re-scored",
        "不再审批新的申请，不再复评额度",
    ),
    Purpose(
        "credit_report_query",
        "查询征信报告",
        "querying the credit bureau",
        Basis.CONSENT,
        ConsentPurpose.CREDIT_REPORT_QUERY,
        "the bureau is not queried again: no application, no line review",
        "不再查询征信：不审批申请，不复评额度",
    ),
    Purpose("loan_contract", "签订与履行借款合同", "making and servicing the loan", Basis.CONTRACT),
    Purpose(
        "e_signature",
        "电子签名",
        "electronic signature of contracts",
        Basis.CONSENT,
        ConsentPurpose.E_CONTRACT,
        "no new contract is signed",
        "不再签署新的合同",
    ),
    Purpose(
        "marketing",
        "营销信息",
        "marketing messages",
        Basis.CONSENT,
        ConsentPurpose.MARKETING,
        "no marketing message is sent (checked as each leaves)",
        "不再发送营销信息（每条发送时核对）",
    ),
    Purpose(
        "fraud_prevention",
        "反欺诈",
        "fraud prevention",
        Basis.CONSENT,
        ConsentPurpose.DATA_USE,
        "no new sighting is recorded for the borrower",
        "不再记录新的申请识别信息",
    ),
    Purpose(
        "legal_records",
        "法定留存（反洗钱、会计、征信报送）",
        "records the law requires (AML, accounting, credit reporting)",
        Basis.LEGAL_OBLIGATION,
    ),
)

PURPOSE_BY_CODE = {p.code: p for p in PURPOSES}


@dataclass(frozen=True, slots=True)
class Source:
    code: str
    zh: str
    en: str
    data: str  # what it gives


SOURCES: tuple[Source, ...] = (
    Source(
        "borrower", "借款人本人", "the borrower", "phone, name, ID, bank card, income, consents"
    ),
    Source("device", "借款人设备", "the borrower's device", "device id, IP address (reduced)"),
    Source(
        "credit_bureau",
        "征信机构",
        "credit bureau",
        "credit report: loans, overdue amounts, enquiries",
    ),
    Source("telco", "电信运营商", "telecom operator", "real-name match, number status and tenure"),
    Source("ecommerce", "电商平台", "e-commerce platform", "income estimate, merchant turnover"),
    Source("platform", "本平台", "this platform", "decisions, loans, repayments, messages"),
)


@dataclass(frozen=True, slots=True)
class Holding:
    """One table holding data about borrowers."""

    table: str
    zh: str
    en: str
    sources: tuple[str, ...]
    purposes: tuple[str, ...]
    erasure: Erasure
    #: Columns emptied by ``clear`` (the rest stays: ids, dates, amounts).
    columns: tuple[str, ...] = ()
    #: Sealed columns and the vault field each is sealed as (opened for the export).
    sealed: tuple[tuple[str, str], ...] = ()
    shared_with: tuple[str, ...] = ()
    retention: str = "5 years after the relationship ends (AML law art. 19)"
    why_kept: str = ""
    #: How the borrower's rows are found: (this table's column, the ``borrowers`` column
    #: it holds); empty for a table not searchable by borrower (it expires on its own).
    found_by: tuple[str, str] | tuple[()] = ("borrower_id", "id")


HOLDINGS: tuple[Holding, ...] = (
    Holding(
        "borrowers", "账户与身份", "account and identity", ("borrower",),
        ("account", "credit_assessment", "loan_contract", "legal_records"), Erasure.CLEAR,
        columns=(
            "phone_enc", "phone_bidx", "name_enc", "national_id_enc", "national_id_bidx",
            "bank_card_enc", "bank_card_bidx", "birth_date_enc", "freeze_reason",
        ),
        sealed=(
            ("phone_enc", "phone"), ("name_enc", "real_name"),
            ("national_id_enc", "national_id"), ("bank_card_enc", "bank_card"),
            ("birth_date_enc", "birth_date"),
        ),
        shared_with=("funders (contract parties)", "payment rail (payouts)"),
        found_by=("id", "id"),
    ),
    Holding(
        "consents", "授权记录", "consents", ("borrower", "device"), ("legal_records",),
        Erasure.CLEAR, columns=("ip_address", "device_id"),
        why_kept="proof of each consent given and withdrawn (purpose, text version, dates)",
    ),
    Holding(
        "credit_applications", "授信申请", "credit applications", ("borrower", "platform"),
        ("credit_assessment",), Erasure.CLEAR, columns=("declared",),
    ),
    Holding(
        "referral_reviews", "人工审核记录", "manual reviews", ("platform",),
        ("credit_assessment", "legal_records"), Erasure.KEEP,
        why_kept="who approved or declined a referred application and why: a credit record",
    ),
    Holding(
        "collection_cases", "催收案件", "collection cases", ("platform",),
        ("loan_contract", "legal_records"), Erasure.KEEP,
        why_kept="the recovery record of a debt (ids, buckets, amounts; no personal data)",
    ),
    Holding(
        "collection_contacts", "催收联系记录", "collection contact log", ("platform",),
        ("loan_contract", "legal_records"), Erasure.KEEP,
        why_kept="conduct evidence (time, channel, outcome, refusals) regulators may ask for",
    ),
    Holding(
        "collection_complaints", "投诉记录", "complaints", ("borrower",),
        ("loan_contract", "legal_records"), Erasure.KEEP,
        why_kept="complaint handling is a record the conduct rules require",
    ),
    Holding(
        "collection_contact_persons", "紧急联系人", "emergency contacts", ("borrower",),
        ("loan_contract",), Erasure.DELETE, sealed=(("phone_enc", "phone"),),
        retention="until the debt is settled or erasure",
    ),
    Holding(
        "collection_daily_slots", "催收呼叫计数", "collection call counts", ("platform",),
        ("loan_contract",), Erasure.DELETE, retention="until erasure",
    ),
    Holding(
        "decisions", "审批决策记录", "decision records",
        ("credit_bureau", "telco", "ecommerce", "platform"),
        ("credit_assessment", "credit_report_query", "fraud_prevention"), Erasure.CLEAR,
        columns=("record",),
        why_kept="the summary (outcome, reasons, versions) is a credit record; the full "
        "record with every data-source answer is emptied (decisions are append-only but "
        "for their sealed record)",
    ),
    Holding(
        "notifications", "站内通知", "inbox notices", ("platform",), ("loan_contract",),
        Erasure.DELETE, retention="until erasure",
    ),
    Holding(
        "servicing_messages", "催收与提醒消息", "reminders and service messages", ("platform",),
        ("loan_contract", "marketing"), Erasure.DELETE, shared_with=("SMS gateway",),
    ),
    Holding(
        "message_receipts", "消息回执", "message receipts", ("platform",), ("loan_contract",),
        Erasure.DELETE, shared_with=("SMS gateway",),
    ),
    Holding(
        "message_daily_counts", "消息计数", "message counts", ("platform",), ("loan_contract",),
        Erasure.DELETE, retention="until erasure",
    ),
    Holding(
        "borrower_contact_settings", "联系偏好", "contact settings", ("borrower", "device"),
        ("loan_contract", "marketing"), Erasure.DELETE, retention="until erasure",
    ),
    Holding(
        "outbox", "待发消息", "messages to send", ("platform",), ("loan_contract",),
        Erasure.DELETE, retention="until sent", shared_with=("SMS gateway",),
    ),
    Holding(
        "idempotency_keys", "请求幂等记录", "once-only request records", ("platform",),
        ("loan_contract",), Erasure.DELETE, retention="until erasure",
    ),
    Holding(
        "incoming_transfers", "银行转账", "bank transfers", ("platform",),
        ("loan_contract", "legal_records"), Erasure.CLEAR, columns=("payer_masked",),
        why_kept="the repayment it became is an accounting record",
    ),
    Holding(
        "fraud_sightings", "申请识别信息", "application sightings", ("borrower", "device"),
        ("fraud_prevention",), Erasure.DELETE, found_by=("national_id_bidx", "national_id_bidx"),
    ),
    Holding(
        "otp_challenges", "短信验证码", "sign-in codes", ("platform",), ("account",),
        Erasure.DELETE, retention="until erasure", found_by=("subject", "phone_bidx"),
    ),
    Holding(
        "refresh_tokens", "登录会话", "sign-in sessions", ("platform",), ("account",),
        Erasure.DELETE, retention="30 days", found_by=("subject", "id"),
    ),
    Holding(
        "credit_reports", "征信报告缓存", "credit report cache",
        ("credit_bureau", "telco", "ecommerce"), ("credit_report_query",), Erasure.KEEP,
        retention="the source's time to live (days), then purged by housekeeping",
        why_kept="keyed by a hash of the identity, not by borrower; expires on its own",
        found_by=(),
    ),
    Holding(
        "fraud_blacklist", "反欺诈黑名单", "fraud blacklist", ("platform",),
        ("fraud_prevention",), Erasure.KEEP, retention="while the fraud finding stands",
        why_kept="keyed hashes of identifiers found in fraud, removed by operations",
        found_by=(),
    ),
    Holding(
        "loan_behaviour_scores", "还款行为评分", "behaviour scores", ("platform",),
        ("credit_assessment",), Erasure.DELETE,
    ),
    Holding(
        "bureau_changes", "征信变动监测", "bureau change monitoring", ("credit_bureau",),
        ("credit_assessment",), Erasure.DELETE,
    ),
    # Records the law requires: kept with the pseudonymous borrower id only.
    *(
        Holding(
            table, zh, en, ("platform",), ("loan_contract", "legal_records"), Erasure.KEEP,
            shared_with=shared, retention=retention, why_kept=why,
        )
        for table, zh, en, shared, retention, why in (
            ("credit_lines", "授信额度", "credit lines", (), "5 years after the line ends",
             "credit granted: lending record (AML)"),
            ("loans", "借款", "loans", ("funders",), "5 years after the loan ends",
             "loan record (AML, accounting)"),
            ("installments", "还款计划", "installments", (), "as the loan", "loan record"),
            ("loan_contracts", "借款合同", "loan contracts", ("funders",),
             "5 years after the loan ends (contract, e-signature evidence)",
             "signed contracts cannot change; their text masks the identity"),
            ("repayments", "还款记录", "repayments", (), "as the loan", "accounting record"),
            ("repayment_reversals", "还款冲正", "repayment reversals", (), "as the loan",
             "accounting record"),
            ("credit_refunds", "退款", "refunds", ("payment rail",), "as the loan",
             "accounting record"),
            ("autodebit_attempts", "代扣记录", "auto-debit attempts", ("payment rail",),
             "as the loan", "payment record"),
            ("journal_entries", "会计分录", "journal entries", (),
             "30 years (accounting archives rules)", "the ledger is append-only"),
            ("postings", "会计分录明细", "postings", (), "30 years (accounting archives rules)",
             "the ledger is append-only"),
            ("loan_payouts", "放款记录", "payouts", ("payment rail",), "as the loan",
             "payment record"),
            ("loan_tranches", "出资份额", "funding tranches", ("funders",), "as the loan",
             "joint-lending record"),
            ("partner_approvals", "合作机构审批", "partner approvals", ("funders",), "as the loan",
             "joint-lending record"),
            ("routing_decisions", "资金路由", "funding routing", (), "as the loan",
             "joint-lending record"),
            ("funding_outbox", "放款消息", "payout messages", ("payment rail",), "as the loan",
             "payment record"),
            ("line_reviews", "额度复评", "line reviews", (), "as the line", "credit record"),
            ("loan_pricing", "定价与规则版本", "loan pricing", (), "as the loan",
             "what the loan was priced at and under which rules"),
            ("bureau_records", "征信报送记录", "credit bureau submissions", ("credit bureau",),
             "5 years (credit reporting regulation art. 16)", "what was reported"),
            ("erasure_requests", "删除请求", "erasure requests", (), "permanently",
             "proof that the erasure was done"),
        )
    ),
)  # fmt: skip

HOLDING_BY_TABLE = {h.table: h for h in HOLDINGS}


def consent_stops(purpose: ConsentPurpose) -> list[Purpose]:
    """The processing a consent covers: what stops when it is withdrawn."""
    return [p for p in PURPOSES if p.consent is purpose]
