"""What every CareKey door runs: the session over BLE and the order of the door's decision.

:class:`DoorFirmware` is a real implementation of the door side of the protocol, not a mock: a
home lock (:mod:`carekey.devices.homelock`) and an entrance or gate controller
(:mod:`carekey.devices.controller`) differ only in what they actuate. The same firmware runs in
tests, in the whole-day simulation and in the benchmark.

The door decides alone, from what it holds and what the phone presents. For the first request of
a session, in this order (the first failure is the refusal it logs and returns):

1. a piggybacked signed time token, then a piggybacked signed denylist update, are applied;
2. the credential: issuer signature, door, **kind** (a partner or entrance credential never opens
   a home lock), denylist, time (refused when the door does not know it), windows, serial;
3. proof of possession: the device signature over the session transcript;
3a. the proof of freshness (:mod:`carekey.protocol.freshness`): a server-signed sign of life for
   this phone's device key, live by the door's clock, so a phone the server stopped renewing
   (blocked) opens nothing once it runs out. Locking, status, time and denylist requests do not
   need it (a worker whose proof ran out can still lock up). When the proof says the phone has
   seen a newer denylist than the door holds for its own withdrawal entry, the phone must have
   brought that piece (``denylist_required``), so a removal reaches the door with the first
   phone that checked in after it;
4. the use counter: per subject the door keeps the highest (serial, counter) it has accepted; an
   older serial is ``old_serial``, the same serial with a counter that did not increase is
   ``counter_not_increasing`` (a cloned credential and device key, or a replay);
5. the command's own rule: ``configure`` and ``decommission`` need the admin right.

Every refusal is logged as a signed event, nothing actuates, and the failure counts towards
rate limiting (see :class:`FailureLimiter`).

Where the rest lives: the door's own rules (use counter, later requests, command arguments) in
:mod:`carekey.devices.decision`; its flash and signed log in :mod:`carekey.devices.flash`; its
crystal, battery and bolt in :mod:`carekey.devices.hardware`; the door sensor (forced open,
ajar) in :mod:`carekey.devices.doorsensor`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from carekey.clock import Clock
from carekey.devices.decision import (
    Refusal,
    accept_use,
    clock_tolerance,
    door_configuration,
    is_admin,
    may_read_log,
    read_events_range,
    recheck,
)
from carekey.devices.decommission import FIRMWARE_VERSION, decommission
from carekey.devices.doorsensor import DoorSensor
from carekey.devices.flash import DoorConfig, PersistentState
from carekey.devices.hardware import Battery, DoorClock, DoorState
from carekey.devices.limits import FailureLimiter as FailureLimiter  # re-exported: older imports
from carekey.devices.limits import SessionLimits as SessionLimits
from carekey.protocol.credential import (
    Credential,
    DoorKind,
    decode_credential,
    verify_credential,
)
from carekey.protocol.denylist import DenylistState, door_entry_id, id_prefix
from carekey.protocol.errors import ProtocolError
from carekey.protocol.events import EventChain, EventKind, SignedEvent
from carekey.protocol.framing import (
    DEFAULT_MAX_MESSAGE_SIZE,
    INDEX_MASK,
    FramingError,
    MessageType,
    Reassembler,
    decode_message,
    fragment,
)
from carekey.protocol.freshness import Freshness, verify_freshness
from carekey.protocol.keys import DoorKey, IssuerKeyring
from carekey.protocol.session import (
    ADMIN_COMMANDS,
    Alert,
    Command,
    DoorSession,
    DoorStatus,
    Request,
    Response,
    SessionState,
    StatusFlag,
    decode_alert,
    encode_alert,
    is_known_code,
)
from carekey.protocol.timetoken import TimeToken, accept_time_token

_LOGGER = logging.getLogger(__name__)

TIME_SYNC_WANTED_AFTER: Final = timedelta(hours=24)
FRESHNESS_EXEMPT: Final = frozenset(
    {Command.LOCK, Command.STATUS, Command.TIME_SYNC, Command.DENYLIST_UPDATE}
)
"""Commands a phone may send without a live proof of freshness: none of them opens anything."""
MAX_HELD_RANGES: Final = 32


class PowerCut(Exception):  # noqa: N818 - it is an event, not an error
    """The power went while the firmware was working (a brown-out from the motor current)."""


# --- what the firmware counts ---------------------------------------------------------------


@dataclass(slots=True)
class FirmwareStats:
    """Operation counters, for the benchmark's cost model and for tests."""

    sessions: int = 0
    x25519: int = 0
    ed25519_signs: int = 0
    ed25519_verifications: int = 0
    ecdsa_verifications: int = 0
    actuations: int = 0

    @property
    def signature_verifications(self) -> int:
        """Ed25519 (issuer: credential, time token, denylist) plus ECDSA (device) checks."""
        return self.ed25519_verifications + self.ecdsa_verifications


