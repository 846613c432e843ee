"""DECOMMISSION at the door (``carekey.devices.decommission``): the receipt is signed, then every
key is forgotten, for good (power loss, state file); only an authentic admin key may ask.

Every visit runs through the real firmware, session and crypto of the testbed."""

from __future__ import annotations

import datetime as dt

import pytest

from carekey.devices.firmware import DoorFirmware
from carekey.devices.flash import DoorConfig
from carekey.devices.hardware import DoorState
from carekey.devices.homelock import HomeLock
from carekey.devices.statefile import DoorStateError, door_state, restore_door
from carekey.link.driver import DoorEntry
from carekey.protocol.credential import DoorKind, Right, SubjectType, issue_credential
from carekey.protocol.denylist import DenylistEntry, EntryKind
from carekey.protocol.events import EventKind, decode_event
from carekey.protocol.framing import Reassembler, fragment
from carekey.protocol.keys import IssuerKey
from carekey.protocol.session import ADMIN_COMMANDS, Command, PhoneSession, SessionError
from carekey.sim.testbed import Phone, Testbed
from tests.devices.test_attacks_door import assert_opened, assert_refused, before

ENTRANCE = (DoorKind.ENTRANCE, DoorKind.GATE)


def installer(bed: Testbed, door: DoorFirmware) -> Phone:
    phone = bed.phone("installer-1")
    kinds = (door.kind,)
    bed.credential(phone, door.door_id, kinds=kinds, subject_type=SubjectType.EMPLOYEE, admin=True)
    return phone


def worker(bed: Testbed, door: DoorFirmware, subject: str = "mette") -> Phone:
    phone = bed.phone(subject)
    bed.credential(phone, door.door_id, kinds=(door.kind,))
    return phone


def assert_forgotten(door: DoorFirmware) -> None:
    flash = door.flash
    assert flash.decommissioned
    assert dict(flash.keyring.keys) == {}
    assert dict(flash.partner_keyring.keys) == {}
    assert flash.denylist.version == 0
    assert not flash.denylist.entries
    assert flash.config == DoorConfig()
    assert not flash.subjects


def test_wire_value_and_admin_only() -> None:
    assert int(Command.DECOMMISSION) == 8
    assert Command(8) is Command.DECOMMISSION
    assert Command.DECOMMISSION in ADMIN_COMMANDS
    assert int(EventKind.DECOMMISSIONED) == 19


def test_decommission_signs_a_receipt_then_forgets_every_key(
    bed: Testbed, lock: HomeLock, phone: Phone
) -> None:
    # Give the door something to forget: a denylist version, settings, a use counter.
    bed.block(
        DenylistEntry(EntryKind.CREDENTIAL, bytes(16), bed.clock.now() + dt.timedelta(days=1))
    )
    assert bed.visit(phone, lock, Command.LOCK).ok
    assert lock.flash.denylist.version == 1
    admin = installer(bed, lock)
    assert bed.visit(admin, lock, Command.CONFIGURE, {"auto_relock_s": 30}).ok
    assert lock.flash.config.auto_relock_s == 30
    seq = lock.flash.chain.next_seq

    result = bed.visit(admin, lock, Command.DECOMMISSION)

    assert result.ok, result.response.result
    receipt = result.receipt  # verified by the driver: door key, door id, this request's ref
    assert receipt is not None
    assert receipt.kind is EventKind.DECOMMISSIONED
    assert receipt.seq == seq
    assert receipt.subject == "installer-1"
    assert result.response.receipt is not None
    assert decode_event(result.response.receipt, door_key=lock.door_key.public).event == receipt
    assert_forgotten(lock)
    # The log stays, the DECOMMISSIONED event last, and the chain goes on.
    assert lock.events[-1].event.kind is EventKind.DECOMMISSIONED
    assert lock.flash.chain.next_seq == seq + 1


@pytest.mark.parametrize("who", ["worker", "admin"])
def test_every_earlier_credential_is_refused_after(
    bed: Testbed, lock: HomeLock, phone: Phone, who: str
) -> None:
    admin = installer(bed, lock)
    assert bed.visit(phone, lock).ok  # the control case: it opened before
    bed.clock.advance(dt.timedelta(seconds=30))
    lock.tick()
    assert lock.state is DoorState.LOCKED
    assert bed.visit(admin, lock, Command.DECOMMISSION).ok

    was = before(lock)
    result = bed.visit(phone if who == "worker" else admin, lock, Command.UNLOCK)
    # The door still says hello (signed with its door key), but trusts no issuer.
    assert result.status.event_seq == was.next_seq - 1
    assert_refused(lock, was, result.response, "unknown_issuer_key")
    # Not even locking, reading the log or configuring again.
    for command in (Command.LOCK, Command.READ_EVENTS, Command.STATUS, Command.CONFIGURE):
        assert bed.visit(admin, lock, command, {"auto_relock_s": 5}).response.result == (
            "unknown_issuer_key"
        )
    assert lock.flash.config == DoorConfig()


