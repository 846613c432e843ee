"""Door states and alarms in the administration (issue 13): the dashboard's alarm list, the door
page's lock and door rows, the door list's badges, and the JSON API's fields."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from carekey.clock import FrozenClock
from carekey.domain import enums as e
from carekey.store import models as m
from tests.web.conftest import Tenants
from tests.web.test_overview_pages import _home, _panel, _signed_in


def _set_states(
    engine: Engine,
    door_id: int,
    lock_state: e.LockState | None,
    door_state: e.DoorSensorState | None,
) -> None:
    with Session(engine) as db, db.begin():
        door = db.get(m.DoorDevice, door_id)
        assert door is not None
        door.lock_state = lock_state
        door.door_state = door_state


def test_a_forced_open_door_is_on_the_dashboard_and_its_page(
    client: TestClient, clock: FrozenClock, tenants: Tenants, engine: Engine
) -> None:
    home = _home(engine, tenants)
    _signed_in(client, clock, engine, tenants.admin)
    quiet = _panel(client.get("/dashboard").text, "alarm-h")
    assert "Ingen døre med alarm." in quiet
    assert home.lock_serial not in quiet

    _set_states(engine, home.lock, e.LockState.LOCKED, e.DoorSensorState.FORCED_OPEN)
    _set_states(engine, home.far_lock, e.LockState.UNKNOWN, e.DoorSensorState.CLOSED)
    page = client.get("/dashboard")
    alarms = _panel(page.text, "alarm-h")
    assert home.lock_serial in alarms
    assert "Åbnet med magt" in alarms
    assert home.far_lock_serial in alarms
    assert "Ukendt (strømsvigt under drejning)" in alarms
    assert "Ingen døre med alarm." not in alarms

    detail = client.get(f"/doors/{home.lock}")
    assert detail.status_code == 200
    assert 'data-testid="door-state"><span class="badge bad">Åbnet med magt</span>' in detail.text
    assert 'data-testid="lock-state">Låst</dd>' in detail.text

    listing = client.get("/doors?kind=home_lock")
    assert '<span class="badge bad">Åbnet med magt</span>' in listing.text

    english = client.get("/lang/en?next=/dashboard")
    assert "Doors with an alarm" in english.text
    assert "Forced open" in _panel(english.text, "alarm-h")


def test_a_closed_door_and_a_jammed_lock(
    client: TestClient, clock: FrozenClock, tenants: Tenants, engine: Engine
) -> None:
    home = _home(engine, tenants)
    _set_states(engine, home.lock, e.LockState.JAMMED, e.DoorSensorState.CLOSED)
    _signed_in(client, clock, engine, tenants.admin)
    alarms = _panel(client.get("/dashboard").text, "alarm-h")
    assert home.lock_serial in alarms
    assert "Sidder fast" in alarms
    detail = client.get(f"/doors/{home.lock}").text
    assert 'data-testid="door-state">Lukket</dd>' in detail
    assert 'data-testid="lock-state"><span class="badge bad">Sidder fast</span>' in detail
