"""Issue 12, "a lost phone opens nothing": the proof of freshness and the denylist pieces in
every answer, none after a block, and the key app's wipe events in the audit log."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from carekey.keyservice import issuer as issuer_service
from carekey.protocol.denylist import PREFIX_SPACE
from carekey.protocol.freshness import decode_freshness
from carekey.protocol.session import Command
from carekey.protocol.timetoken import BASE_TOLERANCE
from carekey.store import models as m
from tests.api.conftest import Tenants
from tests.api.phone_sim import Phone, Scene, advance
from tests.api.test_key_service_e2e import _citizen_of_worker, _colleague, _logged_in, _number

DEFAULT_POLICY = {"seal_after_s": 180, "freshness_s": 3300, "freshness_warn_s": 900}


def _check_proof(scene: Scene, phone: Phone, answer: dict[str, Any], lifetime_s: int) -> None:
    fresh = answer["freshness"]
    with Session(scene.engine) as session:
        keyring = issuer_service.keyring(session, municipality_id=1)
        stored = session.get(m.Phone, phone.phone_id)
        assert stored is not None
        stored_expiry = stored.freshness_expires_at
    proof = decode_freshness(base64.b64decode(fresh["proof"]), keyring=keyring)
    assert proof.device_key_id == phone.device_key.public.key_id
    iat = scene.clock.now().replace(second=0, microsecond=0)
    assert proof.issued_at == iat
    assert proof.expires == iat + dt.timedelta(seconds=lifetime_s)
    assert fresh["expires_at"] == proof.expires.isoformat()
    assert fresh["denylist_version"] == proof.denylist_version
    assert stored_expiry == proof.expires  # exact: the expiry of the last proof issued


def test_login_bundle_and_heartbeat_carry_a_proof_for_the_phone_and_the_policy(
    scene: Scene, tenants: Tenants
) -> None:
    phone = _logged_in(scene, tenants.worker)
    assert phone.bundle["policy"] == DEFAULT_POLICY
    _check_proof(scene, phone, phone.bundle, 3300)

    advance(scene.clock, minutes=7, seconds=13)
    beat = phone.heartbeat()
    assert beat["status"] == "OK"
    assert beat["policy"] == DEFAULT_POLICY
    _check_proof(scene, phone, beat, 3300)

    # The municipality's policy decides the lifetime.
    with Session(scene.engine) as session, session.begin():
        session.execute(
            update(m.Municipality).values(
                freshness_lifetime_s=600, seal_after_s=60, freshness_warn_s=120
            )
        )
    advance(scene.clock, minutes=2)
    assert phone.refresh().status_code == 200
    assert phone.bundle["policy"] == {
        "freshness_s": 600,
        "seal_after_s": 60,
        "freshness_warn_s": 120,
    }
    # A shorter proof after a policy change: the stored expiry stays at the longer, live one.
    with Session(scene.engine) as session:
        stored = session.get(m.Phone, phone.phone_id)
        assert stored is not None
        assert stored.freshness_expires_at == dt.datetime.fromisoformat(
            beat["freshness"]["expires_at"]
        )


def test_the_denylist_comes_as_pieces_and_not_again_when_the_phone_has_it(
    scene: Scene, tenants: Tenants, engine: Engine
) -> None:
    phone = _logged_in(scene, tenants.worker)
    other = _colleague(engine, tenants.worker)
    _logged_in(scene, other)  # live keys: blocking them makes a denylist version
    response = scene.client.post(
        f"/api/v1/admin/employees/{other}/block",
        json={"reason": "fratrådt"},
        headers=scene.admin_headers,
    )
    assert response.status_code == 200, response.text
    version = response.json()["denylist_version"]

    beat = phone.heartbeat()  # an older app: no body, the whole list
    denylist = beat["denylist"]
    assert denylist["version"] == version == beat["freshness"]["denylist_version"]
    [[lo, hi, data]] = denylist["pieces"]
    assert (lo, hi) == (0, PREFIX_SPACE)
    assert denylist["snapshot"] == data  # one piece: the full snapshot, for older apps

    assert phone.heartbeat(send_version=True)["denylist"] is None  # it carries that version
    stale = scene.client.post(
        "/api/v1/app/heartbeat", headers=phone.auth, json={"denylist_version": version - 1}
    )
    assert stale.json()["denylist"] == denylist
    bad = scene.client.post(
        "/api/v1/app/heartbeat", headers=phone.auth, json={"denylist_version": -1}
    )
    assert bad.status_code == 422


def test_no_proof_after_a_block_and_the_stolen_phone_stops_opening_when_its_proof_ends(
    scene: Scene, tenants: Tenants, engine: Engine
) -> None:
    victim = _logged_in(scene, tenants.worker)
    lock_id = scene.home_lock_of(_citizen_of_worker(engine, tenants.worker))
    lock = scene.door(lock_id)
    advance(scene.clock, minutes=10)
    last = victim.heartbeat()["freshness"]
    last_expiry = dt.datetime.fromisoformat(last["expires_at"])
    stolen = dict(victim.bundle)

    response = scene.client.post(
        f"/api/v1/admin/phones/{victim.phone_id}/block",
        json={"reason": "stjålet", "lost": True},
        headers=scene.admin_headers,
    )
    assert response.status_code == 200, response.text
    exposed = {d["door_device_id"]: d["until"] for d in response.json()["exposed_doors"]}
    # Exposed until the last proof runs out (well before the 9-hour keys), plus the tolerance.
    until = dt.datetime.fromisoformat(exposed[lock_id])
    assert last_expiry < until <= last_expiry + dt.timedelta(minutes=30)

    # Every path refuses, and none hands out a proof.
    beat = scene.client.post("/api/v1/app/heartbeat", headers=victim.auth).json()
    assert beat["status"] == "WIPE"
    assert "freshness" not in beat
    victim.bundle = dict(stolen)
    refreshed = victim.refresh()
    assert refreshed.status_code == 403
    assert "freshness" not in refreshed.json()
    relogin = victim.login(_number(engine, tenants.worker))
    assert relogin.status_code == 403
    assert "freshness" not in relogin.json()
    with Session(engine) as session:
        stored = session.get(m.Phone, victim.phone_id)
        assert stored is not None
        assert stored.freshness_expires_at == last_expiry

    # The lock is offline and never hears of the block: the stolen copy opens until its last
    # proof (plus the door's tolerance) runs out, and never after.
    victim.bundle = dict(stolen)
    advance(scene.clock, minutes=30)
    lock.clock.set(scene.clock.now())
    assert victim.visit(lock, Command.UNLOCK).ok
    victim.visit(lock, Command.LOCK)
    scene.clock.set(last_expiry + BASE_TOLERANCE + dt.timedelta(seconds=5))
    lock.clock.set(scene.clock.now())
    late = victim.visit(lock, Command.UNLOCK)
    assert not late.ok
    assert late.response.result == "freshness_expired"
    assert lock.state.value == "locked"


def test_wipes_uploaded_later_appear_in_the_audit_log_with_their_reason(
    scene: Scene, tenants: Tenants, engine: Engine
) -> None:
    phone = _logged_in(scene, tenants.worker)
    wiped_codes = scene.clock.now() + dt.timedelta(minutes=5)
    wiped_expired = scene.clock.now() + dt.timedelta(minutes=15)
    advance(scene.clock, minutes=20)
    # The app wiped twice while offline; it uploads the events with its next session.
    assert phone.login(_number(engine, tenants.worker)).status_code == 200
    body = {
        "app_events": [
            {
                "idempotency_key": "wipe-1",
                "kind": "wiped",
                "reason": "wrong_codes",
                "occurred_at": wiped_codes.isoformat(),
            },
            {
                "idempotency_key": "wipe-2",
                "kind": "wiped",
                "reason": "expired",
                "occurred_at": wiped_expired.isoformat(),
            },
        ]
    }
    response = scene.client.post("/api/v1/app/events", json=body, headers=phone.auth)
    assert response.status_code == 200, response.text
    assert response.json()["app_events"] == {"stored": 2, "duplicates": 0}

    audit = scene.client.get(
        "/api/v1/admin/audit", params={"employee_id": tenants.worker}, headers=scene.admin_headers
    )
    assert audit.status_code == 200, audit.text
    wipes = [i for i in audit.json()["items"] if i["action"] == "wiped"]
    assert [(i["reason_code"], i["reason"], i["reason_en"], i["what"]) for i in wipes] == [
        ("expired", "Nøglerne var udløbet", "The keys had expired", "Nøgler slettet"),
        (
            "wrong_codes",
            "For mange forkerte personlige koder",
            "Too many wrong personal codes",
            "Nøgler slettet",
        ),
    ]
    assert wipes[1]["occurred_at"] == wiped_codes.strftime("%Y-%m-%dT%H:%M:%SZ")
