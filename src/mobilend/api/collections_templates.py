"""Collection templates under ``/ops/collections/templates``: everyone who works cases
reads them; a collections manager proposes a new version (refused at once, 422, when it
breaks the conduct rules: banned words, debt talk to a contact person, unknown
placeholders) and another manager approves it — only then does it go live, and the
version it replaces retires. Every proposal and decision goes to the audit log."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query

from mobilend.adapters.auth import Role
from mobilend.api.collections import Collections, Worker
from mobilend.api.collections_schemas import DecisionIn, TemplateIn, TemplateListOut, TemplateOut
from mobilend.api.errors import error_responses
from mobilend.api.ops_deps import Desk, StaffSession, require_roles
from mobilend.api.schemas import ID_PATTERN
from mobilend.app.collections.template_admin import (
    decide_template,
    list_templates,
    propose_template,
)
from mobilend.domain.collections_conduct import Channel, ContactTemplate, Party

router = APIRouter(
    prefix="/ops/collections/templates",
    tags=["collections"],
    responses=error_responses(403, 422),
)

Manager = Annotated[StaffSession, Depends(require_roles(Role.COLLECTIONS_MANAGER))]
TemplateIdPath = Annotated[str, Path(pattern=ID_PATTERN, description="Template version id")]
Status = Literal["proposed", "approved", "rejected", "retired", "all"]


@router.get("", response_model=TemplateListOut, summary="Scripts and messages 话术模板")
def templates(
    collections: Collections,
    _staff: Worker,
    status: Annotated[Status, Query(description="approved: the live versions")] = "approved",
    code: Annotated[str | None, Query(pattern=r"^[a-z][a-z0-9_]{1,47}$")] = None,
) -> TemplateListOut:
    found = list_templates(collections, status=None if status == "all" else status, code=code)
    return TemplateListOut(items=[TemplateOut.of(r) for r in found])


@router.post("", response_model=TemplateOut, status_code=201,
             responses=error_responses(409),
             summary="Propose a template version (a second manager approves) 提交话术模板")  # fmt: skip
def propose(body: TemplateIn, collections: Collections, desk: Desk, staff: Manager) -> TemplateOut:
    template = ContactTemplate(
        body.code,
        body.version,
        frozenset(Channel(c) for c in body.channels),
        frozenset(Party(p) for p in body.parties),
        body.body_zh,
        body.body_en,
        free_text=frozenset(body.free_text),
    )
    with desk.staged(
        staff.actor,
        "collections.template_proposed",
        f"template:{body.code}:{body.version}",
        {"code": body.code, "version": body.version},
    ):
        record = propose_template(collections, template, actor=staff.actor, note=body.note)
    return TemplateOut.of(record)


@router.post("/{template_id}/decision", response_model=TemplateOut,
             responses=error_responses(404, 409),
             summary="Approve (goes live) or reject a template version 审批话术模板")  # fmt: skip
def decision(template_id: TemplateIdPath, body: DecisionIn, collections: Collections,
             desk: Desk, staff: Manager) -> TemplateOut:  # fmt: skip
    with desk.staged(
        staff.actor,
        "collections.template_approved" if body.approve else "collections.template_rejected",
        f"template:{template_id}",
    ):
        record = decide_template(
            collections, template_id, approve=body.approve, actor=staff.actor, note=body.reason
        )
    return TemplateOut.of(record)
