"""The door's flash and battery-backed clock kept in a state file, for a door served by a process.

:func:`save_door` / :func:`load_door` keep what a real door keeps in flash and its
battery-backed clock: the door key, the issuer keyring and (a controller's) partner keyring,
the event chain head and ring, the counters per subject, the denylist, settings, the time of
the last token, the wall clock (as an offset, so it keeps running while the process is down),
the battery, the bolt and the door sensor (leaf open, active alarm, how long it has stood
open). It is JSON
(format ``carekey-door-state`` version 1), written atomically (temporary file, fsync, rename)
with mode 0600 since it holds the door's private key. RAM-only state (an open session,
rate-limit counters, operation statistics) starts afresh after a restart, as after a reset.
A file that is malformed, inconsistent or not signed by its own door key is refused with
:class:`DoorStateError`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import os
import tempfile
from collections import OrderedDict, deque
from pathlib import Path
from typing import Any, Final

from carekey.clock import Clock
from carekey.devices.controller import EntranceController
from carekey.devices.firmware import DoorFirmware
from carekey.devices.flash import DoorConfig, SubjectCounters
from carekey.devices.hardware import Battery, DoorState, LeafAlarm
from carekey.devices.homelock import HomeLock
from carekey.devices.kinds import firmware_class, parse_door_kind
from carekey.link.socket import check_mtu
from carekey.protocol.credential import DoorKind
from carekey.protocol.denylist import PREFIX_SPACE, DenylistState, EntryKind
from carekey.protocol.errors import ProtocolError
from carekey.protocol.events import GENESIS_HASH, EventChain, SignedEvent, decode_event
from carekey.protocol.keys import (
    DoorKey,
    Ed25519Public,
    IssuerKeyring,
    IssuerPublicKey,
    KeyStatus,
)
from carekey.protocol.partner import shared_kids

STATE_FORMAT: Final = "carekey-door-state"
STATE_VERSION: Final = 1
MAX_STATE_BYTES: Final = 32 * 1024 * 1024
"""A full denylist (65,535 entries) and a full ring fit well below this."""


class DoorStateError(ValueError):
    """A state file that cannot be used, with Danish + English text."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(
            f"Dørens tilstandsfil kan ikke bruges / the door's state file cannot be used: {detail}"
        )


def _iso(when: dt.datetime | None) -> str | None:
    return None if when is None else when.isoformat()


def door_state(door: DoorFirmware) -> dict[str, Any]:
    """The door's persistent state as a JSON-ready dict (see :func:`save_door`)."""
    flash = door.flash
    true_now = door.clock.true_clock.now()
    actuator: dict[str, Any] = {"state": door.state.value}
    uptime = door.clock.uptime()
    if isinstance(door, HomeLock):
        due = door._relock_at
        actuator["relock_in_s"] = None if due is None else max(0.0, due - uptime)
    elif isinstance(door, EntranceController):
        due = door._release_at
        actuator["release_in_s"] = None if due is None else max(0.0, due - uptime)
        actuator["pulses"] = door.pulses
    return {
        "format": STATE_FORMAT,
        "version": STATE_VERSION,
        "door_id": door.door_id.hex(),
        "kind": door.kind.value,
        "door_key_seed": door.door_key.signer.seed().hex(),
        "door_public_key": door.door_key.public.key.raw.hex(),
        "door_groups": sorted(g.hex() for g in door.door_groups),
        "mtu": door.mtu,
        "drift_ppm": door.clock.drift_ppm,
        "clock": {"saved_at": true_now.isoformat(), "door_time": _iso(door.clock.now())},
        "keyring": _keys(flash.keyring),
        "partner_keyring": _keys(flash.partner_keyring),
        "chain": {"next_seq": flash.chain.next_seq, "last_hash": flash.chain.last_hash.hex()},
        "config": dataclasses.asdict(flash.config),
        "ring_size": flash.ring_size,
        "ring": [event.raw.hex() for event in flash.ring],
        "events_dropped": flash.events_dropped,
        "overflow_noted": flash.overflow_noted,
        "denylist": {
            "version": flash.denylist.version,
            "entries": sorted(
                [int(kind), entry_id.hex(), expires.isoformat()]
                for (kind, entry_id), expires in flash.denylist.entries.items()
            ),
            "coverage": [list(held) for held in flash.denylist.coverage],
        },
        "last_token_time": _iso(flash.last_token_time),
        "actuating": flash.actuating,
        "relock_pending": flash.relock_pending,
        "subjects": [[s, c.serial, c.counter] for s, c in flash.subjects.items()],
        "decommissioned": flash.decommissioned,
        "battery": None if door.battery is None else dataclasses.asdict(door.battery),
        "low_battery_logged": door._low_battery_logged,
        "actuator": actuator,
        "leaf": {
            "open": flash.leaf_open,
            "alarm": None if flash.leaf_alarm is None else flash.leaf_alarm.value,
            "open_for_s": (
                None if door._leaf_opened_at is None else max(0.0, uptime - door._leaf_opened_at)
            ),
        },
    }


