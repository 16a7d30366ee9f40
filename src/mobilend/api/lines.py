"""Credit-line applications (授信) and the borrower's lines."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, status

from mobilend.api.deps import ApplicationIdPath, BorrowerId, ClientIp, DeviceId, Journey, LineIdPath
from mobilend.api.errors import error_responses
from mobilend.api.schemas import ApplicationIn, ApplicationOut, LineOut, Page
from mobilend.api.views import application_out, line_out
from mobilend.app.journey.applications import LineView
from mobilend.app.journey.ports import CreditApplication
from mobilend.app.journey.service import BorrowerJourney
from mobilend.domain.errors import NotFound
from mobilend.domain.money import Money

router = APIRouter(tags=["credit lines 授信"])


def _with_line(
    journey: BorrowerJourney, borrower_id: str, application: CreditApplication
) -> ApplicationOut:
    line: LineView | None = None
    if application.line_id is not None:
        try:
            line = journey.line(borrower_id, application.line_id)
        except NotFound:
            line = None
    return application_out(application, line)


@router.post(
    "/credit-applications",
    status_code=status.HTTP_201_CREATED,
    response_model=ApplicationOut,
    summary="Apply for a credit line 申请授信",
    responses=error_responses(429),
    description="Needs verified identity and the credit-report and data-use consents. The "
    "answer is an approved line (limit, annual rate, APR range, expiry) or a decline or "
    "referral with reasons in Chinese and English.",
)
def apply(
    body: ApplicationIn,
    borrower_id: BorrowerId,
    journey: Journey,
    background: BackgroundTasks,
    ip: ClientIp,
    device_id: DeviceId = "",
) -> ApplicationOut:
    application, outbox = journey.apply_for_line(
        borrower_id,
        product_code=body.product_code,
        monthly_income=Money.from_minor(body.monthly_income_fen),
        device_id=device_id,
        ip_address=ip,
    )
    background.add_task(journey.dispatch, outbox)
    return _with_line(journey, borrower_id, application)


@router.get(
    "/credit-applications",
    response_model=Page[ApplicationOut],
    summary="My applications, newest first 我的授信申请",
)
def list_applications(borrower_id: BorrowerId, journey: Journey) -> Page[ApplicationOut]:
    return Page[ApplicationOut](
        items=[_with_line(journey, borrower_id, a) for a in journey.applications(borrower_id)]
    )


@router.get(
    "/credit-applications/{application_id}",
    response_model=ApplicationOut,
    summary="One application and its decision 授信申请详情",
)
def get_application(
    application_id: ApplicationIdPath, borrower_id: BorrowerId, journey: Journey
) -> ApplicationOut:
    return _with_line(journey, borrower_id, journey.application(borrower_id, application_id))


@router.get("/lines", response_model=Page[LineOut], summary="My credit lines 我的额度")
def list_lines(borrower_id: BorrowerId, journey: Journey) -> Page[LineOut]:
    return Page[LineOut](items=[line_out(v) for v in journey.lines(borrower_id)])


@router.get("/lines/{line_id}", response_model=LineOut, summary="One credit line 额度详情")
def get_line(line_id: LineIdPath, borrower_id: BorrowerId, journey: Journey) -> LineOut:
    return line_out(journey.line(borrower_id, line_id))
