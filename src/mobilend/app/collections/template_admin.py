"""Managing the collection templates with four eyes: a collections manager proposes a
version (checked at once against the conduct rules: banned words, debt talk aimed at a
contact person, unknown placeholders), and it goes live only when another manager
approves it — the version it replaces is retired in the same transaction. Rejected
versions stay on record."""

from __future__ import annotations

import dataclasses

from mobilend.app.collections.desk import CollectionsDesk
from mobilend.domain.collections import require_second_person
from mobilend.domain.collections_conduct import ContactTemplate
from mobilend.domain.collections_templates import (
    TemplateRecord,
    TemplateStatus,
    proposal_problems,
)
from mobilend.domain.errors import Conflict, ValidationFailed


def _check(desk: CollectionsDesk, template: ContactTemplate) -> None:
    problems = proposal_problems(template, desk.settings.conduct)
    if problems:
        raise ValidationFailed(
            problems, "模板不符合催收行为规则 (the template breaks the conduct rules)"
        )


def propose_template(
    desk: CollectionsDesk, template: ContactTemplate, *, actor: str, note: str = ""
) -> TemplateRecord:
    _check(desk, template)
    record = TemplateRecord(
        template_id=desk.new_id(),
        template=template,
        status=TemplateStatus.PROPOSED,
        proposed_by=actor,
        proposed_at=desk.now(),
        note=note.strip()[:500],
    )
    with desk.uow_factory() as uow:
        uow.collections.templates.add(record)
        uow.commit()
    return record


def decide_template(
    desk: CollectionsDesk, template_id: str, *, approve: bool, actor: str, note: str = ""
) -> TemplateRecord:
    """Approve (it goes live, the live version retires) or reject a proposal — never
    one's own. The rules are asked again: they may have changed since it was proposed."""
    with desk.uow_factory() as uow:
        store = uow.collections.templates
        record = store.get(template_id, for_update=True)
        if record.status is not TemplateStatus.PROPOSED:
            raise Conflict(f"已{record.status.value} (already {record.status.value})")
        require_second_person(record.proposed_by, actor)
        if approve:
            _check(desk, record.template)
        decided = dataclasses.replace(
            record,
            status=TemplateStatus.APPROVED if approve else TemplateStatus.REJECTED,
            decided_by=actor,
            decided_at=desk.now(),
            note=(note.strip() or record.note)[:500],
        )
        if approve:
            live = store.live(record.code)
            if live is not None:
                store.save(dataclasses.replace(live, status=TemplateStatus.RETIRED))
        store.save(decided)
        uow.commit()
    return decided


def list_templates(
    desk: CollectionsDesk, *, status: str | None = None, code: str | None = None
) -> list[TemplateRecord]:
    with desk.uow_factory() as uow:
        return uow.collections.templates.listing(status, code)