def _keys(keyring: IssuerKeyring) -> list[dict[str, str]]:
    return [
        {"issuer": key.issuer, "key": key.key.raw.hex(), "status": status.value}
        for key, status in keyring.keys.values()
    ]


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:  # mkstemp: mode 0600, the file holds a private key
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    if hasattr(os, "O_DIRECTORY"):  # make the rename itself durable (POSIX)
        dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def save_door(door: DoorFirmware, path: Path) -> None:
    """Write the door's flash and clock to ``path`` atomically (a crash leaves the old file).

    Call it only while nothing else uses the door (a running :class:`DoorServer` saves by
    itself when given ``state_path``; otherwise hold ``server.lock``).
    """
    text = json.dumps(door_state(door), indent=1, ensure_ascii=False) + "\n"
    _write_atomic(Path(path), text.encode("utf-8"))


class _Reader:
    """Typed access to untrusted JSON; every failure is a :class:`DoorStateError`."""

    def __init__(self, data: object, where: str = "state") -> None:
        if not isinstance(data, dict):
            raise DoorStateError(f"{where} must be an object")
        self.data: dict[str, object] = data
        self.where = where

    def get(self, key: str) -> object:
        if key not in self.data:
            raise DoorStateError(f"{self.where}.{key} is missing")
        return self.data[key]

    def integer(self, key: str, *, low: int = 0) -> int:
        value = self.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise DoorStateError(f"{self.where}.{key} must be an integer >= {low}")
        return value

    def number(self, key: str) -> float:
        value = self.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise DoorStateError(f"{self.where}.{key} must be a number")
        return float(value)

    def opt_number(self, key: str) -> float | None:
        return None if self.data.get(key) is None else self.number(key)

    def boolean(self, key: str) -> bool:
        value = self.get(key)
        if not isinstance(value, bool):
            raise DoorStateError(f"{self.where}.{key} must be true or false")
        return value

    def text(self, key: str) -> str:
        value = self.get(key)
        if not isinstance(value, str):
            raise DoorStateError(f"{self.where}.{key} must be a string")
        return value

    def raw(self, key: str) -> bytes:
        return _hex(self.get(key), f"{self.where}.{key}")

    def when(self, key: str) -> dt.datetime | None:
        value = self.data.get(key)
        return None if value is None else _time(value, f"{self.where}.{key}")

    def items(self, key: str) -> list[object]:
        value = self.get(key)
        if not isinstance(value, list):
            raise DoorStateError(f"{self.where}.{key} must be a list")
        return value

    def sub(self, key: str) -> _Reader:
        return _Reader(self.get(key), f"{self.where}.{key}")


def _hex(value: object, where: str) -> bytes:
    if not isinstance(value, str):
        raise DoorStateError(f"{where} must be a hex string")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise DoorStateError(f"{where} is not valid hex") from None


def _time(value: object, where: str) -> dt.datetime:
    if not isinstance(value, str):
        raise DoorStateError(f"{where} must be an ISO 8601 time")
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        raise DoorStateError(f"{where} is not an ISO 8601 time") from None
    if when.tzinfo is None:
        raise DoorStateError(f"{where} must carry a time zone")
    return when.astimezone(dt.UTC)


