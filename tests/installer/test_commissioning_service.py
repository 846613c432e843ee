"""Commissioning and decommissioning for a work order, at the service level, with a simulated
door's genuine signed receipts (real Ed25519): accepted; forged, another door's or stale:
refused, and nothing changes. Only the assigned installer, only for an open order."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from carekey.domain import enums as e
from carekey.domain.errors import ConflictError, DomainError, ForbiddenError, NotFoundError
from carekey.installer import service
from carekey.protocol.events import Event, EventKind, sign_event
from carekey.protocol.keys import DoorKey
from carekey.protocol.session import Command
from carekey.store import models as m
from tests.installer.conftest import NOW, Site, order


def _actions(db: Session) -> list[str]:
    return list(db.scalars(select(m.AdminAction.action).order_by(m.AdminAction.id)))


def _door(site: Site) -> m.DoorDevice:
    site.db.expire_all()
    found = site.db.get(m.DoorDevice, site.stock.id)
    assert found is not None
    return found


def _commission(site: Site, receipts: list[bytes], **kw: object) -> service.CommissionResult:
    args: dict[str, object] = {
        "actor": site.installer,
        "order_id": site.install.id,
        "door_serial": site.stock.serial,
        "public_key": site.door_key,
        "firmware_version": "2.0.1",
        "test_receipts": receipts,
        "now": NOW,
    }
    args.update(kw)
    return service.commission_for_order(site.db, **args)  # type: ignore[arg-type]


def _tested(site: Site) -> list[bytes]:
    return [site.receipt(Command.UNLOCK), site.receipt(Command.LOCK)]


def test_an_installer_sees_only_their_own_orders_open_first(site: Site) -> None:
    done = order(
        site.db,
        site.world,
        assigned=site.installer,
        status=e.WorkOrderStatus.DONE,
        dwelling_id=site.dwelling.id,
        scheduled_for=NOW - dt.timedelta(days=3),
    )
    theirs = order(site.db, site.world, assigned=site.other_installer, dwelling_id=site.dwelling.id)
    views = service.assigned_orders(site.db, actor=site.installer)
    assert [v.id for v in views] == [site.install.id, done.id]
    assert views[0].is_open
    assert not views[1].is_open
    assert views[0].place == "Nørrebrogade 12A, 3. th"
    assert views[0].door_kind is e.DoorKind.HOME_LOCK
    with pytest.raises(NotFoundError):
        service.get_order(site.db, actor=site.installer, order_id=theirs.id)
    assert service.get_order(site.db, actor=site.installer, order_id=site.install.id).is_open


def test_an_install_order_is_commissioned_end_to_end(site: Site) -> None:
    done = _commission(site, _tested(site))
    site.db.commit()
    device = _door(site)
    assert done.status is e.DoorStatus.ACTIVE
    assert done.door_device_id == device.id
    assert device.status is e.DoorStatus.ACTIVE
    assert device.dwelling_id == site.dwelling.id
    assert device.public_key == site.door_key
    assert device.firmware_version == "2.0.1"
    assert device.commissioned_at is not None
    assert device.installed_at is not None
    work = site.db.get(m.WorkOrder, site.install.id)
    assert work is not None
    assert work.door_device_id == device.id
    assert _actions(site.db) == ["door.installed", "door.commissioned", "door.tested"]


def _nothing_changed(site: Site) -> None:
    site.db.rollback()
    device = _door(site)
    assert device.status is e.DoorStatus.STOCK
    assert device.dwelling_id is None
    assert device.public_key == bytes(32)
    assert _actions(site.db) == []


def test_forged_receipts_are_refused_and_nothing_changes(site: Site) -> None:
    forger = DoorKey.generate()
    forged = [
        sign_event(
            forger,
            Event(site.stock.serial.encode(), seq, NOW, kind, bytes(32), subject="x"),
        ).raw
        for seq, kind in ((1, EventKind.UNLOCKED), (2, EventKind.LOCKED))
    ]
    with pytest.raises(DomainError) as refused:
        _commission(site, forged)
    assert refused.value.code == "installer.receipt_invalid"
    _nothing_changed(site)


def test_the_forgers_key_with_its_own_receipts_is_refused_too(site: Site) -> None:
    """Receipts signed by the key reported, but naming another door."""
    other = site.bed.home_lock(b"OTHER-0001")
    site.bed.credential(site.phone, b"OTHER-0001", admin=True)
    receipts = [
        site.bed.visit(site.phone, other, c).response.receipt or b""
        for c in (Command.UNLOCK, Command.LOCK)
    ]
    with pytest.raises(DomainError) as refused:
        _commission(site, receipts, public_key=other.door_key.public.key.raw)
    assert refused.value.code == "installer.receipt_invalid"
    _nothing_changed(site)


def test_another_doors_genuine_receipts_do_not_verify_with_this_key(site: Site) -> None:
    other = site.bed.home_lock(b"OTHER-0002")
    site.bed.credential(site.phone, b"OTHER-0002", admin=True)
    receipts = [site.bed.visit(site.phone, other, Command.UNLOCK).response.receipt or b""]
    receipts.append(site.receipt(Command.LOCK))
    with pytest.raises(DomainError):
        _commission(site, receipts)
    _nothing_changed(site)


def test_a_test_opening_and_locking_are_both_needed(site: Site) -> None:
    with pytest.raises(DomainError) as refused:
        _commission(site, [site.receipt(Command.UNLOCK)])
    assert refused.value.code == "installer.test_missing"
    _nothing_changed(site)


def test_stale_receipts_are_refused(site: Site) -> None:
    receipts = _tested(site)
    with pytest.raises(DomainError) as refused:
        _commission(site, receipts, now=NOW + dt.timedelta(days=1))
    assert refused.value.code == "installer.receipt_stale"
    _nothing_changed(site)


def test_only_the_assigned_installer_and_only_an_open_order(site: Site) -> None:
    receipts = _tested(site)
    with pytest.raises(NotFoundError):
        _commission(site, receipts, actor=site.other_installer)
    for refused in (site.care, site.admin):
        with pytest.raises(ForbiddenError):
            _commission(site, receipts, actor=refused)
    with pytest.raises(NotFoundError):
        _commission(site, receipts, order_id=10_000)
    site.install.status = e.WorkOrderStatus.CANCELLED
    site.db.flush()
    with pytest.raises(ConflictError):
        _commission(site, receipts)
    site.install.status = e.WorkOrderStatus.SCHEDULED
    site.db.flush()
    with pytest.raises(NotFoundError):
        _commission(site, receipts, door_serial="NO-SUCH-DOOR")
    _nothing_changed(site)


def test_another_municipalitys_order_is_not_found(site: Site) -> None:
    from tests.store.factories import make_world

    elsewhere = make_world(site.db, code="0147", name="Frederiksberg Kommune")
    foreign = order(site.db, elsewhere, assigned=site.installer, dwelling_id=elsewhere.dwelling.id)
    with pytest.raises(NotFoundError):
        _commission(site, _tested(site), order_id=foreign.id)


@pytest.mark.parametrize("disposition", ["stock", "scrapped"])
def test_a_restore_order_decommissions_the_door(site: Site, disposition: str) -> None:
    _commission(site, _tested(site))
    site.install.status = e.WorkOrderStatus.DONE
    restore = order(
        site.db,
        site.world,
        assigned=site.installer,
        kind=e.WorkOrderKind.RESTORE,
        dwelling_id=site.dwelling.id,
    )
    site.db.commit()
    receipt = site.receipt(Command.DECOMMISSION)
    forged = sign_event(
        DoorKey.generate(),
        Event(site.stock.serial.encode(), 9, NOW, EventKind.DECOMMISSIONED, bytes(32)),
    ).raw
    with pytest.raises(DomainError):
        service.decommission_for_order(
            site.db,
            actor=site.installer,
            order_id=restore.id,
            decommission_receipt=forged,
            disposition="stock",
            now=NOW,
        )
    with pytest.raises(DomainError) as wrong_kind:
        service.decommission_for_order(
            site.db,
            actor=site.installer,
            order_id=restore.id,
            decommission_receipt=site.receipt(Command.UNLOCK),
            disposition="stock",
            now=NOW,
        )
    assert wrong_kind.value.code == "installer.not_decommissioned"
    with pytest.raises(NotFoundError):
        service.decommission_for_order(
            site.db,
            actor=site.other_installer,
            order_id=restore.id,
            decommission_receipt=receipt,
            disposition="stock",
            now=NOW,
        )
    assert _door(site).status is e.DoorStatus.ACTIVE
    done = service.decommission_for_order(
        site.db,
        actor=site.installer,
        order_id=restore.id,
        decommission_receipt=receipt,
        disposition=disposition,  # type: ignore[arg-type]
        now=NOW + dt.timedelta(minutes=30),
    )
    site.db.commit()
    device = _door(site)
    assert device.status is e.DoorStatus(disposition)
    assert done.status is device.status
    assert device.dwelling_id is None
    assert device.decommissioned_at is not None
    assert _actions(site.db)[-1] == "door.decommissioned"


def test_a_test_opening_by_someone_else_does_not_count(site: Site) -> None:
    stranger = site.bed.phone("e999999")
    site.bed.credential(stranger, site.stock.serial.encode(), admin=True)
    opened = site.bed.visit(stranger, site.lock, Command.UNLOCK).response.receipt or b""
    with pytest.raises(DomainError) as refused:
        _commission(site, [opened, site.receipt(Command.LOCK)])
    assert refused.value.code == "installer.test_missing"
    _nothing_changed(site)
