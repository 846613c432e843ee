"""A simulated door served on a local socket, and the door's flash kept in a state file.

For the demo a door runs as its own process (``carekey door serve``): a
:class:`~carekey.devices.firmware.DoorFirmware` behind a :class:`DoorServer`, which speaks the
socket link of :mod:`carekey.link.socket`. The key app reaches it with
:class:`~carekey.link.socket.SocketTransport` exactly as it reaches a real lock over BLE.

**One phone at a time, others queued.** Like a BLE peripheral, which stops advertising while a
central is connected, the server serves one connection at a time. It stops accepting while a
phone is connected, so further connections wait in the listen backlog (``backlog``, default 4)
and are taken in order when the current phone disconnects; a waiting phone whose own timeout
runs out first gives up with ``door_busy``. A phone that stays connected but silent is dropped
after ``idle_timeout`` (a BLE supervision timeout would do the same), so nobody holds a door
forever.

**Link violations** (a bad link hello, a frame of length 0 or longer than the negotiated
``MTU - 3``, more unread output than ``MAX_OUTBOUND`` bytes) drop that connection only: the
door never sees the offending bytes, ``stats.refused`` counts it and the server goes on. Bytes
that are well framed but garbage reach the firmware, which refuses them itself (logged ALERT).

**State file.** :func:`save_door` / :func:`load_door` keep what a real door keeps in flash and
its battery-backed clock: the door key, the issuer keyring, the event chain head and ring, the
counters per subject, the denylist, settings, the time of the last token, the wall clock
(as an offset, so it keeps running while the process is down), the battery and the bolt. It is
JSON (format ``carekey-door-state`` version 1), written atomically (temporary file, fsync,
rename) with mode 0600 since it holds the door's private key. RAM-only state (an open session,
rate-limit counters, operation statistics) starts afresh after a restart, as after a reset.
A server given a ``state_path`` saves after every exchange that may have changed the flash, on
every disconnect, on auto-relock and when it stops.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import os
import selectors
import socket
import tempfile
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Final

from carekey.clock import Clock, SystemClock
from carekey.devices.controller import EntranceController
from carekey.devices.firmware import (
    Battery,
    DoorConfig,
    DoorFirmware,
    DoorState,
    SubjectCounters,
)
from carekey.devices.homelock import HomeLock
from carekey.link.socket import (
    CLIENT_HELLO,
    FRAME_HEADER,
    LINK_MAGIC,
    SERVER_HELLO,
    STATUS_READY,
    check_mtu,
    encode_frames,
    is_loopback,
    max_packet,
)
from carekey.protocol.credential import DoorKind
from carekey.protocol.denylist import DenylistState, EntryKind
from carekey.protocol.errors import ProtocolError
from carekey.protocol.events import GENESIS_HASH, EventChain, SignedEvent, decode_event
from carekey.protocol.framing import MAX_MTU, MIN_MTU
from carekey.protocol.keys import (
    DoorKey,
    Ed25519Public,
    IssuerKeyring,
    IssuerPublicKey,
    KeyStatus,
)

STATE_FORMAT: Final = "carekey-door-state"
STATE_VERSION: Final = 1
MAX_STATE_BYTES: Final = 32 * 1024 * 1024
"""A full denylist (65,535 entries) and a full ring fit well below this."""
MAX_OUTBOUND: Final = 256 * 1024
"""Unsent bytes the server buffers for a phone that does not read before dropping it."""
_READ_CHUNK: Final = 4096
_MAX_INBOUND: Final = FRAME_HEADER.size + MAX_MTU
"""Unparsed input is never more than one frame: frames are consumed as they complete."""

_KINDS: Final[dict[str, DoorKind]] = {
    "home": DoorKind.HOME,
    "home_lock": DoorKind.HOME,
    "entrance": DoorKind.ENTRANCE,
    "entrance_controller": DoorKind.ENTRANCE,
    "gate": DoorKind.GATE,
    "gate_controller": DoorKind.GATE,
}

Echo = Callable[[str], None]


class DoorStateError(ValueError):
    """A state file that cannot be used, with Danish + English text."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(
            f"Dørens tilstandsfil kan ikke bruges / the door's state file cannot be used: {detail}"
        )


