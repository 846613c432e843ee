"""The installer's phone commissions and decommissions doors (``carekey.link.commissioning``)
over the in-memory BLE link, with real crypto and the testbed's simulated doors."""

from __future__ import annotations

import datetime as dt

import pytest

from carekey.devices.controller import EntranceController
from carekey.devices.firmware import DoorFirmware
from carekey.devices.hardware import DoorState
from carekey.link.commissioning import (
    CommissioningError,
    CommissioningReport,
    DecommissionReport,
    commission_over_link,
    decommission_over_link,
)
from carekey.protocol.credential import Credential, SubjectType, issue_credential
from carekey.protocol.events import EventKind, decode_event, verify_chain
from carekey.protocol.keys import DoorKey, IssuerKey, IssuerKeyring
from carekey.protocol.session import Response
from carekey.sim.testbed import Phone, Testbed

START = dt.datetime(2026, 3, 2, 7, 10, tzinfo=dt.UTC)


@pytest.fixture
def bed() -> Testbed:
    return Testbed(start=START)


@pytest.fixture
def care() -> IssuerKey:
    """The care issuer's key the installer provisions (the door knows only the installer's)."""
    return IssuerKey.generate("101")


def installer(bed: Testbed, door: DoorFirmware) -> Phone:
    phone = bed.phone("installer-1")
    bed.credential(phone, door.door_id, kinds=(door.kind,), admin=True)
    return phone


def care_worker(bed: Testbed, care: IssuerKey, door: DoorFirmware, subject: str) -> Phone:
    """A care worker's phone with a key signed by ``care`` (not the testbed's issuer)."""
    phone = bed.phone(subject)
    now = bed.clock.now()
    phone.credentials[door.door_id] = issue_credential(
        issuer_key=care,
        subject=subject,
        subject_type=SubjectType.EMPLOYEE,
        device_key=phone.device_key.public,
        kinds=(door.kind,),
        not_before=now - dt.timedelta(minutes=5),
        expires=now + dt.timedelta(hours=8),
        serial=bed.next_serial(subject),
        denylist_version=0,
        doors=[door.door_id],
    )
    return phone


def commission(
    bed: Testbed, door: DoorFirmware, phone: Phone, label: bytes | None = None, **kwargs: object
) -> CommissioningReport:
    transport = bed.links[door.door_id].connect()
    try:
        return commission_over_link(
            transport,
            driver=phone.driver,
            door_id=door.door_id,
            door_public_key=door.door_key.public.key.raw if label is None else label,
            credential=phone.credentials[door.door_id],
            **kwargs,  # type: ignore[arg-type]
        )
    finally:
        transport.close()


def decommission(bed: Testbed, door: DoorFirmware, phone: Phone) -> DecommissionReport:
    transport = bed.links[door.door_id].connect()
    try:
        return decommission_over_link(
            transport,
            driver=phone.driver,
            door_id=door.door_id,
            door_public_key=door.door_key.public.key.raw,
            credential=phone.credentials[door.door_id],
        )
    finally:
        transport.close()


def test_commission_a_fresh_home_lock(bed: Testbed, care: IssuerKey) -> None:
    lock = bed.home_lock(b"home-0042", synced=False)  # out of the box: no time
    assert not lock.time_known
    admin = installer(bed, lock)
    nurse = care_worker(bed, care, lock, "mette")
    assert bed.visit(nurse, lock).response.result == "unknown_issuer_key"  # not yet provisioned

    report = commission(bed, lock, admin, issuer_keys=[care.public], settings={"auto_relock_s": 20})

    assert report.door_id == lock.door_id
    assert report.door_public_key == lock.door_key.public.key.raw
    assert len(report.door_public_key) == 32
    assert report.time_set == bed.clock.now().replace(microsecond=0)
    assert lock.time_known
    assert report.issuer_key_ids == (care.public.kid,)
    assert report.partner_issuer_key_ids == ()
    assert [step.command for step in report.configured] == ["add_issuer_key", "settings"]
    assert all(step.event.kind is EventKind.CONFIG_CHANGED for step in report.configured)
    assert report.test_open.event.kind is EventKind.UNLOCKED
    assert report.test_lock.event.kind is EventKind.LOCKED
    assert report.test_open.event.seq < report.test_lock.event.seq
    for step in (*report.configured, report.test_open, report.test_lock):
        # What the door signed verifies with the key from its label: the server can register it.
        assert decode_event(step.receipt, door_key=lock.door_key.public).event == step.event
        assert step.event.subject == "installer-1"
    assert report.lock_state == DoorState.LOCKED.value
    assert lock.state is DoorState.LOCKED
    assert report.firmware_version
    assert lock.flash.config.auto_relock_s == 20
    # The care worker's key from the provisioned issuer opens it now.
    assert bed.visit(nurse, lock).ok


