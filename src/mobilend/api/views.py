"""Turning use-case results into response bodies (schemas.py). No logic: formatting only."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from mobilend.api.schemas import (
    AllocationOut,
    ApplicationOut,
    AprRangeOut,
    ConsentOut,
    ContractOut,
    ContractSummaryOut,
    DisbursementOut,
    FunderShareOut,
    InstallmentPlanOut,
    KeyTermOut,
    LineOut,
    LoanOut,
    LoanSummaryOut,
    MoneyOut,
    NotificationOut,
    OfferOut,
    PaymentAcceptedOut,
    PaymentOut,
    PayoffQuoteOut,
    ProductOut,
    ProfileOut,
    RateOut,
    ReasonOut,
    ReceiptOut,
    ScheduleLineOut,
    SignedOut,
)
from mobilend.app.funding.disbursement import DisbursementView
from mobilend.app.journey.applications import AprRange, LineView
from mobilend.app.journey.contract_text import key_terms
from mobilend.app.journey.contracts import SignedContract
from mobilend.app.journey.loans import LoanView, PaymentOutcome, PaymentView
from mobilend.app.journey.ports import CreditApplication, LoanContract, Notification, OfferTerms
from mobilend.app.lending.ports import RepaymentRecord
from mobilend.app.onboarding.pii import BorrowerProfile
from mobilend.app.onboarding.service import ConsentView
from mobilend.domain.loans import InstallmentKind
from mobilend.domain.money import Money
from mobilend.domain.prepayment import PayoffQuote


def profile_out(profile: BorrowerProfile) -> ProfileOut:
    return ProfileOut(
        borrower_id=profile.borrower_id,
        status=profile.status,
        phone=profile.phone,
        real_name=profile.real_name,
        national_id=profile.national_id,
        bank_card=profile.bank_card,
        registered_at=profile.registered_at,
        kyc_verified_at=profile.kyc_verified_at,
    )


def consent_out(consent: ConsentView) -> ConsentOut:
    return ConsentOut(
        purpose=consent.purpose,
        text_version=consent.text_version,
        granted_at=consent.granted_at,
        withdrawn_at=consent.withdrawn_at,
    )


def _apr_range(found: AprRange | None) -> AprRangeOut | None:
    if found is None:
        return None
    return AprRangeOut(low=RateOut.of(found.low), high=RateOut.of(found.high))


def application_out(application: CreditApplication, line: LineView | None = None) -> ApplicationOut:
    a = application
    return ApplicationOut(
        application_id=a.application_id,
        outcome=a.outcome,  # type: ignore[arg-type]
        product_code=a.product_code,
        applied_at=a.applied_at,
        decided_on=a.decided_on,
        line_id=a.line_id,
        limit=MoneyOut.of(a.limit) if a.limit is not None else None,
        apr_range=_apr_range(line.apr_range) if line is not None else None,
        annual_rate=RateOut.of(a.annual_rate) if a.annual_rate is not None else None,
        price_band=a.price_band or None,
        expires_on=a.expires_on,
        reasons=[ReasonOut(code=r.code, text_zh=r.text_zh, text_en=r.text_en) for r in a.reasons],
    )


def line_out(view: LineView) -> LineOut:
    line, product = view.line, view.product
    return LineOut(
        line_id=line.line_id,
        status=line.status.value,
        limit=MoneyOut.of(line.limit),
        used=MoneyOut.of(line.used_amount),
        available=MoneyOut.of(line.available),
        apr_range=_apr_range(view.apr_range),
        annual_rate=RateOut.of(view.annual_rate),
        price_band=view.price_band,
        opened_on=line.opened_on,
        expires_on=line.expires_on,
        product=ProductOut(
            code=product.code,
            name=product.name,
            method=product.method.value,
            min_amount=MoneyOut.of(product.min_amount),
            max_amount=MoneyOut.of(product.max_amount),
            min_periods=product.min_periods,
            max_periods=product.max_periods,
        ),
        application_id=view.application_id,
    )


def offer_out(terms: OfferTerms) -> OfferOut:
    currency = terms.currency

    def fen(amount: int) -> MoneyOut:
        return MoneyOut.fen(amount, currency)

    apr, rate = RateOut.of(terms.apr), RateOut.of(terms.annual_rate)
    return OfferOut(
        apr=apr,
        annual_rate=rate,
        rate_disclosure_zh=f"年化利率（APR，按IRR计算）{apr.percent}；名义年利率（单利）{rate.percent}",
        rate_disclosure_en=f"APR (IRR) {apr.percent}; nominal annual rate (simple) {rate.percent}",
        line_id=terms.line_id,
        product_code=terms.product_code,
        product_name=terms.product_name,
        amount=fen(terms.amount_fen),
        disbursed=fen(terms.disbursed_fen),
        periods=terms.periods,
        method=terms.method,
        start_date=terms.start_date,
        maturity_date=terms.maturity_date,
        total_interest=fen(terms.total_interest_fen),
        total_fees=fen(terms.total_fees_fen),
        upfront_fees=fen(terms.upfront_fees_fen),
        total_cost=fen(terms.total_cost_fen),
        total_repayment=fen(terms.total_repayment_fen),
        penalty_rate=RateOut.of(terms.penalty_rate),
        penalty_grace_days=terms.penalty_grace_days,
        installments=[
            InstallmentPlanOut(
                n=i.n,
                due_date=i.due_date,
                principal=fen(i.principal_fen),
                interest=fen(i.interest_fen),
                fees=fen(i.fees_fen),
                total=fen(i.total_fen),
                balance_after=fen(i.balance_after_fen),
            )
            for i in terms.installments
        ],
    )


def _contract_fields(contract: LoanContract) -> dict[str, Any]:
    terms = contract.terms
    return {
        "contract_id": contract.contract_id,
        "status": contract.status,
        "line_id": contract.line_id,
        "sha256": contract.sha256,
        "template_version": contract.template_version,
        "created_at": contract.created_at,
        "offer_date": contract.offer_date,
        "signed_at": contract.signed_at,
        "loan_id": contract.loan_id,
        "apr": RateOut.of(terms.apr),
        "amount": MoneyOut.fen(terms.amount_fen, terms.currency),
    }


def contract_summary_out(contract: LoanContract) -> ContractSummaryOut:
    return ContractSummaryOut(**_contract_fields(contract))


def contract_out(contract: LoanContract) -> ContractOut:
    return ContractOut(
        **_contract_fields(contract),
        ip_address=contract.ip_address,
        device_id=contract.device_id,
        key_terms=[
            KeyTermOut(
                key=t.key,
                label_zh=t.label_zh,
                label_en=t.label_en,
                value_zh=t.value_zh,
                value_en=t.value_en,
            )
            for t in key_terms(contract.terms)
        ],
        terms=offer_out(contract.terms),
        body=contract.body,
    )


def disbursement_out(d: DisbursementView) -> DisbursementOut:
    return DisbursementOut(
        status=d.status,  # type: ignore[arg-type]
        stage=d.stage,
        amount=MoneyOut.of(d.amount),
        requested_at=d.requested_at,
        updated_at=d.updated_at,
        settled_on=d.settled_on,
        failure_code=d.failure_code,
        funders=[FunderShareOut(funder_code=c, amount=MoneyOut.of(a)) for c, a in d.funders],
    )


def _summary_fields(view: LoanView) -> dict[str, Any]:
    loan = view.loan
    upcoming = [
        i.due_date
        for i in loan.installments
        if not i.is_settled and i.kind is InstallmentKind.REGULAR
    ]
    return {
        "loan_id": loan.loan_id,
        "status": loan.status.value,
        "apr": RateOut.of(view.apr) if view.apr is not None else None,
        "annual_rate": RateOut.of(loan.terms.annual_rate),
        "principal": MoneyOut.of(loan.principal),
        "outstanding_principal": MoneyOut.of(loan.outstanding_principal),
        "due_now": MoneyOut.of(view.due_now),
        "next_due_date": min(upcoming) if upcoming and loan.status.value == "active" else None,
        "disbursed_on": loan.disbursed_on,
        "closed_on": loan.closed_on,
        "contract_id": view.contract_id,
        "disbursement_status": view.disbursement.status if view.disbursement else None,
        "credit_balance": MoneyOut.of(view.credit_balance),
        "payments_pending": MoneyOut.of(view.in_flight) if view.in_flight is not None else None,
    }


def loan_summary_out(view: LoanView) -> LoanSummaryOut:
    return LoanSummaryOut(**_summary_fields(view))


def loan_out(view: LoanView) -> LoanOut:
    loan = view.loan
    statuses = loan.installment_statuses(view.as_of)
    schedule = []
    for inst in loan.installments:
        paid, unpaid = inst.paid, inst.unpaid
        schedule.append(
            ScheduleLineOut(
                n=inst.n,
                kind=inst.kind.value,
                due_date=inst.due_date,
                status="paid" if inst.is_settled else statuses[inst.n].value,
                principal=MoneyOut.of(inst.principal_due),
                interest=MoneyOut.of(inst.interest_scheduled),
                fees=MoneyOut.of(inst.fees_due),
                penalty=MoneyOut.of(inst.penalty),
                paid=MoneyOut.of(paid.total),
                remaining=MoneyOut.of(unpaid.total),
                settled_on=inst.settled_on,
            )
        )
    return LoanOut(
        **_summary_fields(view),
        disbursement=disbursement_out(view.disbursement) if view.disbursement else None,
        as_of=view.as_of,
        schedule=schedule,
    )


def signed_out(signed: SignedContract) -> SignedOut:
    return SignedOut(
        contract=contract_summary_out(signed.contract),
        loan=loan_summary_out(signed.loan),
        disbursement=disbursement_out(signed.disbursement),
    )


def payoff_out(quote: PayoffQuote) -> PayoffQuoteOut:
    return PayoffQuoteOut(
        loan_id=quote.loan_id,
        on=quote.on,
        amount_due=MoneyOut.of(quote.amount_due),
        principal=MoneyOut.of(quote.principal),
        interest=MoneyOut.of(quote.interest),
        fees=MoneyOut.of(quote.fees),
        penalty=MoneyOut.of(quote.penalty),
        credit_balance=MoneyOut.of(quote.credit_balance),
    )


def _stored_money(value: Any, currency: str) -> MoneyOut:
    return MoneyOut.of(Money(Decimal(str(value)), currency))


def receipt_out(record: RepaymentRecord) -> ReceiptOut:
    currency = record.amount.currency
    allocation = record.allocation
    return ReceiptOut(
        repayment_id=record.repayment_id,
        loan_id=record.loan_id,
        amount=MoneyOut.of(record.amount),
        received_on=record.received_on,
        channel=record.channel,
        allocation=[
            AllocationOut(
                installment=int(line["installment"]),
                component=str(line["component"]),
                amount=_stored_money(line["amount"], currency),
            )
            for line in allocation.get("lines", [])
        ],
        overpayment=_stored_money(allocation.get("overpayment", "0"), currency),
    )


def payment_out(view: PaymentView) -> PaymentOut:
    return PaymentOut(
        payment_id=view.payment_id,
        loan_id=view.loan_id,
        kind=view.kind,  # type: ignore[arg-type]
        status=view.status,  # type: ignore[arg-type]
        amount=MoneyOut.of(view.amount),
        requested_on=view.requested_on,
        settled_on=view.settled_on,
        repayment_id=view.repayment_id,
        failure_code=view.failure_code,
        failure_reason=view.failure_reason,
        mode=view.mode,
    )


def payment_accepted_out(outcome: PaymentOutcome) -> PaymentAcceptedOut:
    return PaymentAcceptedOut(
        payment=payment_out(outcome.payment), loan=loan_summary_out(outcome.loan)
    )


def notification_out(n: Notification) -> NotificationOut:
    return NotificationOut(
        notification_id=n.notification_id,
        kind=n.kind,
        channel=n.channel,
        status=n.status,
        title_zh=n.title_zh,
        title_en=n.title_en,
        body_zh=n.body_zh,
        body_en=n.body_en,
        created_at=n.created_at,
        sent_at=n.sent_at,
    )