# --- building doors --------------------------------------------------------------------------


def parse_door_kind(kind: str | DoorKind) -> DoorKind:
    """The protocol door kind for ``home``/``entrance``/``gate`` or the database's
    ``home_lock``/``entrance_controller``/``gate_controller``."""
    try:
        return _KINDS[str(kind)]
    except KeyError:
        raise ValueError(
            f"ukendt dørtype / unknown door kind {kind!r} (expected one of {sorted(_KINDS)})"
        ) from None


def _door_id(serial: str) -> bytes:
    door_id = serial.encode("utf-8")
    if not 0 < len(door_id) <= 32:
        raise ValueError("a door serial is 1-32 bytes of UTF-8 (it is the door id on the wire)")
    return door_id


def build_demo_door(
    *,
    serial: str,
    kind: str | DoorKind,
    keyring: IssuerKeyring,
    clock: Clock,
    door_key: DoorKey,
    synced: bool = True,
    door_groups: Iterable[bytes] = (),
    drift_ppm: float = 0.0,
    mtu: int = 247,
    config: DoorConfig | None = None,
) -> DoorFirmware:
    """A simulated door: a :class:`HomeLock` for ``home`` doors, an
    :class:`EntranceController` for entrances and gates.

    The door id is the serial's UTF-8 bytes, as the key service names doors in credentials.
    ``synced`` (default) commissions the door with the time, as the installer's phone does,
    so phones need no challenge-bound time token on the first visit.
    """
    door_kind = parse_door_kind(kind)
    cls: type[DoorFirmware] = HomeLock if door_kind is DoorKind.HOME else EntranceController
    door = cls(
        door_id=_door_id(serial),
        door_key=door_key,
        keyring=keyring,
        clock=clock,
        door_groups=door_groups,
        drift_ppm=drift_ppm,
        mtu=check_mtu(mtu),
        config=config,
        kind=door_kind,
    )
    if synced:
        now = clock.now()
        door.clock.set(now)
        door.flash.last_token_time = now
    return door


def commission_from_row(
    *,
    serial: str,
    kind: str,
    door_key_seed: bytes | None,
    keyring: IssuerKeyring,
    clock: Clock,
) -> tuple[DoorFirmware, bytes]:
    """Commission a simulated door for a ``door_device`` row; return it and its public key.

    ``door_key_seed`` (32 bytes) makes the door key reproducible; None draws a fresh one. The
    returned 32 raw bytes (Ed25519) go into ``door_device.public_key``, from where phones get
    them in their bundles. ``kind`` may be the database's (``home_lock`` …) or the protocol's
    (``home`` …). Save the door with :func:`save_door` to serve it with :func:`serve_cli`.
    """
    if door_key_seed is None:
        door_key = DoorKey.generate()
    elif len(door_key_seed) == 32:
        door_key = DoorKey.from_seed(door_key_seed)
    else:
        raise ValueError("door_key_seed must be 32 bytes")
    door = build_demo_door(
        serial=serial, kind=kind, keyring=keyring, clock=clock, door_key=door_key
    )
    return door, door_key.public.key.raw


# --- the state file --------------------------------------------------------------------------


def _true_clock(door: DoorFirmware) -> Clock:
    # The simulator's injected clock: the door's crystal runs against it. DoorClock keeps it
    # private; the state file needs it to store the wall time as an offset.
    clock: Clock = door.clock._true
    return clock


def _iso(when: dt.datetime | None) -> str | None:
    return None if when is None else when.isoformat()


def door_state(door: DoorFirmware) -> dict[str, Any]:
    """The door's persistent state as a JSON-ready dict (see :func:`save_door`)."""
    flash = door.flash
    true_now = _true_clock(door).now()
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
        "keyring": [
            {"issuer": key.issuer, "key": key.key.raw.hex(), "status": status.value}
            for key, status in flash.keyring.keys.values()
        ],
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
        },
        "last_token_time": _iso(flash.last_token_time),
        "subjects": [[s, c.serial, c.counter] for s, c in flash.subjects.items()],
        "battery": None if door.battery is None else dataclasses.asdict(door.battery),
        "low_battery_logged": door._low_battery_logged,
        "actuator": actuator,
    }


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


