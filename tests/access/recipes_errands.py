"""How the routes of the partner company's errands and log (``carekey.partners``: errands,
log) are called: the organisation probes of ``world_orgs`` (company P's agreement with A for
everyone; B's and Q's for ``padmin_out``: ``Ctx.org``). P's administrator is the one actor
these routes are for; aimed at Q's agreement or errand it gets 404, and Q's things are never in
P's lists.

The world's P delivers newspapers under a windowed agreement; an errand needs an agreement on
the named-resident basis, so the recipes give the side's company one first (Q's agreement with
B is one already)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from carekey.clock import COPENHAGEN
from carekey.domain import enums as e
from carekey.domain.partner_policy import LegalBasis
from carekey.store import models as m
from tests.access.recipes import REASON, Ctx, Effect, Req, exists, field_is, recipe

API = "/api/v1/partner"
NEW_REFERENCE = "PROBE-NEW-ERRAND"


def _errand_agreement(ctx: Ctx) -> int:
    """The side's agreement on the named-resident basis (made for P, Q's own for Q)."""
    o = ctx.org
    with Session(ctx.engine) as db, db.begin():
        found = db.get(m.Agreement, o.agreement)
        assert found is not None
        if found.requires_errand:
            return found.id
        agreement = m.Agreement(
            housing_association_id=o.association,
            partner_company_id=o.company,
            legal_basis=LegalBasis.NAMED_RESIDENT,
            valid_from=ctx.template.now - dt.timedelta(days=30),
            requires_errand=True,
        )
        db.add(agreement)
        db.flush()
        db.add(
            m.AgreementDoor(
                agreement_id=agreement.id,
                door_device_id=o.entrance_door,
                door_kind=e.DoorKind.ENTRANCE_CONTROLLER,
            )
        )
        # Thursdays (the world's day) 07:00-17:00 local time, as the side's own agreement.
        db.add(
            m.AgreementWindow(
                agreement_id=agreement.id, weekday=3, start_minute=420, end_minute=1020
            )
        )
        return agreement.id


def _reference(ctx: Ctx) -> str:
    return f"PROBE-ERRAND-{ctx.org.company}"


def _errand(ctx: Ctx) -> int:
    """An approved errand of the side's company, at the side's entrance, in an hour."""
    agreement = _errand_agreement(ctx)
    now = ctx.template.now
    with Session(ctx.engine) as db, db.begin():
        errand = m.Errand(
            agreement_id=agreement,
            entrance_id=ctx.org.entrance,
            purpose=e.PartnerCategory.PARCEL,
            reference=_reference(ctx),
            recipient="Probe Beboer, 1. th.",
            not_before=now + dt.timedelta(hours=1),
            not_after=now + dt.timedelta(hours=3),
            status=e.ErrandStatus.APPROVED,
        )
        db.add(errand)
        db.flush()
        return errand.id


def _new_errand(agreement: int) -> Effect:
    return exists(m.Errand, agreement_id=agreement, reference=NEW_REFERENCE)


def _cancelled(errand: int) -> Effect:
    return field_is(m.Errand, errand, "status", e.ErrandStatus.CANCELLED)


def _body(ctx: Ctx, agreement: int) -> dict[str, Any]:
    now = ctx.template.now
    return {
        "agreement_id": agreement,
        "entrance_id": ctx.org.entrance,
        "reference": NEW_REFERENCE,
        "recipient": "Probe Beboer, 2. tv.",
        "purpose": "parcel",
        "not_before": (now + dt.timedelta(hours=1)).isoformat(),
        "not_after": (now + dt.timedelta(hours=2)).isoformat(),
    }


def _form(ctx: Ctx, agreement: int) -> dict[str, Any]:
    local = ctx.template.now.astimezone(COPENHAGEN)
    return {
        "place": f"{agreement}:{ctx.org.entrance}",
        "reference": NEW_REFERENCE,
        "recipient": "Probe Beboer, 2. tv.",
        "purpose": "parcel",
        "day": local.date().isoformat(),
        "start": f"{local.hour + 1:02d}:00",
        "end": f"{local.hour + 3:02d}:00",
    }


# --- the API -----------------------------------------------------------------------------------


@recipe("POST", f"{API}/errands")
def _api_request(ctx: Ctx) -> list[Req]:
    agreement = _errand_agreement(ctx)
    body = _body(ctx, agreement)
    return [Req("POST", f"{API}/errands", json=body, effect=_new_errand(agreement))]


@recipe("GET", f"{API}/errands")
def _api_errands(ctx: Ctx) -> list[Req]:
    _errand(ctx)
    return [Req("GET", f"{API}/errands", marker=_reference(ctx))]


@recipe("GET", f"{API}/errands/{{errand_id}}")
def _api_errand(ctx: Ctx) -> list[Req]:
    errand = _errand(ctx)
    return [Req("GET", f"{API}/errands/{errand}", marker=_reference(ctx))]


@recipe("POST", f"{API}/errands/{{errand_id}}/cancel")
def _api_cancel(ctx: Ctx) -> list[Req]:
    errand = _errand(ctx)
    url = f"{API}/errands/{errand}/cancel"
    return [Req("POST", url, json={"reason": REASON}, effect=_cancelled(errand))]


@recipe("GET", f"{API}/log")
def _api_log(ctx: Ctx) -> list[Req]:
    return [Req("GET", f"{API}/log", marker=ctx.org.worker_name)]


# --- the pages ---------------------------------------------------------------------------------


@recipe("GET", "/partner/errands")
def _web_errands(ctx: Ctx) -> list[Req]:
    _errand(ctx)
    return [Req("GET", "/partner/errands", marker=_reference(ctx))]


@recipe("GET", "/partner/errands/new")
def _web_new(ctx: Ctx) -> list[Req]:
    # The form names nothing: it offers the company's own agreements' entrances (Q's never).
    agreement = _errand_agreement(ctx)
    marker = f'value="{agreement}:{ctx.org.entrance}"'
    return [Req("GET", "/partner/errands/new", marker=marker)]


@recipe("POST", "/partner/errands/new")
def _web_request(ctx: Ctx) -> list[Req]:
    agreement = _errand_agreement(ctx)
    form = _form(ctx, agreement)
    return [Req("POST", "/partner/errands/new", data=form, effect=_new_errand(agreement))]


@recipe("GET", "/partner/errands/{errand_id}")
def _web_errand(ctx: Ctx) -> list[Req]:
    errand = _errand(ctx)
    return [Req("GET", f"/partner/errands/{errand}", marker=_reference(ctx))]


@recipe("GET", "/partner/errands/{errand_id}/cancel")
def _web_confirm_cancel(ctx: Ctx) -> list[Req]:
    errand = _errand(ctx)
    return [Req("GET", f"/partner/errands/{errand}/cancel", marker=_reference(ctx))]


@recipe("POST", "/partner/errands/{errand_id}/cancel")
def _web_cancel(ctx: Ctx) -> list[Req]:
    errand = _errand(ctx)
    url = f"/partner/errands/{errand}/cancel"
    return [Req("POST", url, data={"reason": REASON}, effect=_cancelled(errand))]


@recipe("GET", "/partner/log")
def _web_log(ctx: Ctx) -> list[Req]:
    return [Req("GET", "/partner/log", marker=ctx.org.worker_name)]


@recipe("GET", "/partner/log.csv")
def _web_log_csv(ctx: Ctx) -> list[Req]:
    return [Req("GET", "/partner/log.csv", marker=ctx.org.worker_name)]