def _keyring(items: list[object], name: str = "keyring") -> IssuerKeyring:
    keys: dict[bytes, tuple[IssuerPublicKey, KeyStatus]] = {}
    for index, item in enumerate(items):
        entry = _Reader(item, f"state.{name}[{index}]")
        try:
            key = IssuerPublicKey(entry.text("issuer"), Ed25519Public(entry.raw("key")))
            status = KeyStatus(entry.text("status"))
        except (ProtocolError, ValueError) as error:
            raise DoorStateError(f"state.{name}[{index}]: {error}") from None
        keys[key.kid] = (key, status)
    return IssuerKeyring(keys)


def _keyrings(state: _Reader, kind: DoorKind) -> tuple[IssuerKeyring, IssuerKeyring]:
    """``keyring`` (at least one active key) and ``partner_keyring``: files written before it
    had one get an empty one; a home lock never holds a partner key, and no key id is in both.
    A decommissioned door (``decommissioned``: true) holds no key in either."""
    keyring = _keyring(state.items("keyring"))
    partners = IssuerKeyring()
    if "partner_keyring" in state.data:
        partners = _keyring(state.items("partner_keyring"), "partner_keyring")
    if _decommissioned(state):
        if keyring.keys or partners.keys:
            raise DoorStateError("state.decommissioned: a decommissioned door holds no key")
        return keyring, partners
    if not keyring.active:
        raise DoorStateError("state.keyring has no active issuer key")
    if kind is DoorKind.HOME and partners.keys:
        raise DoorStateError("state.partner_keyring: a home lock never holds a partner key")
    if shared_kids(keyring, partners):
        raise DoorStateError("state.partner_keyring shares a key id with state.keyring")
    return keyring, partners


def _decommissioned(state: _Reader) -> bool:
    """``decommissioned`` (files written before it: false)."""
    return "decommissioned" in state.data and state.boolean("decommissioned")


def _denylist(reader: _Reader) -> DenylistState:
    entries: dict[tuple[EntryKind, bytes], dt.datetime] = {}
    for index, item in enumerate(reader.items("entries")):
        where = f"state.denylist.entries[{index}]"
        if not isinstance(item, list) or len(item) != 3:
            raise DoorStateError(f"{where} must be [kind, id, expires]")
        kind, entry_id, expires = item
        try:
            entry_kind = EntryKind(kind)
        except ValueError:
            raise DoorStateError(f"{where}: unknown kind {kind!r}") from None
        entries[(entry_kind, _hex(entry_id, where))] = _time(expires, where)
    coverage: list[tuple[int, int, int]] = []
    for index, item in enumerate(reader.items("coverage") if "coverage" in reader.data else []):
        where = f"state.denylist.coverage[{index}]"
        if (
            not isinstance(item, list)
            or len(item) != 3
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in item)
            or not 0 <= item[0] < item[1] <= PREFIX_SPACE
        ):
            raise DoorStateError(f"{where} must be [lo, hi, version]")
        coverage.append((item[0], item[1], item[2]))
    return DenylistState(reader.integer("version"), entries, tuple(sorted(coverage)))


def _subjects(items: list[object]) -> OrderedDict[str, SubjectCounters]:
    subjects: OrderedDict[str, SubjectCounters] = OrderedDict()
    for index, item in enumerate(items):
        if (
            not isinstance(item, list)
            or len(item) != 3
            or not isinstance(item[0], str)
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in item[1:])
        ):
            raise DoorStateError(f"state.subjects[{index}] must be [subject, serial, counter]")
        subjects[item[0]] = SubjectCounters(item[1], item[2])
    return subjects


