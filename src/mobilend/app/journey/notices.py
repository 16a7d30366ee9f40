"""What the platform tells a borrower, in Simplified Chinese first and English beside it.

Notices carry amounts, never personal data or internal reference codes: the phone
number they go to is looked up only when the message leaves. Amounts are written with
thousands separators (``3,000.00``), whatever form the caller passes them in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

#: Parameters that hold an amount of money.
AMOUNT_PARAMS = frozenset({"amount", "limit", "outstanding", "available"})


@dataclass(frozen=True, slots=True)
class NoticeText:
    title_zh: str
    title_en: str
    body_zh: str
    body_en: str


TEMPLATES: Mapping[str, NoticeText] = {
    "line_approved": NoticeText(
        "授信成功",
        "Credit line approved",
        "恭喜！您的授信额度为{limit}元，年化利率（APR）{apr}（单利年利率{rate}），有效期至{expires_on}。",
        "Your credit line of CNY {limit} is approved: APR {apr} (simple annual rate {rate}), valid until {expires_on}.",
    ),
    "line_declined": NoticeText(
        "授信申请未通过",
        "Credit application declined",
        "很抱歉，您的授信申请暂未通过。原因：{reasons_zh}",
        "We are sorry: your credit application was declined. Reasons: {reasons_en}",
    ),
    "line_referred": NoticeText(
        "授信申请审核中",
        "Credit application under review",
        "您的授信申请需要进一步审核，我们会尽快通知您结果。",
        "Your credit application needs a further review; we will tell you the result soon.",
    ),
    "contract_signed": NoticeText(
        "借款合同已签署",
        "Loan contract signed",
        "您已签署借款合同，借款{amount}元，年化利率（APR）{apr}，放款处理中。",
        "You signed a loan contract for CNY {amount} at an APR of {apr}; the payout is on its way.",
    ),
    "loan_disbursed": NoticeText(
        "放款成功",
        "Loan paid out",
        "借款{amount}元已发放至您尾号{card_tail}的银行卡，首期还款日{first_due}。",
        "CNY {amount} has been paid to your card ending {card_tail}; the first installment is due on {first_due}.",
    ),
    "disbursement_failed": NoticeText(
        "放款失败",
        "Payout failed",
        "借款{amount}元未能发放至您的银行卡（{failure}），借款已取消，额度已恢复，请更换银行卡后重试。",
        "CNY {amount} could not be paid to your card ({failure}); the loan is cancelled and your line restored. Please change your card and try again.",
    ),
    "repayment_received": NoticeText(
        "还款成功",
        "Payment received",
        "已收到您的还款{amount}元，剩余应还本金{outstanding}元。",
        "We received your payment of CNY {amount}; principal outstanding CNY {outstanding}.",
    ),
    "repayment_failed": NoticeText(
        "还款未成功",
        "Payment failed",
        "您的还款{amount}元未能从银行卡扣款：{reason}。未扣款，借款未变，请处理后重试。",
        "Your payment of CNY {amount} could not be taken from your card: {reason}. Nothing was taken and your loan is unchanged; please try again.",
    ),
    "loan_closed": NoticeText(
        "借款已结清",
        "Loan settled",
        "您的借款已全部结清，感谢您的信任。",
        "Your loan is fully repaid. Thank you.",
    ),
    "line_increased": NoticeText(
        "额度已提高",
        "Credit limit raised",
        "您已接受提额，授信额度现为{limit}元，可用额度{available}元。",
        "You accepted the higher limit: your credit line is now CNY {limit}, CNY {available} available.",
    ),
}


def _grouped(value: str) -> str:
    """``"3000.00"`` → ``"3,000.00"``; anything not a plain amount is left as it is."""
    try:
        amount = Decimal(value.replace(",", ""))
    except InvalidOperation:
        return value
    if not amount.is_finite():
        return value
    exponent = amount.as_tuple().exponent
    places = max(2, -exponent) if isinstance(exponent, int) else 2
    return f"{amount:,.{places}f}"


def render_notice(kind: str, params: Mapping[str, str]) -> NoticeText:
    template = TEMPLATES[kind]
    shown = {k: _grouped(v) if k in AMOUNT_PARAMS else v for k, v in params.items()}
    return NoticeText(
        template.title_zh,
        template.title_en,
        template.body_zh.format(**shown),
        template.body_en.format(**shown),
    )
