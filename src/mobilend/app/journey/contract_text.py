"""The loan contract's text (借款合同), rendered from an offer snapshot.

The key terms — amount, APR, total cost, repayment, overdue consequences, use of personal
information — come first, each marked ★, and ``key_terms`` gives the same list for screens
that highlight them. The text is plain UTF-8 so its SHA-256 is unambiguous.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from mobilend.app.journey.ports import OfferTerms

METHOD_NAMES = {
    "equal-installment": ("等额本息", "equal installments"),
    "equal-principal": ("等额本金", "equal principal"),
    "interest-first": ("先息后本", "interest first, principal at maturity"),
    "bullet": ("到期一次还本付息", "principal and interest at maturity"),
}


class LenderNames(Protocol):
    @property
    def lender_name_zh(self) -> str: ...

    @property
    def lender_name_en(self) -> str: ...

    @property
    def contract_template_version(self) -> str: ...


@dataclass(frozen=True, slots=True)
class KeyTerm:
    key: str
    label_zh: str
    label_en: str
    value_zh: str
    value_en: str


def yuan(fen: int) -> str:
    """``123456`` → ``'1,234.56'``."""
    return f"{Decimal(fen).scaleb(-2):,.2f}"


def pct(rate: str | Decimal) -> str:
    return f"{(Decimal(rate) * 100).quantize(Decimal('0.01'))}%"


def key_terms(terms: OfferTerms) -> list[KeyTerm]:
    """The terms a borrower must see highlighted, in the order the contract shows them."""
    method_zh, method_en = METHOD_NAMES.get(terms.method, (terms.method, terms.method))
    first = terms.installments[0]
    periods = terms.periods
    penalty = pct(terms.penalty_rate)
    grace = terms.penalty_grace_days
    return [
        KeyTerm(
            "amount",
            "借款金额",
            "Amount",
            f"{yuan(terms.amount_fen)}元",
            f"CNY {yuan(terms.amount_fen)}",
        ),
        KeyTerm(
            "apr",
            "年化利率（APR，按内部收益率IRR计算）",
            "APR (annualised IRR of all payments)",
            pct(terms.apr),
            pct(terms.apr),
        ),
        KeyTerm(
            "annual_rate",
            "年利率（单利）",
            "Annual interest rate (simple)",
            pct(terms.annual_rate),
            pct(terms.annual_rate),
        ),
        KeyTerm(
            "total_cost",
            "借款总成本（利息+费用）",
            "Total cost (interest + fees)",
            f"{yuan(terms.total_cost_fen)}元（利息{yuan(terms.total_interest_fen)}元，费用{yuan(terms.total_fees_fen)}元）",
            f"CNY {yuan(terms.total_cost_fen)} (interest {yuan(terms.total_interest_fen)}, fees {yuan(terms.total_fees_fen)})",
        ),
        KeyTerm(
            "repayment",
            "还款安排",
            "Repayment",
            f"{method_zh}，共{periods}期，首期{first.due_date}应还{yuan(first.total_fen)}元，"
            f"还款总额{yuan(terms.total_repayment_fen)}元，到期日{terms.maturity_date}",
            f"{method_en}, {periods} installments, first CNY {yuan(first.total_fen)} due {first.due_date}, "
            f"CNY {yuan(terms.total_repayment_fen)} in total, final due {terms.maturity_date}",
        ),
        KeyTerm(
            "overdue",
            "逾期后果",
            "If you pay late",
            f"逾期超过{grace}天起按逾期本金年化{penalty}计收罚息；逾期信息将依法报送金融信用信息基础数据库，"
            "可能影响您的信用记录；我们将通过短信、电话提醒并依法催收。",
            f"From {grace} days late, penalty interest at {penalty} a year on overdue principal; late payment "
            "is reported to the credit reference centre as the law requires and may harm your credit record; "
            "we will remind you by SMS and phone and collect lawfully.",
        ),
        KeyTerm(
            "personal_information",
            "个人信息使用",
            "Use of your personal information",
            "您的身份、联系方式、银行卡与借款信息仅用于本合同的订立、履行、风险管理和依法报送，"
            "加密存储，未经您同意不用于营销，合同结清后按法定期限保存。",
            "Your identity, contact, card and loan data serve only to make, perform and manage this "
            "contract and for reports the law requires; stored encrypted, never used for marketing "
            "without your consent, kept for the legal period after the loan is settled.",
        ),
    ]


def render_contract(
    *,
    contract_id: str,
    borrower_id: str,
    borrower_name: str,
    national_id: str,
    bank_card: str,
    terms: OfferTerms,
    settings: LenderNames,
) -> str:
    """The full contract text, Simplified Chinese with English beside each clause."""
    lines = [
        "借款合同 Loan Contract",
        f"合同编号 Contract No.: {contract_id}",
        f"模板版本 Template: {settings.contract_template_version}",
        "",
        f"贷款人 Lender: {settings.lender_name_zh} ({settings.lender_name_en})",
        f"借款人 Borrower: {borrower_name}（身份证号 ID {national_id}，客户号 customer {borrower_id}）",
        f"收款银行卡 Payout card: {bank_card}",
        "",
        "【重要条款提示 KEY TERMS — 请仔细阅读 please read carefully】",
    ]
    for term in key_terms(terms):
        lines.append(f"★ {term.label_zh} {term.label_en}: {term.value_zh}")
        if term.value_en != term.value_zh:
            lines.append(f"  {term.value_en}")
    lines += [
        "",
        "第一条 借款 Article 1 The loan",
        f"产品 Product: {terms.product_name} ({terms.product_code})；放款日 start {terms.start_date}；"
        f"实际到账 paid out CNY {yuan(terms.disbursed_fen)}（费用不从借款中扣除 fees are never deducted from the payout）。",
        "",
        "第二条 还款计划 Article 2 Repayment schedule",
        "期数 No. | 还款日 Due | 本金 Principal | 利息 Interest | 费用 Fees | 应还 Total | 剩余本金 Balance",
    ]
    for i in terms.installments:
        lines.append(
            f"{i.n} | {i.due_date} | {yuan(i.principal_fen)} | {yuan(i.interest_fen)} | "
            f"{yuan(i.fees_fen)} | {yuan(i.total_fen)} | {yuan(i.balance_after_fen)}"
        )
    lines += [
        "",
        "第三条 提前还款 Article 3 Early repayment",
        "借款人可随时提前部分或全部还款，利息只计至还款日，不收取提前还款违约金。",
        "You may repay part or all early at any time; interest runs only to the day you pay; no early-repayment penalty.",
        "",
        "第四条 逾期 Article 4 Late payment",
        "见重要条款“逾期后果”。 See the key term 'If you pay late'.",
        "",
        "第五条 个人信息 Article 5 Personal information",
        "见重要条款“个人信息使用”。 See the key term 'Use of your personal information'.",
        "",
        "第六条 签署 Article 6 Signing",
        "借款人以电子方式确认签署本合同，签署时间、IP地址与设备标识随合同哈希一并保存，与手写签名具有同等效力。",
        "You sign this contract electronically; the time, IP address and device id are kept with its hash "
        "and bind you as a handwritten signature would.",
    ]
    return "\n".join(lines) + "\n"
