"""Finding and reading records: search, borrowers (personal data masked, revealed one
field at a time and audited), credit lines, loans, contracts, applications, decisions."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import escape

from mobilend.app.operations.ports import PiiField, RecordKind
from mobilend.console.kit import PREFIX, ConsoleKit, NavEntry
from mobilend.domain.approvals import ApprovalKind
from mobilend.domain.errors import NotFound
from mobilend.domain.staff import Permission as P

NAV = (
    NavEntry("borrowers", PREFIX + "/borrowers", P.VIEW_ACCOUNTS),
    NavEntry("loans", PREFIX + "/loans", P.VIEW_ACCOUNTS),
)

#: Where each kind of search hit opens.
RECORD_PATHS = {
    RecordKind.BORROWER: "borrowers",
    RecordKind.LINE: "lines",
    RecordKind.LOAN: "loans",
    RecordKind.CONTRACT: "contracts",
    RecordKind.APPLICATION: "applications",
    RecordKind.DECISION: "decisions",
}
_BUCKETS = ("C", "M1", "M2", "M3", "M4", "M5", "M6", "M6+")
_LOAN_STATUSES = ("active", "pending_disbursement", "closed", "written_off", "cancelled")


def record_href(kind: RecordKind, record_id: str) -> str:
    return f"{PREFIX}/{RECORD_PATHS[kind]}/{record_id}"


def routes(kit: ConsoleKit) -> APIRouter:
    router = APIRouter()
    office = kit.desk.backoffice

    @router.get("/search")
    async def search(request: Request, q: str = "") -> Response:
        staff = await kit.allowed(request, P.SEARCH)
        hits = await kit.call(office.search, staff, q) if q.strip() else []
        if len(hits) == 1 and request.query_params.get("go") == "1":
            # One click: a unique match opens the record itself.
            return kit.redirect(request, record_href(hits[0].kind, hits[0].record_id))
        return kit.render(
            request, "search.html", q=q, hits=hits, href=record_href, title_key="search.title"
        )

    @router.get("/borrowers")
    async def borrowers(request: Request, status: str = "", cursor: str = "") -> Response:
        staff = await kit.allowed(request, P.VIEW_ACCOUNTS)
        rows, next_cursor = await kit.call(
            office.borrowers, staff, status or None, cursor or None, 50
        )
        return kit.render(
            request,
            "borrowers.html",
            rows=rows,
            status=status,
            next_cursor=next_cursor,
            title_key="nav.borrowers",
        )

    @router.get("/borrowers/{borrower_id}")
    async def borrower(request: Request, borrower_id: str) -> Response:
        staff = await kit.allowed(request, P.VIEW_ACCOUNTS)
        file = await kit.call(office.borrower_file, staff, borrower_id)
        return kit.render(
            request, "borrower.html", file=file, fields=list(PiiField), title_key="borrower.title"
        )

    @router.post("/borrowers/{borrower_id}/reveal/{field}")
    async def reveal(request: Request, borrower_id: str, field: str) -> Response:
        await kit.posted_form(request)
        staff = await kit.allowed(request, P.REVEAL_PII)
        try:
            which = PiiField(field)
        except ValueError:
            raise NotFound(f"no field {field}") from None
        value = await kit.call(office.reveal, staff, borrower_id, which)
        return HTMLResponse(
            f'<span class="revealed" data-testid="revealed-{which.value}">{escape(value)}</span>'
        )

    @router.get("/lines/{line_id}")
    async def line(request: Request, line_id: str) -> Response:
        staff = await kit.allowed(request, P.VIEW_ACCOUNTS)
        found, loans = await kit.call(office.line, staff, line_id)
        return kit.render(request, "line.html", line=found, loans=loans, title_key="line.title")

    @router.get("/loans")
    async def loans(
        request: Request, status: str = "", bucket: str = "", cursor: str = ""
    ) -> Response:
        staff = await kit.allowed(request, P.VIEW_ACCOUNTS)
        rows, next_cursor = await kit.call(
            office.loans,
            staff,
            status if status in _LOAN_STATUSES else None,
            bucket if bucket in _BUCKETS else None,
            cursor or None,
            50,
        )
        return kit.render(
            request,
            "loans.html",
            rows=rows,
            status=status,
            bucket=bucket,
            statuses=_LOAN_STATUSES,
            buckets=_BUCKETS,
            next_cursor=next_cursor,
            title_key="nav.loans",
        )

    @router.get("/loans/{loan_id}")
    async def loan(request: Request, loan_id: str) -> Response:
        staff = await kit.allowed(request, P.VIEW_ACCOUNTS)
        detail = await kit.call(office.loan, staff, loan_id)
        return kit.render(
            request,
            "loan.html",
            detail=detail,
            loan=detail.loan,
            kinds=ApprovalKind,
            title_key="loan.title",
        )

    @router.get("/contracts/{contract_id}")
    async def contract(request: Request, contract_id: str) -> Response:
        staff = await kit.allowed(request, P.VIEW_ACCOUNTS)
        found = await kit.call(office.contract, staff, contract_id)
        return kit.render(request, "contract.html", contract=found, title_key="contract.title")

    @router.get("/applications/{application_id}")
    async def application(request: Request, application_id: str) -> Response:
        staff = await kit.allowed(request, P.VIEW_ACCOUNTS)
        found = await kit.call(office.application, staff, application_id)
        return kit.render(
            request, "application.html", application=found, title_key="application.title"
        )

    @router.get("/decisions/{decision_id}")
    async def decision(request: Request, decision_id: str) -> Response:
        staff = await kit.allowed(request, P.VIEW_DECISIONS)
        found = await kit.call(office.decision, staff, decision_id)
        if found is None:
            raise NotFound(f"decision {decision_id} not found")
        return kit.render(request, "decision.html", decision=found, title_key="decision.title")

    return router
