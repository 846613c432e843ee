"""A bundle presentation and a withdrawn door, end to end through the unchanged door firmware."""

from __future__ import annotations

import datetime as dt

from carekey.protocol.credential import (
    BundleLeaf,
    DoorKind,
    SubjectType,
    issue_bundle,
    present_bundle,
)
from carekey.protocol.denylist import DenylistEntry
from carekey.protocol.session import Command
from carekey.sim.testbed import Phone, Testbed

START = dt.datetime(2026, 3, 2, 7, 10, tzinfo=dt.UTC)


def login(bed: Testbed, phone: Phone, leaves: list[BundleLeaf]) -> bytes:
    """What the server does at login, and what the phone then stores per door."""
    credential = issue_bundle(
        issuer_key=bed.issuer_key,
        subject=phone.subject,
        subject_type=SubjectType.EMPLOYEE,
        device_key=phone.device_key.public,
        leaves=leaves,
        not_before=START - dt.timedelta(minutes=5),
        expires=START + dt.timedelta(hours=8),
        serial=bed.next_serial(phone.subject),
        denylist_version=bed.denylist_version,
    )
    for leaf in leaves:
        phone.credentials[leaf.door_id] = present_bundle(credential, leaves, leaf.door_id)
    return credential


def test_a_shift_bundle_opens_home_locks_and_entrances_through_the_firmware() -> None:
    bed = Testbed(start=START)
    home = bed.home_lock(b"home-0042")
    entrance = bed.controller(b"entrance-0042")
    phone = bed.phone("mette")
    others = [BundleLeaf.of(f"home-{n:04}".encode(), DoorKind.HOME) for n in range(100, 180)]
    leaves = [
        *others[:40],
        BundleLeaf.of(home.door_id, DoorKind.HOME),
        BundleLeaf.of(entrance.door_id, DoorKind.ENTRANCE),
        *others[40:],
    ]
    login(bed, phone, leaves)
    result = bed.visit(phone, entrance, Command.UNLOCK)
    assert result.ok
    result = bed.visit(phone, home, Command.UNLOCK)
    assert result.ok
    assert result.receipt is not None
    assert result.receipt.subject == "mette"
    # the home door's presentation, shown to the entrance, does not open it
    phone.credentials[entrance.door_id] = phone.credentials[home.door_id]
    assert bed.visit(phone, entrance, Command.UNLOCK).response.result == "wrong_door"


def test_a_withdrawn_door_refuses_issued_keys_but_opens_for_the_installer() -> None:
    bed = Testbed(start=START)
    home = bed.home_lock(b"home-0042")
    mette = bed.phone("mette")
    login(bed, mette, [BundleLeaf.of(home.door_id, DoorKind.HOME)])
    assert bed.visit(mette, home, Command.UNLOCK).ok
    bed.block(DenylistEntry.for_door(home.door_id, START + dt.timedelta(hours=9)))
    result = bed.visit(mette, home, Command.UNLOCK)  # her phone carries the update
    assert result.response.result == "door_withdrawn"
    assert home.denylist.blocks_door(home.door_id)
    installer = bed.phone("installer-7")
    bed.credential(installer, home.door_id, admin=True)
    assert bed.visit(installer, home, Command.UNLOCK).ok
