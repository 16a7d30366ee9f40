"""The borrower's inbox: every notice the platform sent them, newest first."""

from __future__ import annotations

from fastapi import APIRouter, Query

from mobilend.api.deps import BorrowerId, Journey
from mobilend.api.schemas import NotificationOut, Page
from mobilend.api.views import notification_out

router = APIRouter(tags=["notifications 消息"])


@router.get("/notifications", response_model=Page[NotificationOut], summary="My inbox 消息中心")
def inbox(
    borrower_id: BorrowerId,
    journey: Journey,
    limit: int = Query(default=50, ge=1, le=200),
) -> Page[NotificationOut]:
    return Page[NotificationOut](
        items=[notification_out(n) for n in journey.notifications(borrower_id, limit)]
    )