def test_commission_an_entrance_controller(bed: Testbed, care: IssuerKey) -> None:
    entrance = bed.controller(b"entrance-0042")
    entrance.flash.partner_keyring = IssuerKeyring()  # as delivered: no partner keys yet
    admin = installer(bed, entrance)
    postman = bed.phone("postnord-1")
    bed.partner_credential(postman, entrance.door_id)
    assert bed.visit(postman, entrance).response.result == "unknown_issuer_key"
    bed.clock.advance(dt.timedelta(seconds=5))  # a token newer than the installation's

    report = commission(
        bed,
        entrance,
        admin,
        issuer_keys=[care.public],
        partner_issuer_keys=[bed.partner_key.public],
    )

    assert report.partner_issuer_key_ids == (bed.partner_key.public.kid,)
    assert [step.command for step in report.configured] == [
        "add_issuer_key",
        "add_partner_issuer_key",
    ]
    assert report.test_open.event.kind is EventKind.RELAY_PULSE
    assert report.lock_state == "locked"
    assert not entrance.relay_closed
    bed.clock.advance(dt.timedelta(seconds=5))
    assert bed.visit(care_worker(bed, care, entrance, "mette"), entrance).ok
    bed.clock.advance(dt.timedelta(seconds=5))
    assert bed.visit(postman, entrance).ok


def test_a_key_without_the_admin_right_commissions_nothing(bed: Testbed, care: IssuerKey) -> None:
    lock = bed.home_lock(b"home-0043", synced=False)
    phone = bed.phone("mette")
    bed.credential(phone, lock.door_id)
    with pytest.raises(CommissioningError) as failed:
        commission(bed, lock, phone, issuer_keys=[care.public])
    assert failed.value.code == "not_admin"
    assert failed.value.step == "add_issuer_key"
    assert failed.value.completed == ("time_sync",)
    assert failed.value.message_da.startswith("Kun installatører")
    assert care.public.kid not in lock.flash.keyring.keys
    assert lock.stats.actuations == 0


def test_a_partner_key_on_a_home_lock_is_refused(bed: Testbed, care: IssuerKey) -> None:
    lock = bed.home_lock(b"home-0044", synced=False)
    with pytest.raises(CommissioningError) as failed:
        commission(
            bed,
            lock,
            installer(bed, lock),
            issuer_keys=[care.public],
            partner_issuer_keys=[bed.partner_key.public],
        )
    assert (failed.value.code, failed.value.step) == ("not_supported", "add_partner_issuer_key")
    assert failed.value.completed == ("time_sync", "add_issuer_key")
    assert lock.stats.actuations == 0  # no test open after a failed step


def test_a_wrong_door_key_on_the_label_sends_nothing(bed: Testbed) -> None:
    lock = bed.home_lock(b"home-0045", synced=False)
    next_seq = lock.flash.chain.next_seq
    with pytest.raises(CommissioningError) as failed:
        commission(bed, lock, installer(bed, lock), label=DoorKey.generate().public.key.raw)
    assert (failed.value.code, failed.value.step) == ("door_auth_failed", "hello")
    assert not lock.time_known
    assert lock.flash.chain.next_seq == next_seq + 1  # only the aborted session is logged
    with pytest.raises(CommissioningError) as bad:
        commission(bed, lock, installer(bed, lock), label=b"short")
    assert bad.value.code == "invalid_argument"