def _ring(
    items: list[object], door: DoorFirmware, chain: EventChain, ring_size: int
) -> deque[SignedEvent]:
    """Decode and check the stored ring: signed by this door, in chain order (a gap where events
    were evicted, a hash link between neighbours), ending at or before the head."""
    if len(items) > ring_size:
        raise DoorStateError("state.ring holds more events than ring_size")
    ring: deque[SignedEvent] = deque()
    public = door.door_key.public
    for index, item in enumerate(items):
        try:
            signed = decode_event(_hex(item, f"state.ring[{index}]"), door_key=public)
        except ProtocolError as error:
            raise DoorStateError(f"state.ring[{index}]: {error}") from None
        event = signed.event
        if event.door_id != door.door_id:
            raise DoorStateError(f"state.ring[{index}] belongs to another door")
        if ring:
            previous = ring[-1].event
            if event.seq <= previous.seq or (
                event.seq == previous.seq + 1 and event.prev_hash != previous.hash
            ):
                raise DoorStateError(f"state.ring[{index}] does not continue the chain")
        ring.append(signed)
    if ring:
        last = ring[-1].event
        if last.seq >= chain.next_seq or (
            last.seq == chain.next_seq - 1 and last.hash != chain.last_hash
        ):
            raise DoorStateError("state.chain does not match the last event in the ring")
    elif chain.next_seq == 1 and chain.last_hash != GENESIS_HASH:
        raise DoorStateError("state.chain: an empty chain must start from the genesis hash")
    return ring


def _share(config: _Reader) -> float:
    """``config.refusal_share``, a number in (0, 1]; files written before it had it get the
    default."""
    if "refusal_share" not in config.data:
        return DoorConfig().refusal_share
    share = config.number("refusal_share")
    if not 0.0 < share <= 1.0:
        raise DoorStateError("state.config.refusal_share must be in (0, 1]")
    return share


def _ajar_after(config: _Reader) -> float:
    """``config.ajar_after_s``, 0 or more; files written before it had it get the default."""
    if "ajar_after_s" not in config.data:
        return DoorConfig().ajar_after_s
    limit = config.number("ajar_after_s")
    if limit < 0:
        raise DoorStateError("state.config.ajar_after_s must be 0 or more")
    return limit


def _restore_leaf(state: _Reader, door: DoorFirmware, down_s: float) -> None:
    """The door sensor: ``leaf`` {open, alarm, open_for_s}; files written before it had one
    get a closed leaf without an alarm. An alarm needs an open leaf (closing ends it)."""
    if state.data.get("leaf") is None:
        return
    leaf = state.sub("leaf")
    is_open = leaf.boolean("open")
    alarm = leaf.data.get("alarm")
    if alarm is not None and alarm not in {a.value for a in LeafAlarm}:
        raise DoorStateError("state.leaf.alarm must be null, 'forced_open' or 'ajar'")
    if alarm is not None and not is_open:
        raise DoorStateError("state.leaf.alarm needs an open leaf")
    open_for = leaf.opt_number("open_for_s")
    if open_for is not None and (open_for < 0 or not is_open):
        raise DoorStateError("state.leaf.open_for_s must be 0 or more, for an open leaf only")
    door.flash.leaf_open = is_open
    door.flash.leaf_alarm = None if alarm is None else LeafAlarm(str(alarm))
    if is_open:
        # The leaf stood open while the process was down as well.
        door._leaf_opened_at = door.clock.uptime() - (open_for or 0.0) - down_s


