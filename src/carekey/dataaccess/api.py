"""The right of access over the API (docs/access-report.md): a citizen's access report as JSON or
CSV, an employee's data export as JSON. Thin: each endpoint calls one use case of
``dataaccess.service``; each report made is a line in the log of administrative actions."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from carekey.dataaccess import service
from carekey.http.deps import ActorDep, NowDep, SessionDep, writes_on_read
from carekey.http.schemas import PathId

router = APIRouter(prefix="/api/v1/admin", tags=["indsigt / right of access"])

Basis = Literal["citizen", "attorney", "guardian"]


@router.get("/citizens/{citizen_id}/access-report")
@writes_on_read
def citizen_access_report(
    citizen_id: PathId,
    db: SessionDep,
    actor: ActorDep,
    now: NowDep,
    basis: Annotated[Basis, Query(description="Anmodet af / who asked")],
    date_from: Annotated[dt.date, Query(alias="from", description="Første dag / first day")],
    date_to: Annotated[dt.date, Query(alias="to", description="Sidste dag / last day")],
    requested_by: Annotated[str | None, Query(max_length=200)] = None,
    reference: Annotated[str | None, Query(max_length=200)] = None,
    format: Literal["json", "csv"] = "json",
) -> Response:
    """Indsigtsrapport / a citizen's access report (GDPR art. 15): every opening and re-locking
    of the home lock in the period with name and role, emergency keys, keys issued. Logged."""
    name = service.citizen_name(db, actor=actor, citizen_id=citizen_id)
    request = service.access_request(
        basis=basis,
        requested_by=requested_by,
        reference=reference,
        first=date_from,
        last=date_to,
        citizen_name=name,
    )
    report = service.citizen_report(
        db, actor=actor, citizen_id=citizen_id, request=request, now=now
    )
    if format == "csv":
        return Response(
            report.to_csv(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="indsigt-{citizen_id}.csv"'},
        )
    return JSONResponse(report.to_json())


@router.get("/employees/{employee_id}/data-export")
@writes_on_read
def employee_data_export(
    employee_id: PathId,
    db: SessionDep,
    actor: ActorDep,
    now: NowDep,
    reason: Annotated[str | None, Query(max_length=2000)] = None,
) -> dict[str, Any]:
    """Medarbejderens data / everything held about one employee (GDPR art. 15). Logged."""
    return service.employee_report(
        db, actor=actor, employee_id=employee_id, now=now, reason=reason
    ).to_json()
