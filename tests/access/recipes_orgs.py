"""How the routes of the register of housing associations and partner companies
(``carekey.organisations``) are called: the organisation probes of ``world_orgs`` (A and P for
everyone, B and Q for ``assoc_out`` and ``padmin_out``: ``Ctx.org``)."""

from __future__ import annotations

from typing import Any

from carekey.domain import enums as e
from carekey.domain.partner_policy import valid_cvr_near
from carekey.store import models as m
from tests.access.recipes import REASON, Ctx, Req, exists, field_is, recipe

ORG = "/api/v1/organisations"
PASSWORD = "en-god-adgangskode"


def _new_association(ctx: Ctx) -> tuple[dict[str, str], Any]:
    name = f"Ny Boligforening {ctx.tag}"
    body = {"name": name, "cvr": valid_cvr_near(35_000_000), "contact_email": "ny@org.example"}
    return body, exists(m.HousingAssociation, name=name, municipality_id=ctx.municipality_id)


def _new_company(ctx: Ctx) -> tuple[dict[str, str], Any]:
    name = f"Ny Partner {ctx.tag} ApS"
    body = {
        "name": name,
        "organisation_kind": "company",
        "cvr": f"DK {valid_cvr_near(36_000_000)}",
        "category": "post",
        "contact_email": "",
    }
    return body, exists(m.PartnerCompany, name=name, municipality_id=ctx.municipality_id)


def _new_user(ctx: Ctx, kind: str) -> dict[str, str]:
    return {
        "employee_number": f"NEW-{ctx.tag}-{kind}",
        "full_name": f"Ny {kind}",
        "email": f"ny-{kind.lower()}@org.example",
        "password": PASSWORD,
    }


def _block_first(ctx: Ctx) -> None:
    """Copenhagen's administrator blocks the actor's probe company, for an unblock to try."""
    admin = ctx.template.credentials["admin"]
    ctx.use_web(None)
    response = ctx.client.post(
        f"{ORG}/companies/{ctx.org.company}/block", json={"reason": "forberedt"}, headers=admin.api
    )
    assert response.status_code == 200, response.text


# --- the API -----------------------------------------------------------------------------------


@recipe("GET", f"{ORG}/associations")
def _api_associations(ctx: Ctx) -> list[Req]:
    return [Req("GET", f"{ORG}/associations", marker=ctx.org.association_name)]


@recipe("POST", f"{ORG}/associations")
def _api_register_association(ctx: Ctx) -> list[Req]:
    body, effect = _new_association(ctx)
    return [Req("POST", f"{ORG}/associations", json={**body, "reason": REASON}, effect=effect)]


@recipe("GET", f"{ORG}/associations/{{association_id}}")
def _api_association(ctx: Ctx) -> list[Req]:
    o = ctx.org
    return [Req("GET", f"{ORG}/associations/{o.association}", marker=o.association_name)]


@recipe("POST", f"{ORG}/associations/{{association_id}}/users")
def _api_association_user(ctx: Ctx) -> list[Req]:
    o = ctx.org
    body = {**_new_user(ctx, "USER"), "reason": REASON}
    effect = exists(
        m.Employee, employee_number=body["employee_number"], housing_association_id=o.association
    )
    return [Req("POST", f"{ORG}/associations/{o.association}/users", json=body, effect=effect)]


@recipe("GET", f"{ORG}/companies")
def _api_companies(ctx: Ctx) -> list[Req]:
    return [Req("GET", f"{ORG}/companies", marker=ctx.org.company_name)]


@recipe("POST", f"{ORG}/companies")
def _api_register_company(ctx: Ctx) -> list[Req]:
    body, effect = _new_company(ctx)
    return [Req("POST", f"{ORG}/companies", json={**body, "reason": REASON}, effect=effect)]


@recipe("GET", f"{ORG}/companies/{{company_id}}")
def _api_company(ctx: Ctx) -> list[Req]:
    o = ctx.org
    return [Req("GET", f"{ORG}/companies/{o.company}", marker=o.company_name)]