def test_an_offline_phone_cannot_set_the_time(bed: Testbed) -> None:
    lock = bed.home_lock(b"home-0046", synced=False)
    phone = bed.phone("installer-2", online=False)
    bed.credential(phone, lock.door_id, admin=True)
    with pytest.raises(CommissioningError) as failed:
        commission(bed, lock, phone)
    assert failed.value.code == "time_token_missing"
    assert not lock.time_known


def test_decommission_reads_the_log_then_forgets(bed: Testbed, care: IssuerKey) -> None:
    lock = bed.home_lock(b"home-0047", synced=False)
    admin = installer(bed, lock)
    commission(bed, lock, admin, issuer_keys=[care.public])
    nurse = care_worker(bed, care, lock, "mette")
    for _ in range(30):  # a log longer than one page
        bed.clock.advance(dt.timedelta(minutes=1))
        assert bed.visit(nurse, lock).ok
    held = [event.raw for event in lock.events]

    report = decommission(bed, lock, admin)

    assert report.door_id == lock.door_id
    assert list(report.events) == held
    assert report.seqs == tuple(range(1, len(held) + 1))
    assert report.receipt.event.kind is EventKind.DECOMMISSIONED
    assert report.receipt.event.seq == len(held) + 1
    chain = verify_chain(
        [*report.events, report.receipt.receipt],
        door_key=lock.door_key.public,
        door_id=lock.door_id,
    )
    assert not chain.gaps
    assert not chain.broken_links
    assert lock.flash.decommissioned
    for phone in (nurse, admin):
        bed.clock.advance(dt.timedelta(minutes=1))
        assert bed.visit(phone, lock).response.result == "unknown_issuer_key"
    with pytest.raises(CommissioningError) as again:
        decommission(bed, lock, admin)
    assert (again.value.code, again.value.step) == ("unknown_issuer_key", "read_events")


def test_decommission_of_a_controller_refuses_partners_after(bed: Testbed) -> None:
    entrance = bed.controller()
    admin = installer(bed, entrance)
    postman = bed.phone("postnord-1")
    bed.partner_credential(postman, entrance.door_id)
    assert bed.visit(postman, entrance).ok
    assert isinstance(entrance, EntranceController)

    report = decommission(bed, entrance, admin)

    assert report.receipt.event.subject == "installer-1"
    bed.clock.advance(dt.timedelta(seconds=10))
    assert bed.visit(postman, entrance).response.result == "unknown_issuer_key"


def test_a_key_without_the_admin_right_decommissions_nothing(bed: Testbed) -> None:
    lock = bed.home_lock()
    phone = bed.phone("mette")
    bed.credential(phone, lock.door_id)
    with pytest.raises(CommissioningError) as failed:
        decommission(bed, lock, phone)
    assert (failed.value.code, failed.value.step) == ("not_admin", "decommission")
    assert failed.value.completed == ("read_events",)
    assert not lock.flash.decommissioned
    bed.clock.advance(dt.timedelta(seconds=10))
    assert bed.visit(phone, lock).ok


def test_a_missing_or_foreign_receipt_is_not_success(
    bed: Testbed, care: IssuerKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    lock = bed.home_lock(b"home-0048", synced=False)
    admin = installer(bed, lock)

    def unsigned(credential: object, ref: bytes | None, *, unlock: bool) -> Response:
        return Response(data={"state": "locked"})

    monkeypatch.setattr(lock, "_actuation", unsigned)
    with pytest.raises(CommissioningError) as missing:
        commission(bed, lock, admin, issuer_keys=[care.public])
    assert (missing.value.code, missing.value.step) == ("receipt_missing", "test_open")
    assert missing.value.completed == ("time_sync", "add_issuer_key")
    assert "receipt" in str(missing.value)

    def other_request(credential: Credential, ref: bytes | None, *, unlock: bool) -> Response:
        event = lock._log(EventKind.UNLOCKED, credential=credential, ref=bytes(16))
        return Response(data={"state": "unlocked"}, receipt=event.raw)

    monkeypatch.setattr(lock, "_actuation", other_request)
    bed.clock.advance(dt.timedelta(seconds=5))
    with pytest.raises(CommissioningError) as foreign:
        commission(bed, lock, admin, issuer_keys=[care.public])
    assert (foreign.value.code, foreign.value.step) == ("receipt_mismatch", "test_open")