def test_controller_forgets_partner_keys(bed: Testbed) -> None:
    entrance = bed.controller()
    staff = worker(bed, entrance)
    partner = bed.phone("postnord-1")
    bed.partner_credential(partner, entrance.door_id)
    admin = installer(bed, entrance)
    assert_opened(entrance, before(entrance), bed.visit(partner, entrance).response)
    bed.clock.advance(dt.timedelta(seconds=10))
    assert bed.visit(staff, entrance).ok

    assert bed.visit(admin, entrance, Command.DECOMMISSION).ok

    assert_forgotten(entrance)
    for phone in (partner, staff, admin):
        bed.clock.advance(dt.timedelta(seconds=10))
        was = before(entrance)
        assert_refused(entrance, was, bed.visit(phone, entrance).response, "unknown_issuer_key")


def test_a_key_without_the_admin_right_cannot_decommission(
    bed: Testbed, lock: HomeLock, phone: Phone
) -> None:
    keys = lock.flash.keyring
    was = before(lock)
    result = bed.visit(phone, lock, Command.DECOMMISSION)
    assert_refused(lock, was, result.response, "not_admin", subject="mette")
    assert not lock.flash.decommissioned
    assert lock.flash.keyring == keys
    # Nothing was forgotten: the same key opens, and so does the admin's.
    assert_opened(lock, before(lock), bed.visit(phone, lock).response)
    assert bed.visit(installer(bed, lock), lock, Command.LOCK).ok


def test_an_installer_right_alone_is_not_enough(bed: Testbed, lock: HomeLock) -> None:
    phone = bed.phone("fitter-1")
    now = bed.clock.now()
    phone.credentials[lock.door_id] = issue_credential(
        issuer_key=bed.issuer_key,
        subject=phone.subject,
        subject_type=SubjectType.EMPLOYEE,
        device_key=phone.device_key.public,
        kinds=(DoorKind.HOME,),
        not_before=now - dt.timedelta(minutes=5),
        expires=now + dt.timedelta(hours=8),
        serial=bed.next_serial(phone.subject),
        denylist_version=0,
        doors=[lock.door_id],
        rights=[Right.INSTALLER],
    )
    assert bed.visit(phone, lock, Command.DECOMMISSION).response.result == "not_admin"
    assert not lock.flash.decommissioned


def test_forgotten_for_good_power_loss_and_state_file(bed: Testbed, lock: HomeLock) -> None:
    admin = installer(bed, lock)
    worker_phone = worker(bed, lock)
    assert bed.visit(admin, lock, Command.DECOMMISSION).ok

    lock.power_loss()
    assert_forgotten(lock)
    assert bed.visit(worker_phone, lock).response.result == "unknown_issuer_key"

    data = door_state(lock)
    assert data["decommissioned"] is True
    assert data["keyring"] == []
    restored = restore_door(data, bed.clock)
    assert isinstance(restored, HomeLock)
    assert_forgotten(restored)
    assert [e.raw for e in restored.events] == [e.raw for e in lock.events]
    bed.links[lock.door_id] = type(bed.links[lock.door_id])(restored)
    was = before(restored)
    result = bed.visit(admin, restored)
    assert_refused(restored, was, result.response, "unknown_issuer_key")


def test_state_file_keeps_the_rules_of_a_keyring(bed: Testbed, lock: HomeLock) -> None:
    # A door in service still needs an active issuer key; a decommissioned one may hold none.
    data = door_state(lock)
    assert data["decommissioned"] is False
    with pytest.raises(DoorStateError, match="no active issuer key"):
        restore_door({**data, "keyring": []}, bed.clock)
    with pytest.raises(DoorStateError, match="holds no key"):
        restore_door({**data, "decommissioned": True}, bed.clock)
    old = {k: v for k, v in data.items() if k != "decommissioned"}
    assert not restore_door(old, bed.clock).flash.decommissioned


def test_a_forged_admin_key_cannot_decommission(bed: Testbed, lock: HomeLock) -> None:
    forger = IssuerKey.generate("101")  # same issuer name, a key the door does not hold
    phone = bed.phone("mallory")
    now = bed.clock.now()
    phone.credentials[lock.door_id] = issue_credential(
        issuer_key=forger,
        subject=phone.subject,
        subject_type=SubjectType.EMPLOYEE,
        device_key=phone.device_key.public,
        kinds=(DoorKind.HOME,),
        not_before=now - dt.timedelta(minutes=5),
        expires=now + dt.timedelta(hours=8),
        serial=1,
        denylist_version=0,
        doors=[lock.door_id],
        rights=[Right.ADMIN, Right.INSTALLER],
    )
    was = before(lock)
    result = bed.visit(phone, lock, Command.DECOMMISSION)
    assert_refused(lock, was, result.response, "unknown_issuer_key")
    assert not lock.flash.decommissioned
    assert lock.flash.keyring.active


