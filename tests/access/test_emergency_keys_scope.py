"""Emergency keys and district leads (ROLES.md): a lead may grant an emergency key only when the
citizen AND the employee are in the lead's own districts, and may see and revoke only such keys;
an administrator may do so anywhere in the municipality. Checked over the API and the web, and
in the database afterwards: a refused grant leaves no row, a refused revocation leaves the key
live.

The world (``tests.access.world``): the lead has districts D01 and D03; ``in`` objects are in
D01, ``out`` objects in D02. Live keys: ``inside`` (a D03 employee to a D01 citizen),
``citizen_out`` (a D03 employee to a D02 citizen), ``employee_out`` (a D02 employee to a D01
citizen).
"""

from __future__ import annotations

from typing import Any, Literal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carekey.store import models as m
from tests.access.conftest import Server
from tests.access.world import Credentials, web_client

Channel = Literal["api", "web"]
CHANNELS: tuple[Channel, ...] = ("api", "web")
REFUSED = (403, 404)


def _as(server: Server, who: str) -> Credentials:
    """``who``'s credentials; their session cookie goes into the client's jar."""
    creds = server.template.credentials[who]
    web_client(server.client, creds.web)
    return creds


def grant(server: Server, who: str, channel: Channel, employee: int, citizen: int) -> Any:
    """Ask for a one-hour emergency key, as ``who``, over ``channel``."""
    creds = _as(server, who)
    if channel == "api":
        body = {"employee_id": employee, "citizen_id": citizen, "minutes": 60, "reason": "akut"}
        return server.client.post("/api/v1/admin/emergency-keys", json=body, headers=creds.api)
    assert creds.web is not None
    form = {
        "employee": "",
        "employee_id": str(employee),
        "citizen": "",
        "citizen_id": str(citizen),
        "minutes": "60",
        "reason": "akut",
        "csrf_token": creds.web.csrf,
    }
    return server.client.post("/emergency-keys", data=form)


def revoke(server: Server, who: str, channel: Channel, grant_id: int) -> Any:
    creds = _as(server, who)
    if channel == "api":
        url = f"/api/v1/admin/emergency-keys/{grant_id}/revoke"
        return server.client.post(url, json={"reason": "slut"}, headers=creds.api)
    assert creds.web is not None
    form = {"reason": "slut", "csrf_token": creds.web.csrf}
    return server.client.post(f"/emergency-keys/{grant_id}/revoke", data=form)


def answer(response: Any) -> str:
    """Status, redirect and the start of the body, for an assertion message."""
    where = response.headers.get("location", "")
    return f"{response.status_code} {where} {response.text[:300]}".strip()


def grants_between(server: Server, employee: int, citizen: int) -> int:
    with Session(server.engine) as db:
        return db.execute(
            select(func.count())
            .select_from(m.EmergencyKeyGrant)
            .where(m.EmergencyKeyGrant.employee_id == employee)
            .where(m.EmergencyKeyGrant.citizen_id == citizen)
        ).scalar_one()


def is_live(server: Server, grant_id: int) -> bool:
    with Session(server.engine) as db:
        found = db.get(m.EmergencyKeyGrant, grant_id)
        assert found is not None
        return found.revoked_at is None


# --- granting ----------------------------------------------------------------------------------


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_lead_cannot_grant_a_key_to_a_citizen_outside_their_districts(
    fresh: Server, channel: Channel
) -> None:
    w = fresh.template.world
    employee, citizen = w.sides["in"].employee, w.sides["out"].citizen
    response = grant(fresh, "lead", channel, employee, citizen)
    assert response.status_code in REFUSED, answer(response)
    assert grants_between(fresh, employee, citizen) == 0


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_lead_cannot_grant_a_key_to_an_employee_outside_their_districts(
    fresh: Server, channel: Channel
) -> None:
    w = fresh.template.world
    employee, citizen = w.sides["out"].employee, w.d3_citizen
    response = grant(fresh, "lead", channel, employee, citizen)
    assert response.status_code in REFUSED, answer(response)
    assert grants_between(fresh, employee, citizen) == 0


@pytest.mark.parametrize("side", ["in", "out"])
@pytest.mark.parametrize("channel", CHANNELS)
def test_a_lead_cannot_grant_a_key_to_themselves(
    fresh: Server, channel: Channel, side: str
) -> None:
    # Their own district's citizen (whose doors they may open already: 409) or another's.
    w = fresh.template.world
    lead, citizen = w.people["lead"].employee_id, w.sides[side].citizen
    response = grant(fresh, "lead", channel, lead, citizen)
    assert response.status_code in (*REFUSED, 409), answer(response)
    assert grants_between(fresh, lead, citizen) == 0


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_lead_can_grant_a_key_within_their_districts(fresh: Server, channel: Channel) -> None:
    w = fresh.template.world
    employee, citizen = w.sides["in"].employee, w.d3_citizen  # D01 employee, D03 citizen
    response = grant(fresh, "lead", channel, employee, citizen)
    assert response.status_code in (201, 303), answer(response)
    assert grants_between(fresh, employee, citizen) == 1


