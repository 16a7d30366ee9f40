"""The consent texts a borrower is shown, one current version per purpose.

A grant records the version shown; granting against a version that is not the current
one is refused, so the record always names a text that was really on screen.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from mobilend.domain.errors import Problem, ValidationFailed


@dataclass(frozen=True, slots=True)
class ConsentText:
    purpose: str
    text_version: str
    required_for: tuple[str, ...]  # credit_application | contract_signing
    title_zh: str
    title_en: str
    body_zh: str
    body_en: str


CONSENT_TEXTS: Mapping[str, ConsentText] = {
    text.purpose: text
    for text in (
        ConsentText(
            "credit_report_query",
            "credit-report-2026.1",
            ("credit_application",),
            "征信查询授权书",
            "Authorisation to query your credit report",
            "本人授权贷款人在授信审批、贷后管理期间向金融信用信息基础数据库及依法设立的征信机构查询、"
            "使用本人的信用报告，并依法报送本人的借款与还款信息。",
            "I authorise the lender to obtain and use my credit report from the credit reference "
            "centre and licensed credit bureaus for credit approval and loan management, and to "
            "report my borrowing and repayment as the law requires.",
        ),
        ConsentText(
            "data_use",
            "data-use-2026.1",
            ("credit_application",),
            "个人信息处理授权书",
            "Consent to the processing of personal information",
            "本人同意贷款人为身份核验、风险评估、反欺诈与合同履行之目的，处理本人的身份、联系方式、"
            "银行卡、设备及运营商信息；信息加密存储，不向无关第三方提供，本人可依法查询、更正与撤回。",
            "I agree that the lender processes my identity, contact, bank card, device and carrier "
            "data to verify my identity, assess risk, prevent fraud and perform the contract; the data "
            "is stored encrypted, never passed to unrelated parties, and I may access, correct or "
            "withdraw consent as the law provides.",
        ),
        ConsentText(
            "e_contract",
            "e-contract-2026.1",
            ("contract_signing",),
            "电子签约授权",
            "Consent to sign electronically",
            "本人同意以电子方式签署借款合同，电子签名与手写签名具有同等法律效力；"
            "合同文本、签署时间、IP地址与设备标识将被保存作为签约凭证。",
            "I agree to sign loan contracts electronically, with the same legal effect as a handwritten "
            "signature; the contract text, signing time, IP address and device id are kept as evidence.",
        ),
        ConsentText(
            "marketing",
            "marketing-2026.1",
            (),
            "营销信息接收（可选）",
            "Marketing messages (optional)",
            "本人同意接收产品与优惠信息，可随时在设置中撤回。",
            "I agree to receive product and offer messages and may withdraw at any time in settings.",
        ),
    )
}


def check_text_version(purpose: str, text_version: str) -> ConsentText:
    """The current text for ``purpose``; refused unless ``text_version`` is that text's."""
    text = CONSENT_TEXTS.get(purpose)
    if text is None:
        raise ValidationFailed([Problem("purpose", "未知的授权用途 (unknown purpose)")])
    if text_version != text.text_version:
        raise ValidationFailed(
            [
                Problem(
                    "text_version",
                    f"授权文本已更新为{text.text_version} (the current text is {text.text_version})",
                )
            ]
        )
    return text
