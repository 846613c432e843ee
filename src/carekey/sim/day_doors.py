"""The simulated day's doors: the real firmware of each door a phone reaches, started at the
first visit with the planned clock, drift, battery and last time sync, and what the simulation
observes of it (which denylist version it took when, and which of its events phones read)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from carekey.clock import FrozenClock
from carekey.devices.firmware import DoorFirmware
from carekey.devices.kinds import build_door
from carekey.protocol.events import EventKind
from carekey.protocol.keys import DoorKey, IssuerKeyring
from carekey.sim.day_world import DoorMeta, local


@dataclass
class Learned:
    """A door took a newer denylist version (observed on the door's flash after a session)."""

    at: dt.datetime
    version: int
    seq: int  # the door's DENYLIST_UPDATED event


@dataclass
class DoorRun:
    """A running simulated door and what the simulation observed of it."""

    meta: DoorMeta
    firmware: DoorFirmware
    learned: list[Learned] = field(default_factory=list)
    offset_first_s: float | None = None
    battery_start: float | None = None
    read_upto: int = 0  # highest seq a phone read with READ_EVENTS
    read_by: dict[int, int] = field(default_factory=dict)  # phone id -> highest seq it read
    seqs_read: dict[int, set[int]] = field(default_factory=dict)  # phone id -> seqs it read
    last_read: dt.datetime | None = None  # when a phone last read the log
    withdrawn_at: dt.datetime | None = None  # when the door first held its own withdrawal

    def read_seqs_by_others(self, gone: set[int]) -> set[int]:
        """The sequence numbers some phone that still syncs (not lost, not blocked) read from
        this door."""
        out: set[int] = set()
        for phone_id, seqs in self.seqs_read.items():
            if phone_id not in gone:
                out |= seqs
        return out


class DoorTap:
    """Between a link and a door: notices when the door's denylist version changes."""

    def __init__(self, run: DoorRun, clock: FrozenClock) -> None:
        self.run = run
        self.clock = clock
        self._before = 0

    def connect(self) -> None:
        door = self.run.firmware
        if self.run.offset_first_s is None:
            now = door.clock.now()
            if now is not None:
                self.run.offset_first_s = (now - self.clock.now()).total_seconds()
        self._before = door.flash.denylist.version
        door.connect()

    def on_packet(self, packet: bytes) -> list[bytes]:
        return self.run.firmware.on_packet(packet)

    def disconnect(self) -> None:
        door = self.run.firmware
        door.disconnect()
        if self.run.withdrawn_at is None and door.flash.denylist.blocks_door(door.door_id):
            self.run.withdrawn_at = self.clock.now()
        version = door.flash.denylist.version
        if version != self._before:
            seq = max(
                (
                    s.event.seq
                    for s in door.flash.ring
                    if s.event.kind is EventKind.DENYLIST_UPDATED
                ),
                default=door.flash.chain.next_seq - 1,
            )
            self.run.learned.append(Learned(self.clock.now(), version, seq))


def start_door(
    meta: DoorMeta,
    *,
    keyring: IssuerKeyring,
    clock: FrozenClock,
    partner_keyring: IssuerKeyring | None = None,
) -> DoorRun:
    """Start a planned door's firmware now: its clock is the seeded offset plus the drift since
    06:00, its last time token ``token_age`` old, its battery as seeded. ``partner_keyring``
    (partner issuer keys) goes to entrances and gates only."""
    firmware = build_door(
        serial=meta.serial,
        kind=meta.kind,
        keyring=keyring,
        clock=clock,
        door_key=DoorKey.from_seed(meta.key_seed),
        synced=False,
        drift_ppm=meta.drift_ppm,
        partner_keyring=partner_keyring,
    )
    now = clock.now()
    drifted = (now - local(6)) * (meta.drift_ppm * 1e-6)
    firmware.clock.set(now + dt.timedelta(milliseconds=meta.offset_ms) + drifted)
    firmware.flash.last_token_time = now - meta.token_age
    if firmware.battery is not None:
        firmware.battery.percent = meta.battery
    return DoorRun(meta, firmware, battery_start=meta.battery)