def restore_door(data: object, clock: Clock) -> DoorFirmware:
    """Rebuild a door from :func:`door_state` output; raise :class:`DoorStateError` if the data
    is malformed, inconsistent or not signed by the stored door key."""
    state = _Reader(data)
    if state.get("format") != STATE_FORMAT or state.get("version") != STATE_VERSION:
        raise DoorStateError(f"not a {STATE_FORMAT} version {STATE_VERSION} file")
    seed = state.raw("door_key_seed")
    if len(seed) != 32:
        raise DoorStateError("state.door_key_seed must be 32 bytes")
    door_key = DoorKey.from_seed(seed)
    if door_key.public.key.raw != state.raw("door_public_key"):
        raise DoorStateError("state.door_public_key does not match the door key")
    door_id = state.raw("door_id")
    if not 0 < len(door_id) <= 32:
        raise DoorStateError("state.door_id must be 1-32 bytes")
    try:
        kind = parse_door_kind(state.text("kind"))
        mtu = check_mtu(state.integer("mtu"))
    except ValueError as error:
        raise DoorStateError(str(error)) from None
    groups = [_hex(g, "state.door_groups[]") for g in state.items("door_groups")]
    config = state.sub("config")
    battery_data = state.get("battery")
    battery: Battery | None = None
    if battery_data is not None:
        fields = _Reader(battery_data, "state.battery")
        battery = Battery(**{f.name: fields.number(f.name) for f in dataclasses.fields(Battery)})
    ring_size = state.integer("ring_size", low=1)
    keyring, partner_keyring = _keyrings(state, kind)
    door = firmware_class(kind)(
        door_id=door_id,
        door_key=door_key,
        keyring=keyring,
        partner_keyring=partner_keyring,
        clock=clock,
        door_groups=groups,
        drift_ppm=state.number("drift_ppm"),
        mtu=mtu,
        config=DoorConfig(
            auto_relock_s=config.number("auto_relock_s"),
            relay_pulse_ms=config.integer("relay_pulse_ms"),
            refusal_share=_share(config),
            ajar_after_s=_ajar_after(config),
        ),
        ring_size=ring_size,
        battery=battery,
        kind=kind,
    )
    flash = door.flash
    chain_data = state.sub("chain")
    flash.chain = EventChain(
        door_id, chain_data.integer("next_seq", low=1), chain_data.raw("last_hash")
    )
    if len(flash.chain.last_hash) != 32:
        raise DoorStateError("state.chain.last_hash must be 32 bytes")
    flash.ring = _ring(state.items("ring"), door, flash.chain, ring_size)
    flash.events_dropped = state.integer("events_dropped")
    if len(flash.ring) + flash.events_dropped != flash.chain.next_seq - 1:
        # Every event of the chain is either in the ring or was evicted and counted.
        raise DoorStateError("state.events_dropped does not match the ring and the chain")
    flash.overflow_noted = state.boolean("overflow_noted")
    flash.denylist = _denylist(state.sub("denylist"))
    flash.last_token_time = state.when("last_token_time")
    actuating = state.data.get("actuating")
    if actuating not in (None, "unlock", "lock"):
        raise DoorStateError("state.actuating must be null, 'unlock' or 'lock'")
    flash.actuating = actuating if isinstance(actuating, str) else None
    relock = state.data.get("relock_pending", False)
    if not isinstance(relock, bool):
        raise DoorStateError("state.relock_pending must be true or false")
    flash.relock_pending = relock
    flash.subjects = _subjects(state.items("subjects"))
    flash.decommissioned = _decommissioned(state)
    door._low_battery_logged = state.boolean("low_battery_logged")

    # The battery-backed clock kept running while the process was down (never backwards).
    clock_data = state.sub("clock")
    door_time = clock_data.when("door_time")
    saved_at = clock_data.when("saved_at")
    if saved_at is None:
        raise DoorStateError("state.clock.saved_at is missing")
    elapsed = max(dt.timedelta(0), clock.now() - saved_at)
    if door_time is not None:
        door.clock.set(door_time + elapsed * (1.0 + door.clock.drift_ppm * 1e-6))

    actuator = state.sub("actuator")
    try:
        door.state = DoorState(actuator.text("state"))
    except ValueError:
        raise DoorStateError("state.actuator.state is not a door state") from None
    down_s = elapsed.total_seconds()
    if isinstance(door, HomeLock):
        relock_in = actuator.opt_number("relock_in_s")
        door._relock_at = None if relock_in is None else max(0.0, relock_in - down_s)
    elif isinstance(door, EntranceController):
        release_in = actuator.opt_number("release_in_s")
        door._release_at = None if release_in is None else max(0.0, release_in - down_s)
        door.pulses = actuator.integer("pulses")
    _restore_leaf(state, door, down_s)
    return door


def load_door(path: Path, clock: Clock) -> DoorFirmware:
    """Read a door saved by :func:`save_door`; its time runs on from ``clock``.

    Raises :class:`DoorStateError` for a missing, oversized, malformed or tampered file.
    """
    path = Path(path)
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_STATE_BYTES + 1)
    except OSError as error:
        raise DoorStateError(f"{path}: {error.strerror or error}") from None
    if len(raw) > MAX_STATE_BYTES:
        raise DoorStateError(f"{path} is larger than {MAX_STATE_BYTES} bytes")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise DoorStateError(f"{path} is not JSON: {error}") from None
    return restore_door(data, clock)


__all__ = [
    "MAX_STATE_BYTES",
    "STATE_FORMAT",
    "STATE_VERSION",
    "DoorStateError",
    "door_state",
    "load_door",
    "restore_door",
    "save_door",
]
