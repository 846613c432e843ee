"""Installer keys: a plain credential with the admin and installer rights for the door of an
open order assigned to the installer, bound to their phone, at most until the order's window
ends and never more than 9 hours; nothing for a care worker, another installer or a closed
order. Real crypto: the credential is checked by the door firmware itself."""

from __future__ import annotations

import datetime as dt

import pytest

from carekey.devices.homelock import HomeLock
from carekey.domain import enums as e
from carekey.domain.errors import ConflictError, DomainError, ForbiddenError, NotFoundError
from carekey.installer.keys import installer_credential
from carekey.keyservice import issuer as issuer_service
from carekey.link.transport import BluetoothLink
from carekey.protocol import credential as cred
from carekey.protocol.keys import DoorKey
from carekey.protocol.session import Command
from carekey.store import models as m
from tests.installer.conftest import NOW, SECRET, Site, employee, order


def _phone(site: Site, employee_id: int) -> m.Phone:
    known = site.db.query(m.Phone).filter_by(employee_id=employee_id).first()
    if known is not None:
        return known
    phone = m.Phone(
        municipality_id=site.world.municipality.id,
        employee_id=employee_id,
        label=f"TLF-{employee_id}",
        public_key=site.phone.device_key.public.compressed,
        status=e.PhoneStatus.ACTIVE,
    )
    site.db.add(phone)
    site.db.flush()
    return phone


def _issue(site: Site, *, actor: object = None, now: dt.datetime = NOW, **kw: object) -> bytes:
    phone = _phone(site, site.installer.employee_id)
    args: dict[str, object] = {
        "actor": actor or site.installer,
        "phone": phone,
        "order_id": site.install.id,
        "door_serial": site.stock.serial,
        "secret": SECRET,
        "now": now,
    }
    args.update(kw)
    return installer_credential(site.db, **args).credential  # type: ignore[arg-type]


def _decoded(site: Site, raw: bytes) -> cred.Credential:
    keyring = issuer_service.keyring(site.db, municipality_id=site.world.municipality.id)
    return cred.decode_credential(raw, keyring=keyring)


def test_an_open_order_gives_its_installer_an_admin_key_to_the_scanned_door(site: Site) -> None:
    raw = _issue(site)
    found = _decoded(site, raw)
    assert found.rights == {cred.Right.ADMIN, cred.Right.INSTALLER}
    assert found.doors == (site.stock.serial.encode(),)
    assert found.kinds == {cred.DoorKind.HOME}
    assert found.subject == f"e{site.installer.employee_id}"
    assert found.device_key == site.phone.device_key.public
    assert found.expires <= NOW + cred.MAX_VALIDITY
    issued = site.db.query(m.IssuedCredential).one()
    assert issued.door_device_ids == [site.stock.id]


def test_the_door_itself_accepts_the_key_for_an_admin_command(site: Site) -> None:
    keyring = issuer_service.keyring(site.db, municipality_id=site.world.municipality.id)
    lock = HomeLock(
        door_id=site.stock.serial.encode(),
        door_key=DoorKey.generate(),
        keyring=keyring,
        clock=site.bed.clock,
    )
    lock.clock.set(site.bed.clock.now())
    lock.flash.last_token_time = site.bed.clock.now()
    site.bed.links[lock.door_id] = BluetoothLink(lock)
    # The phone's proof of freshness comes from the server's issuer key too.
    site.bed.issuer_key = issuer_service.active_issuer_key(
        site.db, municipality_id=site.world.municipality.id, secret=SECRET
    )
    site.phone.credentials[lock.door_id] = _issue(site)
    assert site.bed.visit(site.phone, lock, Command.CONFIGURE, {"auto_relock_s": 20}).ok
    assert site.bed.visit(site.phone, lock, Command.UNLOCK).ok


def test_the_key_ends_with_the_orders_window(site: Site) -> None:
    late = NOW + dt.timedelta(hours=6)
    found = _decoded(site, _issue(site, now=late))
    assert found.expires == NOW + dt.timedelta(hours=8)
    with pytest.raises(ConflictError):
        _issue(site, now=NOW + dt.timedelta(hours=9))
    with pytest.raises(ConflictError):
        _issue(site, now=NOW - dt.timedelta(hours=2))


def test_no_key_outside_an_open_order_or_for_others(site: Site) -> None:
    with pytest.raises(NotFoundError):
        _issue(site, actor=site.other_installer)
    for refused in (site.care, site.admin):
        with pytest.raises(ForbiddenError):
            _issue(site, actor=refused)
    with pytest.raises(DomainError):
        _issue(site, door_serial=None)
    with pytest.raises(NotFoundError):
        _issue(site, door_serial=site.world.home_lock.serial)  # not in stock
    site.install.status = e.WorkOrderStatus.DONE
    site.db.flush()
    with pytest.raises(ConflictError):
        _issue(site)


def test_a_service_order_names_the_live_door_at_its_place(site: Site) -> None:
    service = order(
        site.db,
        site.world,
        assigned=site.installer,
        kind=e.WorkOrderKind.SERVICE,
        dwelling_id=site.world.dwelling.id,
    )
    found = _decoded(site, _issue(site, order_id=service.id, door_serial=None))
    assert found.doors == (site.world.home_lock.serial.encode(),)
    assert found.rights == {cred.Right.ADMIN, cred.Right.INSTALLER}


def test_a_care_worker_with_an_order_still_gets_nothing(site: Site) -> None:
    care = employee(site.db, site.world, "C9", e.Role.CARE_WORKER)
    theirs = order(site.db, site.world, assigned=care, dwelling_id=site.dwelling.id)
    with pytest.raises(ForbiddenError):
        _issue(site, actor=care, order_id=theirs.id)
