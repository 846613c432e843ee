"""How the routes of carekey.consents (issue 16) are called in the route x role matrix.

Each recipe registers itself with ``tests.access.recipes.recipe``; the objects a route acts on
are made on demand from the world's probes (the side's citizen, door, property)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from carekey.domain import enums as e
from carekey.store import models as m
from tests.access.recipes import A, Ctx, Req, exists, field_is, recipe

DUE = "2027-06-01T12:00:00+00:00"


def _no_consent(ctx: Ctx) -> None:
    """The side's citizen's consent, as if never given (withdrawn without the removal)."""
    with Session(ctx.engine) as db, db.begin():
        db.execute(
            update(m.ConsentRecord)
            .where(m.ConsentRecord.citizen_id == ctx.side.citizen)
            .where(m.ConsentRecord.withdrawn_at.is_(None))
            .values(withdrawn_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), withdrawn_by_name="x")
        )


def _consent_of(ctx: Ctx) -> int:
    with Session(ctx.engine) as db:
        found = db.execute(
            select(m.ConsentRecord.id)
            .where(m.ConsentRecord.citizen_id == ctx.side.citizen)
            .where(m.ConsentRecord.withdrawn_at.is_(None))
            .order_by(m.ConsentRecord.id.desc())
        ).scalar()
        assert found is not None
        return int(found)


def _citizen_property(db: Session, citizen_id: int) -> int:
    found = db.execute(
        select(m.Entrance.property_id)
        .join(m.Dwelling, m.Dwelling.entrance_id == m.Entrance.id)
        .join(m.Citizen, m.Citizen.dwelling_id == m.Dwelling.id)
        .where(m.Citizen.id == citizen_id)
    ).scalar_one()
    return int(found)


def _open_request(ctx: Ctx) -> tuple[int, str]:
    """An open request for the property of the side's citizen (given an association if it has
    none), and its note (the marker)."""
    note = f"MATRIX-ANMODNING-{ctx.tag}"
    with Session(ctx.engine) as db, db.begin():
        property_id = _citizen_property(db, ctx.side.citizen)
        prop = db.get(m.Property, property_id)
        assert prop is not None
        if prop.housing_association_id is None:
            prop.housing_association_id = ctx.world.org_side("assoc").association
        db.execute(
            update(m.PermissionRequest)
            .where(m.PermissionRequest.property_id == property_id)
            .where(m.PermissionRequest.status == e.PermissionStatus.REQUESTED)
            .values(status=e.PermissionStatus.WITHDRAWN)
        )
        request = m.PermissionRequest(
            municipality_id=prop.municipality_id,
            housing_association_id=prop.housing_association_id,
            property_id=property_id,
            status=e.PermissionStatus.REQUESTED,
            requested_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
            due_at=dt.datetime(2026, 11, 15, tzinfo=dt.UTC),
            reminders=0,
            note=note,
        )
        db.add(request)
        db.flush()
        return request.id, note


def _free_property(ctx: Ctx) -> int:
    """The side's citizen's property, with an association and no open request."""
    request_id, _note = _open_request(ctx)
    with Session(ctx.engine) as db, db.begin():
        request = db.get(m.PermissionRequest, request_id)
        assert request is not None
        request.status = e.PermissionStatus.REFUSED
        return request.property_id


# --- the API -----------------------------------------------------------------------------------


@recipe("GET", f"{A}/citizens/{{citizen_id}}/consents")
def _api_consents(ctx: Ctx) -> list[Req]:
    consent = _consent_of(ctx)
    return [Req("GET", f"{A}/citizens/{ctx.side.citizen}/consents", marker=f'"id":{consent}')]


def _consent_body(ctx: Ctx) -> dict[str, Any]:
    return {"method": "paper_scanned", "document_ref": f"MATRIX-{ctx.tag}"}


@recipe("POST", f"{A}/citizens/{{citizen_id}}/consents")
def _api_record_consent(ctx: Ctx) -> list[Req]:
    _no_consent(ctx)
    effect = exists(m.ConsentRecord, document_ref=f"MATRIX-{ctx.tag}")
    url = f"{A}/citizens/{ctx.side.citizen}/consents"
    return [Req("POST", url, json=_consent_body(ctx), effect=effect)]


@recipe("POST", f"{A}/consents/{{consent_id}}/withdraw")
def _api_withdraw_consent(ctx: Ctx) -> list[Req]:
    consent = _consent_of(ctx)
    effect = field_is(m.ConsentRecord, consent, "withdrawn_by_name", "Matrix Pårørende")
    body = {"withdrawn_by_name": "Matrix Pårørende", "note": "matrix"}
    return [Req("POST", f"{A}/consents/{consent}/withdraw", json=body, effect=effect)]


@recipe("GET", f"{A}/permission-requests")
def _api_permission_requests(ctx: Ctx) -> list[Req]:
    _request, note = _open_request(ctx)
    params = {"limit": 200, "status": "requested"}
    return [Req("GET", f"{A}/permission-requests", params=params, marker=note)]


@recipe("POST", f"{A}/permission-requests")
def _api_send_permission_request(ctx: Ctx) -> list[Req]:
    property_id = _free_property(ctx)
    note = f"MATRIX-NY-{ctx.tag}"
    body = {"property_id": property_id, "covers_gates": True, "due_at": DUE, "note": note}
    effect = exists(m.PermissionRequest, note=note)
    return [Req("POST", f"{A}/permission-requests", json=body, effect=effect)]


@recipe("POST", f"{A}/permission-requests/{{request_id}}/remind")
def _api_remind(ctx: Ctx) -> list[Req]:
    request, _note = _open_request(ctx)
    effect = field_is(m.PermissionRequest, request, "reminders", 1)
    return [Req("POST", f"{A}/permission-requests/{request}/remind", effect=effect)]


# --- web UI ------------------------------------------------------------------------------------


@recipe("GET", "/citizens/{citizen_id}/consents")
def _web_consents(ctx: Ctx) -> list[Req]:
    s = ctx.side
    return [Req("GET", f"/citizens/{s.citizen}/consents", marker=s.citizen_name)]


@recipe("POST", "/citizens/{citizen_id}/consents")
def _web_record_consent(ctx: Ctx) -> list[Req]:
    _no_consent(ctx)
    effect = exists(m.ConsentRecord, document_ref=f"MATRIX-{ctx.tag}")
    data = {**_consent_body(ctx), "given_by": "citizen"}
    return [Req("POST", f"/citizens/{ctx.side.citizen}/consents", data=data, effect=effect)]


@recipe("POST", "/consents/{consent_id}/withdraw")
def _web_withdraw_consent(ctx: Ctx) -> list[Req]:
    consent = _consent_of(ctx)
    effect = field_is(m.ConsentRecord, consent, "withdrawn_by_name", "Matrix Pårørende")
    data = {"withdrawn_by_name": "Matrix Pårørende", "note": "matrix", "confirm": "yes"}
    return [Req("POST", f"/consents/{consent}/withdraw", data=data, effect=effect)]


@recipe("GET", "/permissions")
def _web_permissions(ctx: Ctx) -> list[Req]:
    _request, _note = _open_request(ctx)
    with Session(ctx.engine) as db:
        property_id = _citizen_property(db, ctx.side.citizen)
    marker = f'id="property-{property_id}"'
    return [Req("GET", "/permissions", params={"state": "requested", "size": 100}, marker=marker)]


@recipe("POST", "/permissions")
def _web_send_permission_request(ctx: Ctx) -> list[Req]:
    property_id = _free_property(ctx)
    note = f"MATRIX-NY-{ctx.tag}"
    data = {"property_id": property_id, "covers_entrances": "on", "due": "2027-06-01", "note": note}
    effect = exists(m.PermissionRequest, note=note)
    return [Req("POST", "/permissions", data=data, effect=effect)]


@recipe("POST", "/permissions/{request_id}/remind")
def _web_remind(ctx: Ctx) -> list[Req]:
    request, _note = _open_request(ctx)
    effect = field_is(m.PermissionRequest, request, "reminders", 1)
    return [Req("POST", f"/permissions/{request}/remind", effect=effect)]
