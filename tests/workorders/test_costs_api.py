"""Costs per group, their CSV and Excel, the API of work orders, and the timeline."""

from __future__ import annotations

import io

from fastapi.testclient import TestClient
from openpyxl import load_workbook  # type: ignore[import-untyped]
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from carekey.domain import enums as e
from carekey.store import models as m
from carekey.workorders import costs, timeline
from tests.workorders.conftest import START, Installers, Tenants, actor, sign_in


def _signed_off_total(db: Session) -> int:
    return int(
        db.execute(
            select(func.sum(m.WorkOrder.cost_ore))
            .where(m.WorkOrder.municipality_id == 1)
            .where(m.WorkOrder.status == e.WorkOrderStatus.SIGNED_OFF)
        ).scalar()
        or 0
    )


def test_costs_sum_the_same_in_every_group(
    db: Session, engine: Engine, tenants: Tenants, installers: Installers
) -> None:
    del installers
    admin = actor(engine, tenants.admin)
    total = _signed_off_total(db)
    by_month = costs.cost_report(db, actor=admin, group="month")
    by_property = costs.cost_report(db, actor=admin, group="property")
    assert total > 0
    assert by_month.paid_ore == total
    assert by_property.paid_ore == total
    homes = int(
        db.execute(
            select(func.sum(m.WorkOrder.cost_ore))
            .where(m.WorkOrder.municipality_id == 1, m.WorkOrder.citizen_id.is_not(None))
            .where(m.WorkOrder.status == e.WorkOrderStatus.SIGNED_OFF)
        ).scalar()
        or 0
    )
    assert costs.cost_report(db, actor=admin, group="citizen").paid_ore == homes
    assert costs.cost_report(db, actor=admin, group="district").paid_ore == homes
    # Another municipality's administrator sees none of it.
    other = costs.cost_report(db, actor=actor(engine, tenants.other_admin), group="month")
    assert other.paid_ore != total


def test_csv_and_excel_keep_labels_text() -> None:
    report = costs.CostReport(
        "citizen", None, [costs.CostLine("1", "=HYPERLINK(1)", 2, 12345, 100, 12000, 445)]
    )
    text = costs.costs_csv(report)
    assert text.startswith("\ufeffGruppe;Ordrer")
    assert "'=HYPERLINK(1);2;123,45;1,00" in text
    book = load_workbook(io.BytesIO(costs.costs_xlsx(report, now=START)))
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[1][0] == "'=HYPERLINK(1)"
    assert rows[1][2] == 123.45


def test_the_api_of_an_order(
    client: TestClient, engine: Engine, tenants: Tenants, installers: Installers
) -> None:
    admin = sign_in(client, tenants.admin, engine)
    made = client.post(
        "/api/v1/admin/work-orders",
        json={"kind": "restore", "citizen_id": installers.citizen},
        headers=admin,
    )
    assert made.status_code == 201, made.text
    order_id = made.json()["id"]
    assigned = client.post(
        f"/api/v1/admin/work-orders/{order_id}/assign",
        json={"installer_id": installers.one},
        headers=admin,
    )
    assert assigned.json()["installer_name"] == "Montør Mads"
    fitter = sign_in(client, installers.one, engine)
    mine = client.get("/api/v1/admin/work-orders", headers=fitter).json()
    assert [o["id"] for o in mine["items"]] == [order_id]
    refused = client.post(
        f"/api/v1/admin/work-orders/{order_id}/complete",
        json={"checklist": {"screw_holes": True}, "photo_ref": "p"},
        headers=fitter,
    )
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["code"] == "work_order.checklist_incomplete"
    too_early = client.post(f"/api/v1/admin/work-orders/{order_id}/sign-off", headers=admin)
    assert too_early.status_code == 409
    listed = client.get("/api/v1/admin/costs?group=district", headers=admin)
    assert listed.status_code == 200
    assert listed.json()["paid_ore"] > 0


def test_the_timeline_of_a_citizen(
    db: Session, engine: Engine, tenants: Tenants, installers: Installers
) -> None:
    view = timeline.citizen_timeline(
        db, actor=actor(engine, tenants.admin), citizen_id=installers.citizen
    )
    keys = [(s.key, s.reached) for s in view.steps]
    assert keys[:3] == [("consent", True), ("permission", True), ("install", True)]
    assert ("restored", False) in keys
