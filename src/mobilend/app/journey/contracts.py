"""Use cases: drawdown offers (用信), the e-contract, and signing it.

An offer is live: every installment, total interest and fees, and the APR (the IRR of
the borrower's cash flows), refused above the cost cap. A contract draft freezes one
offer into the text the borrower reads; its SHA-256 is over exactly that text. Signing
presents the hash back: the loan is drawn and routed to its funder(s) (``app.funding``:
the own pool unless partners are configured), its ledger entries posted against the
rail's in-transit account, the contract marked signed (time, IP, device) and the payout
queued in funding's outbox (``app.disbursement``) — one commit. The disbursement worker
sends it; the rail's signed webhook settles it.

Identity in the contract is masked: the stored text never holds personal data in clear
(the borrower id ties it to the sealed identity).
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from decimal import Decimal

from mobilend.app.funding.disbursement import DisbursementView, disbursement_view
from mobilend.app.journey.applications import line_rate
from mobilend.app.journey.context import JourneyContext, notify, percent
from mobilend.app.journey.contract_text import render_contract
from mobilend.app.journey.loans import LoanView, loan_view
from mobilend.app.journey.ports import (
    ContractStatus,
    InstallmentTerms,
    LoanContract,
    OfferTerms,
)
from mobilend.app.lending.loans import LoanOffer, draw_loan_in, quote_draw_in
from mobilend.app.unit_of_work import UnitOfWork
from mobilend.domain.borrowers import (
    ConsentPurpose,
    mask_bank_card,
    mask_name,
    mask_national_id,
    require_consents,
)
from mobilend.domain.errors import Conflict, NotFound, Problem, ValidationFailed
from mobilend.domain.money import Money


class ContractAlreadySigned(Conflict):
    code = "contract_already_signed"


class ContractExpired(Conflict):
    code = "contract_expired"


class ContractTermsChanged(Conflict):
    code = "contract_terms_changed"


APR_DIGITS = Decimal("0.000001")


def offer_terms(offer: LoanOffer) -> OfferTerms:
    """The offer as values: what a contract freezes and what screens show."""
    schedule = offer.schedule
    upfront = schedule.upfront_fee_total
    interest, fees = schedule.total_interest, schedule.total_fees + upfront
    return OfferTerms(
        line_id=offer.line_id,
        product_code=offer.product.code,
        product_name=offer.product.name,
        currency=schedule.currency,
        amount_fen=schedule.principal.to_minor(),
        disbursed_fen=schedule.disbursed.to_minor(),
        periods=len(schedule.installments),
        method=schedule.method.value,
        start_date=schedule.start_date,
        maturity_date=schedule.maturity_date,
        annual_rate=Decimal(str(offer.annual_rate)),
        apr=offer.apr.apr.quantize(APR_DIGITS),
        total_interest_fen=interest.to_minor(),
        total_fees_fen=fees.to_minor(),
        upfront_fees_fen=upfront.to_minor(),
        total_cost_fen=(interest + fees).to_minor(),
        total_repayment_fen=(schedule.total_amount + upfront).to_minor(),
        penalty_rate=Decimal(str(offer.product.penalty_rate)),
        penalty_grace_days=offer.product.penalty_grace_days,
        installments=tuple(
            InstallmentTerms(
                n=i.n,
                due_date=i.due_date,
                principal_fen=i.principal.to_minor(),
                interest_fen=i.interest.to_minor(),
                fees_fen=i.fees.to_minor(),
                total_fen=i.total.to_minor(),
                balance_after_fen=i.balance_after.to_minor(),
            )
            for i in schedule.installments
        ),
    )


def _owned_line_offer(
    ctx: JourneyContext,
    uow: UnitOfWork,
    borrower_id: str,
    line_id: str,
    amount: Money,
    periods: int,
) -> LoanOffer:
    line = uow.lending.lines.get(line_id)
    if line.borrower_id != borrower_id:
        raise NotFound(f"credit line {line_id} not found")
    return quote_draw_in(
        uow,
        ctx.cost_caps,
        line_id=line_id,
        amount=amount,
        periods=periods,
        on=ctx.today(),
        annual_rate=line_rate(uow, line),
    )


def quote_offer(
    ctx: JourneyContext, *, borrower_id: str, line_id: str, amount: Money, periods: int
) -> OfferTerms:
    """A live drawdown offer on the borrower's own line."""
    with ctx.uow() as uow:
        return offer_terms(_owned_line_offer(ctx, uow, borrower_id, line_id, amount, periods))


