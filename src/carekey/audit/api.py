"""Audit log query and CSV export for administrators, auditors and district leads."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime

from carekey.access import Actor
from carekey.audit import export
from carekey.audit import service as audit_log
from carekey.domain import enums as e
from carekey.http.deps import ActorDep, NowDep, SessionDep, writes_on_read
from carekey.store.db import declare_writes

router = APIRouter(prefix="/api/v1/admin", tags=["revision / audit"])

EmployeeQ = Annotated[int | None, Query(description="Medarbejder-id / employee id")]
CitizenQ = Annotated[int | None, Query(description="Borger-id / citizen id")]
DoorQ = Annotated[int | None, Query(description="Dørenhed-id / door device id")]
SinceQ = Annotated[AwareDatetime | None, Query(description="Fra og med / from (inclusive)")]
UntilQ = Annotated[AwareDatetime | None, Query(description="Til / until (exclusive)")]
ActionQ = Annotated[e.AuditAction | None, Query()]
EmployeeTextQ = Annotated[
    str | None,
    Query(
        max_length=100,
        description="Del af medarbejderens navn, eller hele nummeret / part of the employee's "
        "name, or their whole number",
    ),
]
CitizenTextQ = Annotated[
    str | None,
    Query(
        max_length=200,
        description="Ord fra borgerens navn eller dørens adresse / words of the citizen's name "
        "or the door's address",
    ),
]


@router.get("/audit")
def audit(
    db: SessionDep,
    actor: ActorDep,
    employee_id: EmployeeQ = None,
    citizen_id: CitizenQ = None,
    door_device_id: DoorQ = None,
    since: SinceQ = None,
    until: UntilQ = None,
    action: ActionQ = None,
    employee: EmployeeTextQ = None,
    citizen: CitizenTextQ = None,
    limit: Annotated[int, Query(ge=1, le=audit_log.MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """Hvem, hvilken dør, hvornår, hvad / who, which door, when, what — newest first. A value
    that cannot be read (a date without a time zone, an unknown action, an id that is not a
    number) is a 422 naming the field, never the whole log."""
    page = audit_log.query_audit(
        db,
        actor=actor,
        employee_id=employee_id,
        citizen_id=citizen_id,
        door_device_id=door_device_id,
        since=since,
        until=until,
        action=action,
        employee_text=employee,
        citizen_text=citizen,
        limit=limit,
        offset=offset,
    )
    return page.to_json()


@router.get("/audit.csv", response_class=StreamingResponse)
@writes_on_read
def audit_csv(
    request: Request,
    db: SessionDep,
    actor: ActorDep,
    now: NowDep,
    employee_id: EmployeeQ = None,
    citizen_id: CitizenQ = None,
    door_device_id: DoorQ = None,
    since: SinceQ = None,
    until: UntilQ = None,
    action: ActionQ = None,
    employee: EmployeeTextQ = None,
    citizen: CitizenTextQ = None,
) -> StreamingResponse:
    """Revisionsloggen som CSV til Excel / the audit log as CSV for Excel (semicolons, BOM)."""
    audit_log.require_reader(actor)
    filters: dict[str, Any] = {
        "employee_id": employee_id,
        "citizen_id": citizen_id,
        "door_device_id": door_device_id,
        "since": since,
        "until": until,
        "action": action,
        "employee_text": employee,
        "citizen_text": citizen,
    }
    export.record_export(db, actor=actor, now=now, filters=filters)
    stamp = now.astimezone(audit_log.LOCAL_ZONE).strftime("%Y%m%d-%H%M")
    return StreamingResponse(
        _stream(request, actor, filters),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="revisionslog-{stamp}.csv"'},
    )


def _stream(request: Request, actor: Actor, filters: dict[str, Any]) -> Iterator[str]:
    # The response is sent after the request's own session has committed and closed, so the
    # export reads through a session of its own, in one read-only transaction.
    with request.app.state.sessions() as db, db.begin():
        declare_writes(db, False)
        yield from export.audit_csv(audit_log.iter_audit(db, actor=actor, **filters))
