"""The rules of work orders: creation (consent, permission), the transitions, the checklist of
a restore, the separation of who does the work and who signs it off, and who sees what."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from carekey.domain import enums as e
from carekey.domain.errors import ConflictError, DomainError, NotFoundError
from carekey.store import models as m
from carekey.workorders import service as wo
from tests.workorders.conftest import START, Installers, Tenants, actor

NOW = START
FULL_RESTORE = {
    "cylinder_restored": True,
    "screw_holes": True,
    "device_removed": True,
}


def _new_restore(db: Session, engine: Engine, t: Tenants, i: Installers) -> int:
    order = wo.create_order(
        db,
        actor=actor(engine, t.admin),
        new=wo.NewOrder(kind=e.WorkOrderKind.RESTORE, citizen_id=i.citizen),
        now=NOW,
    )
    wo.assign_order(
        db,
        actor=actor(engine, t.admin),
        order_id=order.id,
        installer_id=i.one,
        supplier=None,
        now=NOW,
    )
    db.commit()
    return order.id


def test_install_at_home_needs_consent(
    db: Session, engine: Engine, tenants: Tenants, installers: Installers
) -> None:
    db.execute(
        m.ConsentRecord.__table__.update()
        .where(m.ConsentRecord.citizen_id == installers.citizen)
        .values(withdrawn_at=NOW)
    )
    with pytest.raises(DomainError) as refused:
        wo.create_order(
            db,
            actor=actor(engine, tenants.admin),
            new=wo.NewOrder(kind=e.WorkOrderKind.INSTALL, citizen_id=installers.citizen),
            now=NOW,
        )
    assert refused.value.code == "work_order.no_consent"


def test_module_install_records_the_permission(
    db: Session, engine: Engine, tenants: Tenants, installers: Installers
) -> None:
    order = wo.create_order(
        db,
        actor=actor(engine, tenants.admin),
        new=wo.NewOrder(kind=e.WorkOrderKind.INSTALL, entrance_id=installers.entrance),
        now=NOW,
    )
    assert order.permission_request_id is not None
    db.execute(m.PermissionRequest.__table__.update().values(status=e.PermissionStatus.REFUSED))
    with pytest.raises(DomainError) as refused:
        wo.create_order(
            db,
            actor=actor(engine, tenants.admin),
            new=wo.NewOrder(kind=e.WorkOrderKind.INSTALL, entrance_id=installers.entrance),
            now=NOW,
        )
    assert refused.value.code == "work_order.no_permission"


def test_the_whole_life_of_a_restore(
    db: Session, engine: Engine, tenants: Tenants, installers: Installers
) -> None:
    order_id = _new_restore(db, engine, tenants, installers)
    admin = actor(engine, tenants.admin)
    fitter = actor(engine, installers.one)
    wo.schedule_order(db, actor=admin, order_id=order_id, scheduled_for=NOW, now=NOW)
    with pytest.raises(DomainError) as missing:
        wo.complete_order(
            db,
            actor=fitter,
            order_id=order_id,
            checklist={"screw_holes": True},
            photo_ref=None,
            material_ore=0,
            labour_ore=0,
            notes=None,
            now=NOW,
        )
    assert missing.value.code == "work_order.checklist_incomplete"
    assert "cylinder" in missing.value.message_en
    assert "photo" in missing.value.message_en
    with pytest.raises(ConflictError):
        wo.sign_off_order(db, actor=admin, order_id=order_id, now=NOW)
    wo.complete_order(
        db,
        actor=fitter,
        order_id=order_id,
        checklist=FULL_RESTORE,
        photo_ref="foto-1",
        material_ore=10_000,
        labour_ore=45_000,
        notes="ok",
        now=NOW,
    )
    done = db.get(m.WorkOrder, order_id)
    assert done is not None
    assert (done.status, done.cost_ore) == (e.WorkOrderStatus.DONE, 55_000)
    with pytest.raises(ConflictError) as twice:
        wo.cancel_order(db, actor=admin, order_id=order_id, reason="nej", now=NOW)
    assert twice.value.code == "work_order.wrong_status"
    wo.sign_off_order(db, actor=admin, order_id=order_id, now=NOW + dt.timedelta(days=1))
    assert done.status is e.WorkOrderStatus.SIGNED_OFF
    db.commit()
    logged = (
        db.execute(
            select(m.AdminAction.action)
            .where(m.AdminAction.target_type == "work_order")
            .where(m.AdminAction.target_id == str(order_id))
            .order_by(m.AdminAction.id)
        )
        .scalars()
        .all()
    )
    assert logged == [
        "work_order.created",
        "work_order.assigned",
        "work_order.scheduled",
        "work_order.completed",
        "work_order.signed_off",
    ]


def test_only_the_assigned_installer_completes(
    db: Session, engine: Engine, tenants: Tenants, installers: Installers
) -> None:
    order_id = _new_restore(db, engine, tenants, installers)
    with pytest.raises(NotFoundError):
        wo.complete_order(
            db,
            actor=actor(engine, installers.two),
            order_id=order_id,
            checklist=FULL_RESTORE,
            photo_ref="x",
            material_ore=0,
            labour_ore=0,
            notes=None,
            now=NOW,
        )
    mine = wo.list_orders(db, actor=actor(engine, installers.one))
    assert [r.order.id for r in mine.items] == [order_id]
    assert wo.list_orders(db, actor=actor(engine, installers.two)).total == 0


def test_the_signer_is_not_the_performer(
    db: Session, engine: Engine, tenants: Tenants, installers: Installers
) -> None:
    order_id = _new_restore(db, engine, tenants, installers)
    # An administrator who is also an installer does the work and may not sign it off.
    db.add(m.EmployeeRole(employee_id=tenants.admin, role=e.Role.INSTALLER))
    db.get(m.WorkOrder, order_id).assigned_to_employee_id = tenants.admin  # type: ignore[union-attr]
    db.commit()
    both = actor(engine, tenants.admin)
    wo.complete_order(
        db,
        actor=both,
        order_id=order_id,
        checklist=FULL_RESTORE,
        photo_ref="x",
        material_ore=0,
        labour_ore=0,
        notes=None,
        now=NOW,
    )
    with pytest.raises(ConflictError) as own:
        wo.sign_off_order(db, actor=both, order_id=order_id, now=NOW)
    assert own.value.code == "work_order.own_work"


def test_assign_only_to_an_installer(
    db: Session, engine: Engine, tenants: Tenants, installers: Installers
) -> None:
    order_id = _new_restore(db, engine, tenants, installers)
    with pytest.raises(DomainError) as refused:
        wo.assign_order(
            db,
            actor=actor(engine, tenants.admin),
            order_id=order_id,
            installer_id=tenants.worker,
            supplier=None,
            now=NOW,
        )
    assert refused.value.code == "work_order.not_an_installer"


def test_other_municipality_is_404(
    db: Session, engine: Engine, tenants: Tenants, installers: Installers
) -> None:
    order_id = _new_restore(db, engine, tenants, installers)
    with pytest.raises(NotFoundError):
        wo.get_order(db, actor=actor(engine, tenants.other_admin), order_id=order_id)


def test_low_battery_makes_one_order(
    db: Session, engine: Engine, tenants: Tenants, installers: Installers
) -> None:
    door = db.get(m.DoorDevice, installers.home_lock)
    assert door is not None
    # The seed may have given this lock an open battery order already.
    db.execute(
        m.WorkOrder.__table__.update()
        .where(m.WorkOrder.door_device_id == door.id)
        .values(status=e.WorkOrderStatus.CANCELLED)
    )
    first = wo.order_battery_service(db, door=door, now=NOW)
    again = wo.order_battery_service(db, door=door, now=NOW)
    assert first is not None
    assert again is None
    assert first.trigger is e.WorkOrderTrigger.LOW_BATTERY
    count = db.execute(
        select(func.count())
        .select_from(m.WorkOrder)
        .where(m.WorkOrder.door_device_id == door.id)
        .where(m.WorkOrder.service_kind == e.ServiceKind.BATTERY)
    ).scalar()
    assert count == 1


def test_the_seed_spreads_orders_over_every_state(db: Session, tenants: Tenants) -> None:
    del tenants
    states = set(db.execute(select(m.WorkOrder.status).distinct()).scalars())
    kinds = set(db.execute(select(m.WorkOrder.kind).distinct()).scalars())
    assert states == set(e.WorkOrderStatus)
    assert {e.WorkOrderKind.INSTALL, e.WorkOrderKind.SERVICE} <= kinds
    battery = db.execute(
        select(func.count())
        .select_from(m.WorkOrder)
        .where(m.WorkOrder.trigger == e.WorkOrderTrigger.LOW_BATTERY)
        .where(m.WorkOrder.status.in_(e.OPEN_WORK_ORDER_STATUSES))
    ).scalar()
    low = db.execute(
        select(func.count()).select_from(m.DoorDevice).where(m.DoorDevice.battery_pct < 20)
    ).scalar()
    assert battery == low


def test_the_installers_open_order_at_a_door(
    db: Session, engine: Engine, tenants: Tenants, installers: Installers
) -> None:
    order_id = _new_restore(db, engine, tenants, installers)
    found = wo.open_order_at_door(
        db, actor=actor(engine, installers.one), door_id=installers.home_lock
    )
    assert found is not None
    assert found.id == order_id
    assert (
        wo.open_order_at_door(db, actor=actor(engine, installers.two), door_id=installers.home_lock)
        is None
    )