@recipe("POST", f"{ORG}/companies/{{company_id}}/admins")
def _api_partner_admin(ctx: Ctx) -> list[Req]:
    o = ctx.org
    body = {**_new_user(ctx, "ADM"), "reason": REASON}
    effect = exists(
        m.Employee, employee_number=body["employee_number"], partner_company_id=o.company
    )
    return [Req("POST", f"{ORG}/companies/{o.company}/admins", json=body, effect=effect)]


@recipe("POST", f"{ORG}/companies/{{company_id}}/block")
def _api_block_company(ctx: Ctx) -> list[Req]:
    o = ctx.org
    effect = field_is(m.PartnerCompany, o.company, "status", e.PartnerStatus.BLOCKED)
    url = f"{ORG}/companies/{o.company}/block"
    return [Req("POST", url, json={"reason": REASON}, effect=effect)]


@recipe("POST", f"{ORG}/companies/{{company_id}}/unblock")
def _api_unblock_company(ctx: Ctx) -> list[Req]:
    o = ctx.org
    _block_first(ctx)
    effect = field_is(m.PartnerCompany, o.company, "status", e.PartnerStatus.ACTIVE)
    url = f"{ORG}/companies/{o.company}/unblock"
    return [Req("POST", url, json={"reason": REASON}, effect=effect, what="a blocked company")]


# --- the pages ---------------------------------------------------------------------------------


@recipe("GET", "/organisations")
def _web_register(ctx: Ctx) -> list[Req]:
    marker = f'href="/organisations/associations/{ctx.org.association}"'
    return [Req("GET", "/organisations", marker=marker)]


@recipe("POST", "/organisations/associations")
def _web_register_association(ctx: Ctx) -> list[Req]:
    body, effect = _new_association(ctx)
    return [Req("POST", "/organisations/associations", data=body, effect=effect)]


@recipe("POST", "/organisations/companies")
def _web_register_company(ctx: Ctx) -> list[Req]:
    body, effect = _new_company(ctx)
    return [Req("POST", "/organisations/companies", data=body, effect=effect)]


@recipe("GET", "/organisations/associations/{association_id}")
def _web_association(ctx: Ctx) -> list[Req]:
    o = ctx.org
    return [Req("GET", f"/organisations/associations/{o.association}", marker=o.association_name)]


@recipe("POST", "/organisations/associations/{association_id}/users")
def _web_association_user(ctx: Ctx) -> list[Req]:
    o = ctx.org
    form = _new_user(ctx, "USER")
    effect = exists(
        m.Employee, employee_number=form["employee_number"], housing_association_id=o.association
    )
    url = f"/organisations/associations/{o.association}/users"
    return [Req("POST", url, data=form, effect=effect)]


@recipe("GET", "/organisations/companies/{company_id}")
def _web_company(ctx: Ctx) -> list[Req]:
    o = ctx.org
    return [Req("GET", f"/organisations/companies/{o.company}", marker=o.company_name)]


@recipe("POST", "/organisations/companies/{company_id}/admins")
def _web_partner_admin(ctx: Ctx) -> list[Req]:
    o = ctx.org
    form = _new_user(ctx, "ADM")
    effect = exists(
        m.Employee, employee_number=form["employee_number"], partner_company_id=o.company
    )
    return [Req("POST", f"/organisations/companies/{o.company}/admins", data=form, effect=effect)]


@recipe("POST", "/organisations/companies/{company_id}/block")
def _web_block_company(ctx: Ctx) -> list[Req]:
    o = ctx.org
    effect = field_is(m.PartnerCompany, o.company, "status", e.PartnerStatus.BLOCKED)
    url = f"/organisations/companies/{o.company}/block"
    return [Req("POST", url, data={"reason": REASON}, effect=effect)]


@recipe("POST", "/organisations/companies/{company_id}/unblock")
def _web_unblock_company(ctx: Ctx) -> list[Req]:
    o = ctx.org
    _block_first(ctx)
    effect = field_is(m.PartnerCompany, o.company, "status", e.PartnerStatus.ACTIVE)
    url = f"/organisations/companies/{o.company}/unblock"
    return [Req("POST", url, data={"reason": REASON}, effect=effect, what="a blocked company")]