def draft_contract(
    ctx: JourneyContext, *, borrower_id: str, line_id: str, amount: Money, periods: int
) -> LoanContract:
    """Render the e-contract for an offer and keep it as a draft (valid on its offer date)."""
    kyc = ctx.onboarding.load_borrower(borrower_id).ensure_can_borrow()
    now = ctx.now()
    with ctx.uow() as uow:
        terms = offer_terms(_owned_line_offer(ctx, uow, borrower_id, line_id, amount, periods))
        contract_id = ctx.new_id()
        body = render_contract(
            contract_id=contract_id,
            borrower_id=borrower_id,
            borrower_name=mask_name(kyc.real_name),
            national_id=mask_national_id(kyc.national_id),
            bank_card=mask_bank_card(kyc.bank_card),
            terms=terms,
            settings=ctx.settings,
        )
        contract = LoanContract(
            contract_id=contract_id,
            borrower_id=borrower_id,
            line_id=line_id,
            status=ContractStatus.DRAFT,
            template_version=ctx.settings.contract_template_version,
            body=body,
            sha256=hashlib.sha256(body.encode("utf-8")).hexdigest(),
            terms=terms,
            created_at=now,
            offer_date=ctx.today(),
        )
        uow.journey.contracts.add(contract)
        uow.commit()
    return contract


@dataclass(frozen=True, slots=True)
class SignedContract:
    contract: LoanContract
    loan: LoanView
    disbursement: DisbursementView
    outbox: tuple[str, ...]


def owned_contract(
    uow: UnitOfWork, borrower_id: str, contract_id: str, *, lock: bool = False
) -> LoanContract:
    contract = uow.journey.contracts.get(contract_id, for_update=lock)
    if contract.borrower_id != borrower_id:
        raise NotFound(f"contract {contract_id} not found")
    return contract


def sign_in_transaction(
    ctx: JourneyContext,
    uow: UnitOfWork,
    *,
    borrower_id: str,
    contract_id: str,
    sha256: str,
    ip_address: str,
    device_id: str,
) -> SignedContract:
    """Accept (sign) a draft: draw the loan (routed to its funders, its payout queued),
    record the signature."""
    contract = owned_contract(uow, borrower_id, contract_id, lock=True)
    if contract.status != ContractStatus.DRAFT:
        raise ContractAlreadySigned("合同已签署 (this contract is already signed)")
    if sha256.strip().lower() != contract.sha256:
        message = "与展示的合同不一致 (does not match the contract shown)"
        raise ValidationFailed([Problem("sha256", message)])
    today, now = ctx.today(), ctx.now()
    if contract.offer_date != today:
        message = "报价已过期，请重新生成合同 (the offer has expired; draft the contract again)"
        raise ContractExpired(message)
    terms = contract.terms
    # The line's price band stands in for the score band partner funders decide on.
    application = uow.journey.applications.by_line(contract.line_id)
    drawn = draw_loan_in(
        uow,
        ctx.cost_caps,
        ctx.new_id,
        line_id=contract.line_id,
        amount=terms.amount,
        periods=terms.periods,
        on=today,
        annual_rate=terms.annual_rate,
        borrower_id=borrower_id,
        score_band=application.price_band if application is not None else "",
        queued_at=now,
    )
    if offer_terms(drawn.offer) != terms:
        raise ContractTermsChanged("产品条款已变更，请重新生成合同 (terms changed; draft again)")
    signed = dataclasses.replace(
        contract,
        status=ContractStatus.SIGNED,
        signed_at=now,
        ip_address=ip_address[:100],
        device_id=device_id[:200],
        loan_id=drawn.loan.loan_id,
    )
    uow.journey.contracts.save(signed)
    disbursement = disbursement_view(uow, drawn.loan.loan_id)
    if disbursement is None:
        raise RuntimeError("the journey's unit of work must carry funding's stores")
    notice = notify(
        uow,
        ctx,
        borrower_id,
        "contract_signed",
        {
            "contract_ref": contract_id[-8:].upper(),
            "amount": drawn.loan.principal.format(),
            "apr": percent(terms.apr),
        },
    )
    view = loan_view(uow, drawn.loan, today, disbursement)
    return SignedContract(signed, view, disbursement, (notice,))


def check_can_sign(ctx: JourneyContext, borrower_id: str) -> None:
    """Identity verified and the e-contract consent given (checked before the transaction)."""
    borrower, consents = ctx.onboarding.load_with_consents(borrower_id)
    borrower.ensure_can_borrow()
    require_consents(consents, (ConsentPurpose.E_CONTRACT,))


def contracts(ctx: JourneyContext, borrower_id: str) -> list[LoanContract]:
    with ctx.uow() as uow:
        return uow.journey.contracts.for_borrower(borrower_id)


def contract(ctx: JourneyContext, borrower_id: str, contract_id: str) -> LoanContract:
    with ctx.uow() as uow:
        return owned_contract(uow, borrower_id, contract_id)