# --- the firmware ----------------------------------------------------------------------------


class DoorFirmware(DoorSensor):
    """The door side of CareKey over one BLE characteristic (a :class:`DoorPeripheral`), with
    the door sensor on the leaf (:class:`~carekey.devices.doorsensor.DoorSensor`).

    Subclasses implement :meth:`_actuate` (and may extend :meth:`tick`). Call :meth:`tick`
    (or any entry point) to let timed behaviour such as auto-relock happen.
    """

    kind: DoorKind = DoorKind.HOME
    has_battery: bool = False
    unlock_event: EventKind = EventKind.UNLOCKED

    def __init__(
        self,
        *,
        door_id: bytes,
        door_key: DoorKey,
        keyring: IssuerKeyring,
        clock: Clock,
        door_groups: Iterable[bytes] = (),
        drift_ppm: float = 0.0,
        mtu: int = 247,
        config: DoorConfig | None = None,
        ring_size: int = 256,
        limiter: FailureLimiter | None = None,
        battery: Battery | None = None,
        reassembly_timeout_s: float = 5.0,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        kind: DoorKind | None = None,
        session_limits: SessionLimits | None = None,
        partner_keyring: IssuerKeyring | None = None,
    ) -> None:
        if kind is not None:
            self.kind = kind
        self.door_id = door_id
        self.door_key = door_key
        self.door_groups = frozenset(door_groups)
        self.clock = DoorClock(clock, drift_ppm=drift_ppm)
        self.mtu = mtu
        self.flash = PersistentState(
            keyring=keyring,
            chain=EventChain(door_id),
            config=config or DoorConfig(),
            ring_size=ring_size,
            partner_keyring=partner_keyring or IssuerKeyring(),
        )
        self.limiter = limiter or FailureLimiter()
        self.session_limits = session_limits or SessionLimits()
        self._session_started_s = 0.0
        self.battery = battery if battery is not None or not self.has_battery else Battery()
        self.stats = FirmwareStats()
        self.state = DoorState.LOCKED
        self._low_battery_logged = False
        self._reassembly_timeout_s = reassembly_timeout_s
        self._max_message_size = max_message_size
        self._reassembler = Reassembler(mtu=mtu, max_message_size=max_message_size)
        self._last_packet_s = 0.0
        self._resync = False
        self._session: DoorSession | None = None
        self._credential: Credential | None = None
        self._freshness: Freshness | None = None
        self._freshness_refusal = "freshness_missing"
        self._own_prefix = id_prefix(door_entry_id(door_id))
        self._setup()

    def _setup(self) -> None:
        """Subclasses initialise their actuator state here."""

    def _partner_keys(self) -> IssuerKeyring | None:
        """The partner issuer keys credentials are checked with: none here (a home lock never
        trusts one); :class:`~carekey.devices.controller.EntranceController` gives its own."""
        return None

    # --- what tests and the simulation read ---

    @property
    def events(self) -> list[SignedEvent]:
        """The signed events still in the ring, oldest first."""
        return list(self.flash.ring)

    @property
    def denylist(self) -> DenylistState:
        """The denylist the door holds."""
        return self.flash.denylist

    @property
    def time_known(self) -> bool:
        """Whether the door knows the time."""
        return self.clock.now() is not None

    def status(self) -> DoorStatus:
        """The status this door signs into every DOOR_HELLO."""
        flags = StatusFlag.NONE
        now = self.clock.now()
        if now is not None:
            flags |= StatusFlag.TIME_KNOWN
        last = self.flash.last_token_time
        if now is None or last is None or now - last > TIME_SYNC_WANTED_AFTER:
            flags |= StatusFlag.TIME_SYNC_WANTED
        if self.battery is not None and self.battery.low:
            flags |= StatusFlag.BATTERY_LOW
        if self.state is DoorState.JAMMED:
            flags |= StatusFlag.JAMMED
        if self.state is DoorState.UNLOCKED:
            flags |= StatusFlag.UNLOCKED
        if self.state is DoorState.UNKNOWN:
            flags |= StatusFlag.STATE_UNKNOWN
        flags |= self._sensor_flags()
        battery = 100 if self.battery is None else round(self.battery.percent)
        return DoorStatus(
            flags, battery, self.flash.denylist.version, self.flash.chain.next_seq - 1
        )

    # --- physical world ---

    def power_loss(self) -> None:
        """Batteries out and back in: time, sessions and rate-limit counters are lost; the
        flash (log, counters, denylist, keys, the write-ahead of the bolt) survives. The outage
        is logged on restart; a movement it cut off is logged with it (``interrupted=unlock``)
        and the state is ``unknown`` until the next movement."""
        self.clock.power_loss()
        self.limiter.reset()
        self._drop_session()
        # The leaf's reading and alarm are in flash; the ajar limit counts again from power-up.
        self._leaf_opened_at = 0.0 if self.flash.leaf_open else None
        reason = None
        if self.flash.actuating is not None:
            reason = f"interrupted={self.flash.actuating}"
            self.flash.actuating = None
            self.state = DoorState.UNKNOWN
        self._log(EventKind.POWER_RESTORED, reason=reason)
        self._power_restored()

    def _power_restored(self) -> None:
        """Subclasses: what the door does on power-up (a home lock relocks if one was due)."""

    def tick(self) -> None:
        """Let timed behaviour happen: the actuator's :meth:`_timers`, then the ajar limit."""
        self._timers()
        self._check_ajar()

    def _timers(self) -> None:
        """Subclasses: auto-relock, relay release."""

    # --- DoorPeripheral ---

    def connect(self) -> None:
        """A phone connected."""
        self.tick()
        self._drop_session()

    def disconnect(self) -> None:
        """The phone went away. A handshake without a request counts as a failed attempt."""
        self.tick()
        self._drop_session()

    def on_packet(self, packet: bytes) -> list[bytes]:
        """One BLE write from the phone; returns the notifications to send back."""
        self.tick()
        uptime = self.clock.uptime()
        if self._reassembler.pending and uptime - self._last_packet_s > self._reassembly_timeout_s:
            self._reassembler.reset()
            self._resync = False
        self._last_packet_s = uptime
        expired = self._expire_session(uptime)
        if expired is not None:
            # The packet that finds the session overdue, and the rest of its message, go unread.
            self._resync = True
            return self._send(expired)
        if self._resync:
            # After a framing error the rest of that message is dropped quietly (one refusal
            # logged per bad message, not one per fragment) until a first fragment arrives.
            if not packet or packet[0] & INDEX_MASK:
                return []
            self._resync = False
        try:
            message = self._reassembler.feed(packet)
        except FramingError as error:
            self._resync = True
            return self._send(self._fail(error.code))
        if message is None:
            return []
        try:
            return self._send(self._on_message(message))
        except Exception:
            # A bug reached by some (possibly well-signed) input must not escape to the radio
            # stack nor leave a half-open session: log it, refuse cleanly, stay usable.
            _LOGGER.exception("door %r: internal error in packet handling", self.door_id)
            return self._send(self._internal_error())

    def _expire_session(self, uptime: float) -> bytes | None:
        """End a session past its limits (:class:`SessionLimits`), logged once; the ALERT."""
        session = self._session
        if session is None:
            return None
        age = uptime - self._session_started_s
        limits = self.session_limits
        if age > limits.session_s or (not session.authenticated and age > limits.handshake_s):
            return self._fail("session_timeout", self._credential)
        return None

    def _locked_out(self) -> bool:
        """During a lockout nothing a peer sends is logged one by one nor signed: it is counted
        (``limiter.suppressed``) and answered with the clear-text ``rate_limited`` ALERT."""
        return self.limiter.retry_after(self.clock.uptime()) > 0

    def _suppressed(self) -> bytes:
        self.limiter.suppressed += 1
        retry = self.limiter.retry_after(self.clock.uptime())
        return encode_alert(Alert("rate_limited", int(retry) + 1))

    def _internal_error(self) -> bytes:
        """The refusal for an unexpected exception: the session is dropped and the refusal
        logged (``internal_error``) if the log itself still works."""
        self._session = None
        self._credential = None
        self._freshness = None
        self._reassembler.reset()
        self._resync = False
        try:
            self._refuse("internal_error", None)
        except Exception:
            _LOGGER.exception("door %r: could not log the internal error", self.door_id)
        return encode_alert(Alert("internal_error"))

    # --- the protocol ---

    def _send(self, message: bytes | None) -> list[bytes]:
        if message is None:
            return []
        return fragment(message, mtu=self.mtu)

    def _drop_session(self) -> None:
        session = self._session
        try:
            if session is not None and session.state is SessionState.HELLO_DONE:
                self._refuse("aborted", None)
        except Exception:
            _LOGGER.exception("door %r: could not log the aborted session", self.door_id)
        finally:
            self._session = None
            self._credential = None
            self._freshness = None
            self._reassembler.reset()
            self._resync = False

    def _fail(self, code: str, credential: Credential | None = None) -> bytes:
        """Refuse outside an established record layer: log, count, clear-text ALERT (during a
        lockout: only counted, see :meth:`_locked_out`)."""
        self._session = None
        self._credential = None
        if self._locked_out():
            return self._suppressed()
        self._refuse(code, credential)
        return encode_alert(Alert(code))

    def _refuse(self, code: str, credential: Credential | None) -> SignedEvent:
        """Log a refusal and count it as a failed attempt; the event is the phone's receipt."""
        event = self._log(
            EventKind.REFUSED,
            credential=credential,
            reason=code,
            ref=self._session.request_ref if self._session else None,
        )
        if self.limiter.record_failure(self.clock.uptime()):
            self._log(EventKind.RATE_LIMITED, reason="rate_limited")
        return event

    def _on_message(self, data: bytes) -> bytes | None:
        try:
            message = decode_message(data, max_message_size=self._max_message_size)
        except FramingError as error:
            return self._fail(error.code)
        if message.type is MessageType.CLIENT_HELLO:
            return self._on_hello(data)
        if message.type is MessageType.ALERT:
            try:
                code = decode_alert(message.body).code
            except ProtocolError as error:
                code = error.code
            if not is_known_code(code):
                code = "aborted"  # the log keeps known codes only, not attacker-chosen text
            if self._session is not None and self._session.state is SessionState.HELLO_DONE:
                self._session = None
                self._fail(code)
            return None
        if message.type is MessageType.RECORD and self._session is not None:
            return self._on_record(data)
        return self._fail("unexpected_message")

    def _on_hello(self, data: bytes) -> bytes:
        if self._locked_out():
            # Repeated hellos during a lockout are counted, not logged one by one: the RATE_LIMITED
            # event marks the lockout, and a flood cannot wash real events out of the ring.
            return self._suppressed()
        if self._session is not None:
            return self._fail("unexpected_message")
        session = DoorSession(
            door_id=self.door_id, door_key=self.door_key, max_message_size=self._max_message_size
        )
        self.stats.sessions += 1
        if self.battery is not None:
            self.battery.drain(self.battery.per_session)
        try:
            reply = session.receive_hello(data, self.status())
        except ProtocolError as error:
            return self._fail(error.code)
        self.stats.x25519 += 2  # ephemeral key generation and the exchange
        self.stats.ed25519_signs += 1
        self._session = session
        self._session_started_s = self.clock.uptime()
        return reply

    def _on_record(self, data: bytes) -> bytes | None:
        session = self._session
        assert session is not None
        try:
            return self._on_request(session, data)
        except PowerCut:
            # Nothing is answered; what flash holds (the write-ahead) is found on power-up.
            self.power_loss()
            return None

    def _on_request(self, session: DoorSession, data: bytes) -> bytes:
        try:
            request = session.receive_request(data)
        except ProtocolError as error:
            return self._fail(error.code, self._credential)
        try:
            if request.first:
                self._credential = self._authenticate(session, request)
            assert self._credential is not None
            response = self._execute(request, self._credential, session)
        except Refusal as refusal:
            event = self._refuse(refusal.code, refusal.credential or self._credential)
            reply = session.respond(Response(refusal.code, receipt=event.raw))
            self._session = None
            return reply
        return session.respond(response)

    def _authenticate(self, session: DoorSession, request: Request) -> Credential:
        # What the peer carries (time token, denylist) is checked now but applied only once the
        # peer has shown a valid key: the credential's signature and the proof of possession.
        now = door_now = self.clock.now()
        token = None
        if request.time_token is not None:
            token = self._verify_time_token(request.time_token, session.nonce, now)
            now = token.time
        listed = self.flash.denylist
        if request.denylist_update is not None:
            listed = self._verify_denylist(request.denylist_update, now)
        assert request.credential is not None
        assert request.counter is not None
        tolerance = self._tolerance(now) if token is None else clock_tolerance(now, now)
        credential: Credential | None = None
        try:
            self.stats.ed25519_verifications += 1
            try:
                credential = verify_credential(
                    request.credential,
                    keyring=self.flash.keyring,
                    door_id=self.door_id,
                    door_kind=self.kind,
                    door_groups=self.door_groups,
                    now=now,
                    clock_tolerance=tolerance,
                    denylist=listed,
                    partner_keyring=self._partner_keys(),
                )
            except ProtocolError as error:
                # Locking is always allowed: a door that lost its time still locks for a key
                # that passed every check but the time ones (which come last).
                if error.code != "time_unknown" or request.command is not Command.LOCK:
                    raise
                credential = self._decode(request.credential)
            self.stats.ecdsa_verifications += 1
            session.verify_possession(credential.device_key)
        except ProtocolError as error:
            if credential is None:
                credential = self._attribute(request.credential)
            if credential is not None and self._holds_key(session, credential):
                # A genuine key refused by policy (e.g. blocked by the very list it carries):
                # the server-signed objects it brought still count.
                self._commit(token, door_now, listed)
            raise Refusal(error.code, credential) from None
        self._commit(token, door_now, listed)
        self._check_freshness(request, credential, now, tolerance)
        accept_use(self.flash.subjects, credential, request.counter)
        self.limiter.record_success()
        return credential

    def _check_freshness(
        self, request: Request, credential: Credential, now: datetime | None, tolerance: timedelta
    ) -> None:
        """Keep the session's proof of freshness; refuse a command that needs one without it."""
        self._freshness = None
        try:
            self.stats.ed25519_verifications += request.freshness is not None
            self._freshness = verify_freshness(
                request.freshness,
                keyring=self.flash.keyring,
                device_key_id=credential.device_key.key_id,
                now=now,
                clock_tolerance=tolerance,
            )
        except ProtocolError as error:
            self._freshness_refusal = error.code
        self._require_freshness(request.command, credential)

    def _require_freshness(self, command: Command, credential: Credential) -> None:
        if command in FRESHNESS_EXEMPT:
            return
        proof = self._freshness
        now = self.clock.now()
        if proof is None:
            raise Refusal(self._freshness_refusal, credential)
        if now is None or now - self._tolerance(now) >= proof.expires:
            raise Refusal("freshness_expired", credential)
        if not self.flash.denylist.holds(self._own_prefix, proof.denylist_version):
            raise Refusal("denylist_required", credential)

    def _decode(self, raw: bytes) -> Credential:
        return decode_credential(
            raw, keyring=self.flash.keyring, partner_keyring=self._partner_keys()
        )

    def _attribute(self, raw: bytes) -> Credential | None:
        """Whose authentic credential was refused by policy (for the log), if it decodes."""
        try:
            return self._decode(raw)
        except ProtocolError:
            return None

    def _holds_key(self, session: DoorSession, credential: Credential) -> bool:
        """Whether the peer proved it holds the device key of this authentic credential."""
        if session.authenticated:
            return True
        try:
            self.stats.ecdsa_verifications += 1
            session.verify_possession(credential.device_key)
        except ProtocolError:
            return False
        return True

    def _commit(
        self, token: TimeToken | None, door_now: datetime | None, listed: DenylistState
    ) -> None:
        if token is not None:
            self._set_time(token, door_now)
        if listed is not self.flash.denylist:
            self._store_denylist(listed)

    def _verify_time_token(self, token: bytes, nonce: bytes, now: datetime | None) -> TimeToken:
        try:
            self.stats.ed25519_verifications += 1
            return accept_time_token(
                token,
                keyring=self.flash.keyring,
                door_id=self.door_id,
                last_token_time=self.flash.last_token_time,
                door_now=now,
                expected_nonce=nonce,
            )
        except ProtocolError as error:
            raise Refusal(error.code) from None

    def _set_time(self, accepted: TimeToken, now: datetime | None) -> None:
        # How far off the door's clock was, for the fleet's health view (``offset_ms=…``).
        offset = None if now is None else round((now - accepted.time).total_seconds() * 1000)
        self.clock.set(accepted.time)
        self.flash.last_token_time = accepted.time
        reason = None if offset is None else f"offset_ms={offset}"
        if accepted.correction:
            reason = f"corrected,{reason}" if reason else "corrected"
        self._log(EventKind.TIME_SET, reason=reason)

    def _apply_time_token(
        self, token: bytes, nonce: bytes, now: datetime | None
    ) -> datetime | None:
        accepted = self._verify_time_token(token, nonce, now)
        self._set_time(accepted, now)
        return accepted.time

    def _verify_denylist(self, update: bytes, now: datetime | None) -> DenylistState:
        try:
            self.stats.ed25519_verifications += 1
            return self.flash.denylist.apply(update, keyring=self.flash.keyring, now=now)
        except ProtocolError as error:
            raise Refusal(error.code) from None

    def _apply_denylist(self, update: bytes, now: datetime | None) -> None:
        self._store_denylist(self._verify_denylist(update, now))

    def _store_denylist(self, state: DenylistState) -> None:
        changed = state.version != self.flash.denylist.version
        self.flash.denylist = state
        if changed:
            # The version goes into the signed log, so the server learns which doors have it.
            # (Pieces of a catch-up are not logged one by one: the version they complete is.)
            self._log(EventKind.DENYLIST_UPDATED, reason=f"v{state.version}")

    def _denylist_data(self) -> dict[str, object]:
        """What the phone needs to go on with a catch-up: the version held in full and the
        ranges held from pieces of the phone's newer list."""
        state = self.flash.denylist
        target = max((v for _, _, v in state.coverage), default=state.version)
        if self._freshness is not None:
            target = max(target, self._freshness.denylist_version)
        return {"version": state.version, "held": state.held_ranges(target)[:MAX_HELD_RANGES]}

    # --- commands ---

    def _execute(self, request: Request, credential: Credential, session: DoorSession) -> Response:
        ref = session.request_ref
        if request.command in ADMIN_COMMANDS and not is_admin(credential):
            raise Refusal("not_admin", credential)
        if not request.first:
            # A later request in the session: the time token or denylist rides along too.
            if request.time_token is not None:
                self._apply_time_token(request.time_token, session.nonce, self.clock.now())
            if request.denylist_update is not None:
                self._apply_denylist(request.denylist_update, self.clock.now())
            self._recheck(credential)
            self._require_freshness(request.command, credential)
        command = request.command
        if command is Command.UNLOCK:
            return self._actuation(credential, ref, unlock=True)
        if command is Command.LOCK:
            return self._actuation(credential, ref, unlock=False)
        if command is Command.STATUS:
            return Response(data=self._status_data())
        if command is Command.READ_EVENTS:
            if not may_read_log(credential):
                raise Refusal("not_permitted", credential)
            return Response(data=self._read_events(request.args))
        if command is Command.TIME_SYNC:
            if request.time_token is None:
                raise Refusal("invalid_argument", credential)
            return Response(data={"time": self._epoch()})
        if command is Command.DENYLIST_UPDATE:
            if request.denylist_update is None:
                raise Refusal("invalid_argument", credential)
            return Response(
                data={
                    "denylist_version": self.flash.denylist.version,
                    "denylist": self._denylist_data(),
                }
            )
        if command is Command.CONFIGURE:
            return self._configure(request.args, credential, ref)
        if command is Command.DECOMMISSION:
            return decommission(self, credential, ref)
        raise Refusal("unknown_command", credential)  # pragma: no cover - enum is closed

    def _tolerance(self, now: datetime | None) -> timedelta:
        return clock_tolerance(now, self.flash.last_token_time)

    def _recheck(self, credential: Credential) -> None:
        now = self.clock.now()
        recheck(
            credential,
            now=now,
            denylist=self.flash.denylist,
            door_id=self.door_id,
            tolerance=self._tolerance(now),
        )

    def _actuation(self, credential: Credential, ref: bytes | None, *, unlock: bool) -> Response:
        if unlock and self.battery is not None and self.battery.in_reserve:
            raise Refusal("battery_empty", credential)
        # Write-ahead: the intent is in flash before the motor turns, the outcome after.
        self.flash.actuating = "unlock" if unlock else "lock"
        result = self._actuate(unlock=unlock)
        if result is not None:
            self.flash.actuating = None
            raise Refusal(result, credential)
        kind = self.unlock_event if unlock else EventKind.LOCKED
        receipt = self._log(kind, credential=credential, ref=ref)
        self.flash.actuating = None
        data: dict[str, object] = {"state": self.state.value}
        if self.flash.denylist.coverage or (
            self._freshness is not None
            and self._freshness.denylist_version > self.flash.denylist.version
        ):
            data["denylist"] = self._denylist_data()
        return Response(data=data, receipt=receipt.raw)

    def _actuate(self, *, unlock: bool) -> str | None:
        """Move the bolt or pulse the relay; return a refusal code (e.g. ``jammed``) or None."""
        raise NotImplementedError

    def _drain_actuation(self) -> None:
        self.stats.actuations += 1
        if self.battery is None:
            return
        self.battery.drain(self.battery.per_actuation)
        if self.battery.low and not self._low_battery_logged:
            self._low_battery_logged = True
            self._log(EventKind.LOW_BATTERY, reason=f"battery={int(self.battery.percent)}")

    def _status_data(self) -> dict[str, object]:
        return {
            "state": self.state.value,
            "battery": 100 if self.battery is None else round(self.battery.percent),
            "battery_low": bool(self.battery is not None and self.battery.low),
            "time": self._epoch(),
            "denylist_version": self.flash.denylist.version,
            "next_seq": self.flash.chain.next_seq,
            "events_dropped": self.flash.events_dropped,
            "auto_relock_s": int(self.flash.config.auto_relock_s),
            "ajar_after_s": int(self.flash.config.ajar_after_s),
            "door_open": self.flash.leaf_open,
            "alarm": None if self.flash.leaf_alarm is None else self.flash.leaf_alarm.value,
            "firmware": FIRMWARE_VERSION,
        }

    def _read_events(self, args: dict[str, object] | object) -> dict[str, object]:
        from_seq, limit = read_events_range(args, self._credential)
        return self.flash.read_events(from_seq, limit)

    def _configure(
        self, args: dict[str, object] | object, credential: Credential, ref: bytes | None
    ) -> Response:
        flash = self.flash
        config, flash.keyring, partners = door_configuration(
            args,
            config=flash.config,
            keyring=flash.keyring,
            partner_keyring=self._partner_keys(),
            credential=credential,
        )
        flash.partner_keyring = flash.partner_keyring if partners is None else partners
        flash.config.auto_relock_s = config.auto_relock_s
        flash.config.relay_pulse_ms = config.relay_pulse_ms
        flash.config.ajar_after_s = config.ajar_after_s
        receipt = self._log(EventKind.CONFIG_CHANGED, credential=credential, ref=ref)
        return Response(data={"auto_relock_s": int(config.auto_relock_s)}, receipt=receipt.raw)

    # --- the event log ---

    def _epoch(self) -> int | None:
        now = self.clock.now()
        return None if now is None else int(now.timestamp())

    def _log(
        self,
        kind: EventKind,
        *,
        credential: Credential | None = None,
        reason: str | None = None,
        ref: bytes | None = None,
        at: datetime | None = None,
    ) -> SignedEvent:
        """Sign an event into the door's log (see :meth:`PersistentState.log` for the ring's
        overflow rule); ``at`` defaults to now by the door's clock."""
        now = self.clock.now()
        signed = self.flash.log(
            self.door_key,
            kind,
            when=at or now,
            now=now,
            credential=credential,
            reason=reason,
            ref=ref,
        )
        self.stats.ed25519_signs += len(signed)
        return signed[-1]
