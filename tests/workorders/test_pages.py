"""The pages of work orders, costs and timelines: the office's list, one order with its
steps, the installer's completion, the costs with CSV and Excel, a citizen's timeline."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from carekey.clock import FrozenClock
from carekey.domain import enums as e
from carekey.store import models as m
from carekey.workorders import service as wo
from tests.web.conftest import csrf_of, web_sign_in
from tests.workorders.conftest import START, Installers, Tenants, actor


def _number(engine: Engine, employee_id: int) -> str:
    with Session(engine) as db:
        employee = db.get(m.Employee, employee_id)
        assert employee is not None
        return employee.employee_number


def _restore(engine: Engine, t: Tenants, i: Installers) -> int:
    with Session(engine) as db, db.begin():
        order = wo.create_order(
            db,
            actor=actor(engine, t.admin),
            new=wo.NewOrder(kind=e.WorkOrderKind.RESTORE, citizen_id=i.citizen),
            now=START,
        )
        wo.assign_order(
            db,
            actor=actor(engine, t.admin),
            order_id=order.id,
            installer_id=i.one,
            supplier=None,
            now=START,
        )
        return order.id


def test_the_office_and_the_installer(
    client: TestClient, clock: FrozenClock, engine: Engine, tenants: Tenants, installers: Installers
) -> None:
    order_id = _restore(engine, tenants, installers)
    web_sign_in(client, clock, _number(engine, installers.one))
    mine = client.get("/work-orders")
    assert mine.status_code == 200
    assert f"#{order_id}" in mine.text
    page = client.get(f"/work-orders/{order_id}")
    assert "Meld arbejdet udført" in page.text
    done = client.post(
        f"/work-orders/{order_id}/complete",
        data={
            "csrf_token": csrf_of(page.text),
            "item_cylinder_restored": "1",
            "item_screw_holes": "1",
            "item_device_removed": "1",
            "photo_ref": "foto-7",
            "material_kr": "100,00",
            "labour_kr": "450",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    client.cookies.clear()
    web_sign_in(client, clock, _number(engine, tenants.admin))
    listed = client.get("/work-orders?status=done&kind=restore")
    assert f"#{order_id}" in listed.text
    page = client.get(f"/work-orders/{order_id}")
    assert "Godkend arbejdet" in page.text
    signed = client.post(
        f"/work-orders/{order_id}/sign-off",
        data={"csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert signed.status_code == 303
    with Session(engine) as db:
        order = db.get(m.WorkOrder, order_id)
        assert order is not None
        assert order.status is e.WorkOrderStatus.SIGNED_OFF
        assert order.cost_ore == 55_000
    costs = client.get("/costs?group=citizen")
    assert costs.status_code == 200
    assert "Betalt i alt" in costs.text
    assert client.get("/costs.csv?group=district").text.startswith("\ufeffGruppe")
    xlsx = client.get("/costs.xlsx")
    assert xlsx.content[:2] == b"PK"
    timeline = client.get(f"/citizens/{installers.citizen}/timeline")
    assert timeline.status_code == 200
    assert "Genetableret" in timeline.text
    assert client.get("/work-orders/new").status_code == 200


def test_another_installer_gets_404(
    client: TestClient, clock: FrozenClock, engine: Engine, tenants: Tenants, installers: Installers
) -> None:
    order_id = _restore(engine, tenants, installers)
    web_sign_in(client, clock, _number(engine, installers.two))
    assert client.get(f"/work-orders/{order_id}").status_code == 404
    assert f"#{order_id}" not in client.get("/work-orders").text
    assert client.get("/costs").status_code == 403
