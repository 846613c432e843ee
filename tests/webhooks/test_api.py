"""The webhooks' API, pages and command: the secret shown once, rotation, disable, delete, the
delivery log with filters, replay keeping the webhook-id, English, and ``carekey webhooks
deliver --once``."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from carekey.clock import FrozenClock
from carekey.store import models as m
from carekey.webhooks import service as webhooks
from carekey.webhooks.service import WebhookEventType as T
from tests.api.conftest import START, Tenants, sign_in
from tests.web.conftest import csrf_of
from tests.web.test_overview_pages import _signed_in

W = "/api/v1/webhooks"


def _emit(engine: Engine, municipality_id: int = 1) -> None:
    with Session(engine) as db, db.begin():
        webhooks.emit(
            db,
            municipality_id=municipality_id,
            event_type=T.DOOR_ALARM,
            resource="door:ENT-1",
            data={"alarm": "forced_open"},
            now=START,
        )


def test_the_api_round_trip(client: TestClient, engine: Engine, tenants: Tenants) -> None:
    admin = sign_in(client, tenants.admin, engine)
    made = client.post(
        f"{W}/subscriptions",
        headers=admin,
        json={"url": "https://crm.example.org/hook", "event_types": ["door.alarm"]},
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["secret"]["secret"].startswith("whsec_")
    assert body["event_types"] == ["door.alarm"]
    assert body["association_id"] is None
    sub = body["id"]
    shown = client.get(f"{W}/subscriptions/{sub}", headers=admin).json()
    assert "secret" not in shown
    assert shown["secrets"][0]["kind"] == "hmac"
    assert [s["id"] for s in client.get(f"{W}/subscriptions", headers=admin).json()] == [sub]
    rotated = client.post(f"{W}/subscriptions/{sub}/rotate", headers=admin).json()
    assert rotated["secret"] != body["secret"]["secret"]
    secrets = client.get(f"{W}/subscriptions/{sub}", headers=admin).json()["secrets"]
    assert len(secrets) == 2
    assert secrets[0]["expires_at"] is not None
    assert secrets[1]["expires_at"] is None

    _emit(engine)
    page = client.get(f"{W}/deliveries", headers=admin, params={"status": "pending"}).json()
    assert page["total"] == 1
    delivery = page["items"][0]
    assert delivery["event_type"] == "door.alarm"
    assert delivery["msg_id"].startswith("msg_")
    assert (
        client.get(f"{W}/deliveries", headers=admin, params={"status": "failed"}).json()["total"]
        == 0
    )
    filtered = client.get(
        f"{W}/deliveries", headers=admin, params={"event_type": "door.opened"}
    ).json()
    assert filtered["total"] == 0
    assert client.get(f"{W}/deliveries", headers=admin, params={"status": "x"}).status_code == 422
    # Pending: nothing to replay yet.
    assert client.post(f"{W}/deliveries/{delivery['id']}/replay", headers=admin).status_code == 409
    with Session(engine) as db, db.begin():
        row = db.get(m.WebhookDelivery, delivery["id"])
        assert row is not None
        row.status, row.attempts = "failed", 14
    replayed = client.post(f"{W}/deliveries/{delivery['id']}/replay", headers=admin).json()
    assert replayed["status"] == "pending"
    assert replayed["msg_id"] == delivery["msg_id"]
    detail = client.get(f"{W}/deliveries/{delivery['id']}", headers=admin).json()
    assert detail["log"] == []
    assert detail["payload"]["type"] == "door.alarm"

    assert not client.post(f"{W}/subscriptions/{sub}/disable", headers=admin).json()["active"]
    assert client.post(f"{W}/subscriptions/{sub}/enable", headers=admin).json()["active"]
    assert client.delete(f"{W}/subscriptions/{sub}", headers=admin).status_code == 204
    assert client.get(f"{W}/subscriptions/{sub}", headers=admin).status_code == 404
    bad = client.post(f"{W}/subscriptions", headers=admin, json={"url": "ftp://x"})
    assert bad.status_code == 422
    auditor = sign_in(client, tenants.auditor, engine)
    assert client.get(f"{W}/subscriptions", headers=auditor).status_code == 200
    refused = client.post(f"{W}/subscriptions", headers=auditor, json={"url": "https://a.org"})
    assert refused.status_code == 403


def test_the_pages(
    client: TestClient, clock: FrozenClock, engine: Engine, tenants: Tenants
) -> None:
    _signed_in(client, clock, engine, tenants.admin)
    page = client.get("/webhooks")
    assert page.status_code == 200
    assert "Ingen abonnementer endnu." in page.text
    assert 'href="/webhooks"' in page.text  # the menu
    made = client.post(
        "/webhooks",
        data={
            "url": "https://crm.example.org/in",
            "description": "Sagssystem",
            "event_types": ["door.alarm", "work_order.created"],
            "kind": "hmac",
            "csrf_token": csrf_of(page.text),
        },
    )
    assert made.status_code == 200, made.text
    secret = re.search(r'<code class="secret">(whsec_[^<]+)</code>', made.text)
    assert secret, "the new secret is shown once"
    assert "Døralarm" in made.text
    assert "Sagssystem" in made.text
    again = client.get("/webhooks")
    assert secret.group(1) not in again.text
    with Session(engine) as db:
        sub = db.execute(select(m.WebhookSubscription)).scalar_one()
    token = csrf_of(again.text)
    rotated = client.post(f"/webhooks/{sub.id}/rotate", data={"csrf_token": token})
    assert rotated.status_code == 200
    assert "whsec_" in rotated.text
    disabled = client.post(f"/webhooks/{sub.id}/disable", data={"csrf_token": token})
    assert disabled.status_code == 200
    assert "sat på pause" in disabled.text
    client.post(f"/webhooks/{sub.id}/enable", data={"csrf_token": token})
    bad = client.post("/webhooks", data={"url": "nonsense", "csrf_token": token})
    assert bad.status_code == 400
    assert "https://" in bad.text

    _emit(engine)
    with Session(engine) as db, db.begin():
        delivery = db.execute(select(m.WebhookDelivery)).scalar_one()
        delivery.status, delivery.last_status_code, delivery.last_error = "failed", 503, "nede"
        delivery_id = delivery.id
    log = client.get("/webhooks/deliveries", params={"status": "failed"})
    assert log.status_code == 200
    assert f'id="delivery-{delivery_id}"' in log.text
    assert "HTTP 503" in log.text
    assert "Send igen" in log.text
    none = client.get("/webhooks/deliveries", params={"event_type": "door.opened"})
    assert f'id="delivery-{delivery_id}"' not in none.text
    replayed = client.post(
        f"/webhooks/deliveries/{delivery_id}/replay", data={"csrf_token": csrf_of(log.text)}
    )
    assert replayed.status_code == 200
    assert "samme webhook-id" in replayed.text
    english = client.get("/lang/en", params={"next": "/webhooks/deliveries"})
    assert english.status_code == 200
    assert "Webhook deliveries" in english.text
    client.get("/lang/da", params={"next": "/"})
    gone = client.post(f"/webhooks/{sub.id}/delete", data={"csrf_token": token})
    assert gone.status_code == 200
    assert "slettet" in gone.text
    assert client.post(f"/webhooks/{sub.id}/disable", data={"csrf_token": token}).status_code == 404


def test_the_deliver_command_once(
    engine: Engine, tenants: Tenants, monkeypatch: pytest.MonkeyPatch
) -> None:
    import datetime as dt

    from carekey.access import Actor
    from carekey.cli.main import app
    from carekey.config import get_settings
    from carekey.domain import enums as e
    from tests.api.conftest import SECRET
    from tests.webhooks.helpers import Clock, Receiver, running

    now = dt.datetime.now(dt.UTC)
    receiver = Receiver(keys=[], clock=Clock(now))
    actor = Actor(tenants.admin, 1, frozenset({e.Role.ADMINISTRATOR}), "Admin")
    with running(receiver):
        with Session(engine) as db, db.begin():
            _sub, new = webhooks.create_subscription(
                db, actor=actor, url=receiver.url, event_types=[], server_secret=SECRET, now=now
            )
            webhooks.emit(
                db,
                municipality_id=1,
                event_type=T.DOOR_OPENED,
                resource="door:X",
                data={},
                now=now,
            )
        receiver.keys.append(new.secret)
        monkeypatch.setenv("CAREKEY_SECRET_KEY", SECRET)
        get_settings.cache_clear()
        try:
            result = CliRunner().invoke(
                app,
                [
                    "webhooks",
                    "deliver",
                    "--once",
                    "--database-url",
                    engine.url.render_as_string(False),
                ],
            )
        finally:
            get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert '"attempted": 1' in result.output
    assert [r.answered for r in receiver.log] == [200]
    assert not receiver.bad