@pytest.mark.parametrize("channel", CHANNELS)
def test_an_administrator_can_grant_a_key_anywhere(fresh: Server, channel: Channel) -> None:
    w = fresh.template.world
    employee, citizen = w.sides["out"].employee, w.sides["in"].citizen
    response = grant(fresh, "admin", channel, employee, citizen)
    assert response.status_code in (201, 303), answer(response)
    assert grants_between(fresh, employee, citizen) == 2  # the world's key, and this one


@pytest.mark.parametrize("channel", CHANNELS)
def test_no_one_gives_an_auditor_a_key_to_a_front_door(fresh: Server, channel: Channel) -> None:
    # ROLES.md, "Keys": an auditor never holds a key to any front door, whoever grants it.
    w = fresh.template.world
    auditor, citizen = w.people["auditor"].employee_id, w.sides["in"].citizen
    response = grant(fresh, "admin", channel, auditor, citizen)
    assert 400 <= response.status_code < 500, answer(response)
    assert grants_between(fresh, auditor, citizen) == 0


# --- revoking ----------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["citizen_out", "employee_out"])
@pytest.mark.parametrize("channel", CHANNELS)
def test_a_lead_cannot_revoke_a_key_outside_their_districts(
    fresh: Server, channel: Channel, which: str
) -> None:
    grant_id = getattr(fresh.template.world.grants, which)
    response = revoke(fresh, "lead", channel, grant_id)
    assert response.status_code in REFUSED, answer(response)
    assert is_live(fresh, grant_id)


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_lead_can_revoke_a_key_within_their_districts(fresh: Server, channel: Channel) -> None:
    grant_id = fresh.template.world.grants.inside
    response = revoke(fresh, "lead", channel, grant_id)
    assert response.status_code in (200, 303), answer(response)
    assert not is_live(fresh, grant_id)


@pytest.mark.parametrize("which", ["inside", "citizen_out", "employee_out"])
@pytest.mark.parametrize("channel", CHANNELS)
def test_an_administrator_can_revoke_any_key(fresh: Server, channel: Channel, which: str) -> None:
    grant_id = getattr(fresh.template.world.grants, which)
    response = revoke(fresh, "admin", channel, grant_id)
    assert response.status_code in (200, 303), answer(response)
    assert not is_live(fresh, grant_id)


# --- seeing ------------------------------------------------------------------------------------


def test_a_lead_sees_only_the_keys_within_their_districts_over_the_api(fresh: Server) -> None:
    g = fresh.template.world.grants
    headers = _as(fresh, "lead").api
    listed = fresh.client.get("/api/v1/admin/emergency-keys?state=all", headers=headers)
    assert listed.status_code == 200, answer(listed)
    assert {item["id"] for item in listed.json()["items"]} == {g.inside}
    assert fresh.client.get(f"/api/v1/admin/emergency-keys/{g.inside}", headers=headers).is_success
    for outside in (g.citizen_out, g.employee_out):
        one = fresh.client.get(f"/api/v1/admin/emergency-keys/{outside}", headers=headers)
        assert one.status_code in REFUSED, answer(one)
        assert g.reasons["citizen_out"] not in one.text
        assert g.reasons["employee_out"] not in one.text


def test_a_lead_sees_only_the_keys_within_their_districts_on_the_web(fresh: Server) -> None:
    g = fresh.template.world.grants
    _as(fresh, "lead")
    page = fresh.client.get("/emergency-keys?state=all")
    assert page.status_code == 200
    assert g.reasons["inside"] in page.text
    assert g.reasons["citizen_out"] not in page.text
    assert g.reasons["employee_out"] not in page.text


def test_an_administrator_sees_every_key(fresh: Server) -> None:
    g = fresh.template.world.grants
    headers = _as(fresh, "admin").api
    listed = fresh.client.get("/api/v1/admin/emergency-keys?state=all", headers=headers)
    assert {item["id"] for item in listed.json()["items"]} == {
        g.inside,
        g.citizen_out,
        g.employee_out,
    }
    page = fresh.client.get("/emergency-keys?state=all")
    assert all(reason in page.text for reason in g.reasons.values())
