"""Page: the borrower's inbox (what was sent to them)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from mobilend.web.kit import WebKit


def routes(kit: WebKit) -> APIRouter:
    router = APIRouter()

    @router.get("/messages")
    async def inbox(request: Request) -> Response:
        borrower_id = await kit.signed_in(request)
        notices = await kit.call(kit.journey.notifications, borrower_id)
        return kit.render(request, "messages.html", notices=notices)

    return router