def _keyring(items: list[object]) -> IssuerKeyring:
    keys: dict[bytes, tuple[IssuerPublicKey, KeyStatus]] = {}
    for index, item in enumerate(items):
        entry = _Reader(item, f"state.keyring[{index}]")
        try:
            key = IssuerPublicKey(entry.text("issuer"), Ed25519Public(entry.raw("key")))
            status = KeyStatus(entry.text("status"))
        except (ProtocolError, ValueError) as error:
            raise DoorStateError(f"state.keyring[{index}]: {error}") from None
        keys[key.kid] = (key, status)
    keyring = IssuerKeyring(keys)
    if not keyring.active:
        raise DoorStateError("state.keyring has no active issuer key")
    return keyring


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
    return DenylistState(reader.integer("version"), entries)


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
    """Decode and check the stored ring: signed by this door, contiguous, ending at the head."""
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
            if event.seq != previous.seq + 1 or event.prev_hash != previous.hash:
                raise DoorStateError(f"state.ring[{index}] does not continue the chain")
        ring.append(signed)
    if ring:
        last = ring[-1].event
        if last.seq != chain.next_seq - 1 or last.hash != chain.last_hash:
            raise DoorStateError("state.chain does not match the last event in the ring")
    elif chain.next_seq == 1 and chain.last_hash != GENESIS_HASH:
        raise DoorStateError("state.chain: an empty chain must start from the genesis hash")
    return ring


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
    cls: type[DoorFirmware] = HomeLock if kind is DoorKind.HOME else EntranceController
    door = cls(
        door_id=door_id,
        door_key=door_key,
        keyring=_keyring(state.items("keyring")),
        clock=clock,
        door_groups=groups,
        drift_ppm=state.number("drift_ppm"),
        mtu=mtu,
        config=DoorConfig(
            auto_relock_s=config.number("auto_relock_s"),
            relay_pulse_ms=config.integer("relay_pulse_ms"),
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
    flash.overflow_noted = state.boolean("overflow_noted")
    flash.denylist = _denylist(state.sub("denylist"))
    flash.last_token_time = state.when("last_token_time")
    flash.subjects = _subjects(state.items("subjects"))
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


# --- the server ------------------------------------------------------------------------------


@dataclass(slots=True)
class ServerStats:
    """What a :class:`DoorServer` has done since it started."""

    connections: int = 0
    """Phones that completed the link hello."""
    refused: int = 0
    """Connections dropped for a link violation, an idle or handshake timeout, or a full
    output buffer."""
    packets_in: int = 0
    packets_out: int = 0
    last_refusal: str | None = None
    errors: list[str] = dataclasses.field(default_factory=list)
    """Unexpected failures (a bug in the firmware, a state file that cannot be written)."""


@dataclass(slots=True, eq=False)
class _Connection:
    sock: socket.socket
    peer: str
    deadline: float
    inbound: bytearray = dataclasses.field(default_factory=bytearray)
    outbound: bytearray = dataclasses.field(default_factory=bytearray)
    mtu: int | None = None  # set by the link hello
    door_connected: bool = False


class _DropConnectionError(Exception):
    """Drop the current connection (a link violation, or the phone went away)."""

    def __init__(self, reason: str, *, refused: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.refused = refused


class DoorServer:
    """Serves one simulated door on a TCP socket, in a background thread.

    ``start()`` binds (``port=0``: an ephemeral port, read ``.port``) and returns; ``stop()``
    disconnects any phone, saves the state (with ``state_path``) and joins the thread. Usable
    as a context manager. The door is only touched by the server thread while it runs, under
    :attr:`lock`; hold it (or use :meth:`wait_until`) to look at the door meanwhile.

    The door is ticked every ``tick_interval`` seconds (auto-relock, relay release). See the
    module documentation for queueing, idle timeouts and link violations.
    """

    def __init__(
        self,
        door: DoorFirmware,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        state_path: Path | None = None,
        tick_interval: float = 0.2,
        idle_timeout: float = 30.0,
        handshake_timeout: float = 5.0,
        backlog: int = 4,
        allow_remote: bool = False,
    ) -> None:
        if not allow_remote and not is_loopback(host):
            raise ValueError(
                f"dørsimulatoren lytter kun på 127.0.0.1 / the door simulator listens on "
                f"loopback only, not {host!r} (allow_remote=True to override)"
            )
        if min(tick_interval, idle_timeout, handshake_timeout) <= 0 or backlog < 1:
            raise ValueError("timeouts must be positive and backlog at least 1")
        self.door = door
        self.host = host
        self.state_path = None if state_path is None else Path(state_path)
        self.tick_interval = tick_interval
        self.idle_timeout = idle_timeout
        self.handshake_timeout = handshake_timeout
        self.backlog = backlog
        self.stats = ServerStats()
        self.lock = threading.RLock()
        self._changed = threading.Condition(self.lock)
        self._requested_port = port
        self._door_mtu = door.mtu
        self._listener: socket.socket | None = None
        self._wake: tuple[socket.socket, socket.socket] | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._connection: _Connection | None = None
        self._port: int | None = None

    # --- lifecycle ---

    @property
    def port(self) -> int:
        """The TCP port the server listens on (after :meth:`start`)."""
        if self._port is None:
            raise RuntimeError("the door server is not started")
        return self._port

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def connected(self) -> bool:
        """Whether a phone is connected right now (hold :attr:`lock` for a stable answer)."""
        connection = self._connection
        return connection is not None and connection.door_connected

    def start(self) -> DoorServer:
        """Bind, listen and serve in a background thread; return ``self``."""
        if self._thread is not None:
            raise RuntimeError("a door server is started once")
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        listener = socket.create_server(
            (self.host, self._requested_port), family=family, backlog=self.backlog
        )
        listener.setblocking(False)
        self._listener = listener
        self._wake = socket.socketpair()
        for end in self._wake:
            end.setblocking(False)
        self._port = int(listener.getsockname()[1])
        self._thread = threading.Thread(
            target=self._run, name=f"door-{self.door.door_id!r}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Disconnect the phone, save the state, stop serving and close the port. Idempotent."""
        thread = self._thread
        if thread is None:
            return
        self._stopping.set()
        if self._wake is not None:
            with contextlib.suppress(OSError):
                self._wake[1].send(b"\0")
        thread.join(timeout)
        if thread.is_alive():
            raise RuntimeError("the door server did not stop in time")
        if self._wake is not None:
            for end in self._wake:
                end.close()
            self._wake = None

    def __enter__(self) -> DoorServer:
        if self._thread is None:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def wait_until(self, predicate: Callable[[DoorFirmware], bool], timeout: float) -> bool:
        """Wait (without polling) until ``predicate(door)`` holds, checked under :attr:`lock`
        after each round of the server; return False if ``timeout`` seconds pass first."""
        with self._changed:
            return self._changed.wait_for(lambda: predicate(self.door), timeout)

    def save(self) -> None:
        """Save the door to ``state_path`` now (under :attr:`lock`)."""
        if self.state_path is None:
            raise RuntimeError("the door server has no state_path")
        with self.lock:
            save_door(self.door, self.state_path)

    # --- the serving thread ---

    def _run(self) -> None:
        listener = self._listener
        wake = self._wake
        assert listener is not None
        assert wake is not None
        selector = selectors.DefaultSelector()
        try:
            selector.register(listener, selectors.EVENT_READ, "listen")
            selector.register(wake[0], selectors.EVENT_READ, "wake")
            next_tick = time.monotonic() + self.tick_interval
            while not self._stopping.is_set():
                now = time.monotonic()
                wait = next_tick - now
                if self._connection is not None:
                    wait = min(wait, self._connection.deadline - now)
                for key, mask in selector.select(max(0.0, wait)):
                    if key.data == "listen":
                        self._accept(selector, listener)
                    elif key.data == "wake":
                        with contextlib.suppress(OSError):
                            wake[0].recv(64)
                    else:
                        self._service(selector, mask)
                now = time.monotonic()
                connection = self._connection
                if connection is not None and now >= connection.deadline:
                    phase = "idle" if connection.mtu is not None else "link hello"
                    self._drop(selector, listener, f"{phase} timeout", refused=True)
                if now >= next_tick:
                    next_tick = now + self.tick_interval
                    self._tick()
                with self._changed:
                    self._changed.notify_all()
        except Exception as error:  # reported, and the port is closed below
            self._error(f"server loop: {type(error).__name__}: {error}")
        finally:
            self._stopping.set()
            if self._connection is not None:
                self._drop(selector, listener, "server stopping", refused=False)
            selector.close()
            listener.close()
            self._persist()
            with self._changed:
                self._changed.notify_all()

    def _accept(self, selector: selectors.BaseSelector, listener: socket.socket) -> None:
        try:
            sock, peer = listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        except OSError as error:
            self._error(f"accept: {error}")
            return
        sock.setblocking(False)
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._connection = _Connection(
            sock, f"{peer[0]}:{peer[1]}", time.monotonic() + self.handshake_timeout
        )
        # One phone at a time: later phones wait in the listen backlog until this one leaves.
        selector.unregister(listener)
        selector.register(sock, selectors.EVENT_READ, "phone")

    def _service(self, selector: selectors.BaseSelector, mask: int) -> None:
        connection = self._connection
        listener = self._listener
        assert connection is not None
        assert listener is not None
        try:
            if mask & selectors.EVENT_WRITE:
                self._flush(selector, connection)
            if mask & selectors.EVENT_READ:
                self._read(selector, connection)
        except _DropConnectionError as drop:
            self._drop(selector, listener, drop.reason, refused=drop.refused)
        except Exception as error:  # a firmware bug must not take the whole door server down
            self._error(f"{type(error).__name__}: {error}")
            self._drop(selector, listener, "internal error", refused=True)

    def _read(self, selector: selectors.BaseSelector, connection: _Connection) -> None:
        room = _MAX_INBOUND - len(connection.inbound)
        try:
            data = connection.sock.recv(min(_READ_CHUNK, room))
        except (BlockingIOError, InterruptedError):
            return
        except OSError as error:
            raise _DropConnectionError(f"phone link lost: {error}", refused=False) from None
        if not data:
            raise _DropConnectionError("phone disconnected", refused=False)
        connection.inbound += data
        if connection.mtu is not None:
            connection.deadline = time.monotonic() + self.idle_timeout
        self._consume(connection)
        self._flush(selector, connection)

    def _consume(self, connection: _Connection) -> None:
        buffer = connection.inbound
        if connection.mtu is None:
            if len(buffer) < CLIENT_HELLO.size:
                if not LINK_MAGIC.startswith(bytes(buffer[: len(LINK_MAGIC)])):
                    raise _DropConnectionError("bad link hello")
                return
            magic, phone_mtu = CLIENT_HELLO.unpack_from(buffer)
            del buffer[: CLIENT_HELLO.size]
            if magic != LINK_MAGIC or not MIN_MTU <= phone_mtu <= MAX_MTU:
                raise _DropConnectionError("bad link hello")
            mtu = min(phone_mtu, self._door_mtu)
            connection.mtu = mtu
            connection.deadline = time.monotonic() + self.idle_timeout
            connection.outbound += SERVER_HELLO.pack(LINK_MAGIC, STATUS_READY, mtu)
            with self.lock:
                self.door.mtu = mtu  # the door fragments its notifications to the link's MTU
                self.door.connect()
                connection.door_connected = True
                self.stats.connections += 1
        limit = max_packet(connection.mtu)
        while len(buffer) >= FRAME_HEADER.size:
            (length,) = FRAME_HEADER.unpack_from(buffer)
            if not 0 < length <= limit:
                raise _DropConnectionError(f"frame of {length} bytes, limit {limit}")
            if len(buffer) < FRAME_HEADER.size + length:
                return
            packet = bytes(buffer[FRAME_HEADER.size : FRAME_HEADER.size + length])
            del buffer[: FRAME_HEADER.size + length]
            self._deliver(connection, packet)

    def _deliver(self, connection: _Connection, packet: bytes) -> None:
        assert connection.mtu is not None
        with self.lock:
            self.stats.packets_in += 1
            replies = self.door.on_packet(packet)
            self.stats.packets_out += len(replies)
            if replies:
                self._persist()
        if replies:
            connection.outbound += encode_frames(replies, mtu=connection.mtu)
        if len(connection.outbound) > MAX_OUTBOUND:
            raise _DropConnectionError("the phone does not read its notifications")

    def _flush(self, selector: selectors.BaseSelector, connection: _Connection) -> None:
        if connection.outbound:
            try:
                sent = connection.sock.send(connection.outbound)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError as error:
                raise _DropConnectionError(f"phone link lost: {error}", refused=False) from None
            del connection.outbound[:sent]
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if connection.outbound else 0)
        if selector.get_key(connection.sock).events != events:
            selector.modify(connection.sock, events, "phone")

    def _drop(
        self,
        selector: selectors.BaseSelector,
        listener: socket.socket,
        reason: str,
        *,
        refused: bool,
    ) -> None:
        connection = self._connection
        if connection is None:
            return
        self._connection = None
        with self.lock:
            if refused:
                self.stats.refused += 1
                self.stats.last_refusal = f"{connection.peer}: {reason}"
            if connection.door_connected:
                try:
                    self.door.disconnect()
                except Exception as error:  # keep serving; the failure is reported
                    self._error(f"disconnect: {type(error).__name__}: {error}")
                self.door.mtu = self._door_mtu
            self._persist()
        with contextlib.suppress(KeyError, ValueError):
            selector.unregister(connection.sock)
        connection.sock.close()
        if not self._stopping.is_set():
            selector.register(listener, selectors.EVENT_READ, "listen")

    def _tick(self) -> None:
        with self.lock:
            before = (self.door.flash.chain.next_seq, self.door.state)
            try:
                self.door.tick()
            except Exception as error:
                self._error(f"tick: {type(error).__name__}: {error}")
            if (self.door.flash.chain.next_seq, self.door.state) != before:
                self._persist()

    def _persist(self) -> None:
        if self.state_path is None:
            return
        with self.lock:
            try:
                save_door(self.door, self.state_path)
            except OSError as error:
                self._error(f"saving {self.state_path}: {error}")

    def _error(self, message: str) -> None:
        with self.lock:
            if len(self.stats.errors) < 100:
                self.stats.errors.append(message)


# --- the command line ------------------------------------------------------------------------


def serve_cli(
    *,
    state_path: Path,
    host: str,
    port: int,
    echo: Echo,
    clock: Clock | None = None,
    stop: threading.Event | None = None,
    tick_interval: float = 0.2,
) -> None:
    """``carekey door serve``: serve the door saved in ``state_path`` until Ctrl+C.

    Prints (Danish and English) the door's serial, kind, address and port, then blocks. The
    state is saved after every change and on exit. ``stop`` (tests) ends it like Ctrl+C.
    Raises :class:`DoorStateError` for an unusable state file and ``OSError`` when the port
    cannot be bound.
    """
    door = load_door(state_path, clock or SystemClock())
    server = DoorServer(
        door, host, port, state_path=state_path, tick_interval=tick_interval
    ).start()
    serial = door.door_id.decode("utf-8", "replace")
    stopped = stop or threading.Event()
    try:
        echo(f"Simuleret dør / simulated door: {serial} ({door.kind.value})")
        echo(f"Adresse / address: {host}  port: {server.port}")
        echo(f"Tilstand / state: {state_path}")
        echo(f"Forbind med / connect with: carekey.link.socket.connect({host!r}, {server.port})")
        echo("Stop med Ctrl+C / stop with Ctrl+C")
        while not stopped.wait(0.5):  # wakes at once on ``stop``; Ctrl+C interrupts the wait
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        echo(f"Dør {serial} stoppet, tilstand gemt / door {serial} stopped, state saved")


__all__ = [
    "MAX_OUTBOUND",
    "STATE_FORMAT",
    "STATE_VERSION",
    "DoorServer",
    "DoorStateError",
    "ServerStats",
    "build_demo_door",
    "commission_from_row",
    "door_state",
    "load_door",
    "parse_door_kind",
    "restore_door",
    "save_door",
    "serve_cli",
]