def test_a_tampered_admin_credential_cannot_decommission(bed: Testbed, lock: HomeLock) -> None:
    admin = installer(bed, lock)
    raw = bytearray(admin.credentials[lock.door_id])
    raw[-5] ^= 0x01  # inside the issuer's signature
    admin.credentials[lock.door_id] = bytes(raw)
    result = bed.visit(admin, lock, Command.DECOMMISSION)
    assert not result.ok
    assert result.response.result in {"bad_signature", "malformed"}
    assert not lock.flash.decommissioned


def test_a_stolen_admin_credential_without_its_device_key(bed: Testbed, lock: HomeLock) -> None:
    admin = installer(bed, lock)
    thief = bed.phone("thief")
    thief.credentials[lock.door_id] = admin.credentials[lock.door_id]
    was = before(lock)
    result = bed.visit(thief, lock, Command.DECOMMISSION)
    assert_refused(lock, was, result.response, "bad_signature", subject="installer-1")
    assert not lock.flash.decommissioned


def _session(bed: Testbed, lock: HomeLock, admin: Phone) -> tuple[PhoneSession, Reassembler]:
    session = PhoneSession(
        door_id=lock.door_id,
        door_public_key=lock.door_key.public,
        device_key=admin.device_key,
        credential=admin.credentials[lock.door_id],
        counter=admin.driver.counter + 1,
    )
    lock.connect()
    reassembler = Reassembler(mtu=lock.mtu)
    reply = _to_door(lock, reassembler, session.hello())
    session.receive_door_hello(reply)
    return session, reassembler


def _to_door(lock: HomeLock, reassembler: Reassembler, message: bytes) -> bytes:
    whole = None
    for packet in fragment(message, mtu=lock.mtu):
        for note in lock.on_packet(packet):
            whole = reassembler.feed(note) or whole
    assert whole is not None
    return whole


def test_a_tampered_decommission_record_is_refused(bed: Testbed, lock: HomeLock) -> None:
    admin = installer(bed, lock)
    session, reassembler = _session(bed, lock, admin)
    record = bytearray(
        session.request(Command.DECOMMISSION, freshness=bed.freshness(admin), time_token=None)
    )
    record[-1] ^= 0x01  # the AEAD tag
    reply = _to_door(lock, reassembler, bytes(record))
    with pytest.raises(SessionError) as refused:
        session.receive_response(reply)
    assert refused.value.code == "bad_record"
    assert not lock.flash.decommissioned
    assert lock.events[-1].event.kind is EventKind.REFUSED
    assert lock.events[-1].event.reason == "bad_record"


def test_a_decommission_command_swapped_into_a_signed_request(bed: Testbed, lock: HomeLock) -> None:
    # A worker's signed STATUS request whose command a relay changes cannot be forged: the
    # record is sealed with session keys only the phone and door hold.
    phone = worker(bed, lock)
    session, reassembler = _session(bed, lock, phone)
    record = session.request(Command.STATUS, freshness=bed.freshness(phone))
    forged = bytearray(record)
    forged[6] ^= Command.STATUS ^ Command.DECOMMISSION
    reply = _to_door(lock, reassembler, bytes(forged))
    with pytest.raises(SessionError):
        session.receive_response(reply)
    assert not lock.flash.decommissioned


def test_the_session_ends_with_the_decommission(bed: Testbed, lock: HomeLock) -> None:
    admin = installer(bed, lock)
    link = bed.links[lock.door_id].connect()
    entry = DoorEntry(lock.door_id, lock.door_key.public, admin.credentials[lock.door_id])
    try:
        with pytest.raises(SessionError) as ended:
            admin.driver.run(link, entry, Command.DECOMMISSION, then=((Command.UNLOCK, None),))
    finally:
        link.close()
    assert ended.value.code == "unexpected_message"
    assert lock.state is DoorState.LOCKED
    assert_forgotten(lock)
    assert lock.events[-2].event.kind is EventKind.DECOMMISSIONED


def test_firmware_reports_its_version(bed: Testbed, lock: HomeLock, phone: Phone) -> None:
    result = bed.visit(phone, lock, Command.STATUS)
    assert isinstance(result.response.data.get("firmware"), str)
