"""The door side of an online entrance or gate controller: commands in, signed reports out.

:class:`OnlineController` wraps one door's firmware (normally an
:class:`~carekey.devices.controller.EntranceController`) and speaks the messages of
:mod:`carekey.protocol.online` through a ``publish(topic, payload, retain)`` callable. It is
synchronous and knows no transport: :mod:`carekey.devices.mqtt` runs it over aiomqtt, the
whole-day simulation and the tests over :class:`carekey.sim.bus.MemoryBus`.

What the door takes from the broker (which it trusts for nothing):

* a command verifies with the door's **issuer** keyring (never the partner keyring), names this
  door (a denylist command may name none: every controller of the municipality), its ``iat``
  is within ``MAX_COMMAND_AGE`` of the door's clock (when the door knows the time) and its
  message id was not seen in the replay window (``command_replayed``);
* ``denylist``: each signed update is applied in order exactly as one a phone brings
  (its own signature, ``stale_denylist``, ``bad_delta_base``); an update of the version held is
  a harmless no-op. The broadcast on ``{prefix}/{issuer}/denylist`` is retained, so the broker
  hands it out again at every (re)connect: a broadcast denylist command whose id was seen is
  dropped quietly, and one older than ``MAX_COMMAND_AGE`` is still applied (each update
  carries its own signature and version, so an old one can roll nothing back);
* ``time``: a challenge token for one of the last :data:`RECENT_NONCES` nonces of the door's
  state reports (each nonce is taken once), checked and logged (TIME_SET) like a phone's;
* ``read_events``: the signed events from ``from_seq`` are published on the events topic;
* ``state``: a state report now.

A command taken is answered with a RESPONSE report ``ok`` (after its effect: the events or the
state report are published first).

Every refusal is logged as a signed REFUSED event (reason ``online:<code>``, ``ref`` = the
message id when it verified) and answered with a RESPONSE report (field 8: the message id when
it could be read, even from an unverified command; 9: the code). Refusals from the broker do not
count towards the BLE :class:`~carekey.devices.limits.FailureLimiter` (a flood on the broker
must not lock phones out); they have their own budget: at most ``refusals_per_minute`` are
logged and answered per minute of door uptime, the rest are only counted and summed up in one
RATE_LIMITED event (reason ``online:suppressed=<n>``) when the next minute begins. Both kinds
are refusals for the ring's eviction rule, so they never push other events out.
"""

from __future__ import annotations

import logging
import os
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from carekey.devices.decision import Refusal
from carekey.devices.decommission import FIRMWARE_VERSION
from carekey.protocol import cbor
from carekey.protocol.errors import DecodeError, ProtocolError
from carekey.protocol.events import EventKind
from carekey.protocol.keys import parse_sign1
from carekey.protocol.online import (
    CLAIM_COMMAND,
    CONNECTION_ID_BYTES,
    MAX_COMMAND_AGE,
    MAX_COMMAND_BYTES,
    MAX_EVENTS_PER_MESSAGE,
    MESSAGE_ID_BYTES,
    NONCE_BYTES,
    Command,
    CommandKind,
    ReportKind,
    Topics,
    decode_command,
    denylist_body,
    encode_events,
    issue_report,
    read_events_body,
)
from carekey.protocol.timetoken import decode_time_token

if TYPE_CHECKING:
    from carekey.devices.firmware import DoorFirmware

_LOGGER = logging.getLogger(__name__)

Publish = Callable[[str, bytes, bool], None]
"""``publish(topic, payload, retain)``: hand a message to the transport (QoS 1)."""

RECENT_NONCES: Final = 4
"""How many state-report nonces a TIME command may answer (the newest ones)."""
REPLAY_WINDOW_S: Final = 2 * MAX_COMMAND_AGE.total_seconds()
"""How long (door uptime) a message id is remembered: a command is fresh for
``MAX_COMMAND_AGE`` either side of its ``iat``, so it can come back at most this long after."""
MAX_REMEMBERED_IDS: Final = 4096
REFUSALS_PER_MINUTE: Final = 10
OK: Final = "ok"


class OnlineController:
    """One door's online logic around its firmware; see the module docstring for the rules."""

    def __init__(
        self,
        firmware: DoorFirmware,
        *,
        issuer: str,
        serial: str,
        prefix: str = "carekey/v1",
        publish: Publish,
        refusals_per_minute: int = REFUSALS_PER_MINUTE,
        published_seq: int | None = None,
    ) -> None:
        door_id = serial.encode()
        if firmware.door_id != door_id:
            raise ValueError(f"the serial {serial!r} is not the door id {firmware.door_id!r}")
        self.firmware = firmware
        self.serial = serial
        self.door_id = door_id
        self.topics = Topics(prefix, issuer)
        self.publish = publish
        self.refusals_per_minute = refusals_per_minute
        self.published_seq = (
            firmware.flash.chain.next_seq - 1 if published_seq is None else (published_seq)
        )
        """The last event seq published on the events topic (events after it are new)."""
        self._nonces: deque[bytes] = deque(maxlen=RECENT_NONCES)
        self._seen: OrderedDict[bytes, float] = OrderedDict()
        self._last_time_ms = 0
        self._connection: bytes | None = None
        self._budget_minute = -1
        self._budget_used = 0
        self.suppressed = 0
        """Refusals not logged in the current minute (summed into RATE_LIMITED later)."""
        self.suppressed_total = 0
        self.handled = 0
        self.refused = 0

    # --- topics ---

    def topic(self, leaf: str) -> str:
        """This door's ``cmd``, ``state``, ``resp``, ``events`` or ``status`` topic."""
        return self.topics.door(self.serial, leaf)

    def subscriptions(self) -> list[str]:
        """What the door subscribes to: its command topic and the municipality's denylist."""
        return [self.topic("cmd"), self.topics.denylist]

    # --- reports ---

    def _time_ms(self) -> int:
        now = self.firmware.clock.now()
        if now is None:
            return 0
        self._last_time_ms = max(self._last_time_ms + 1, int(now.timestamp() * 1000))
        return self._last_time_ms

    def _report(self, kind: ReportKind, fields: dict[int, object] | None = None) -> bytes:
        self.firmware.stats.ed25519_signs += 1
        fields = dict(fields or {})
        if self._connection is not None:
            fields[10] = self._connection
        return issue_report(
            self.firmware.door_key,
            door_id=self.door_id,
            kind=kind,
            time_ms=self._time_ms(),
            fields=fields,
        )

    def will(self) -> tuple[str, bytes]:
        """The last will for the broker: the status topic and an OFFLINE report signed now.
        Each call starts a new *connection id* that this will and every later report carry, so
        the server can tell the will of an older connection (the broker publishes it when the
        door reconnects under the same client id, possibly after the new state) from this
        connection's."""
        self._connection = os.urandom(CONNECTION_ID_BYTES)
        return self.topic("status"), self._report(ReportKind.OFFLINE)

    def state_report(self) -> bytes:
        """A signed STATE report with a fresh nonce (remembered for a TIME command)."""
        self.firmware.tick()
        status = self.firmware.status()
        nonce = os.urandom(NONCE_BYTES)
        self._nonces.append(nonce)
        return self._report(
            ReportKind.STATE,
            {
                2: status.denylist_version,
                3: status.event_seq,
                4: int(status.flags),
                5: status.battery_percent,
                6: nonce,
                7: FIRMWARE_VERSION,
            },
        )

    def on_connect(self) -> None:
        """The transport is connected and subscribed: publish the state (retained), and the
        events logged while the door was offline."""
        self.publish(self.topic("state"), self.state_report(), True)
        self.publish_new_events()

    def report_state(self) -> None:
        """The heartbeat: a STATE report (retained), then any new events."""
        self.publish(self.topic("state"), self.state_report(), True)
        self.publish_new_events()

    def _respond(self, message_id: bytes | None, code: str) -> None:
        fields: dict[int, object] = {2: self.firmware.flash.denylist.version, 9: code}
        if message_id is not None:
            fields[8] = message_id
        self.publish(self.topic("resp"), self._report(ReportKind.RESPONSE, fields), False)

    # --- events ---

    def publish_new_events(self) -> int:
        """Publish the signed events logged since the last published seq; return how many."""
        return self._publish_events(self.published_seq + 1)

    def _publish_events(self, from_seq: int) -> int:
        flash = self.firmware.flash
        pinned = flash.pinned_seq()
        batch: list[bytes] = []
        sent = 0
        for event in list(flash.ring):
            seq = event.event.seq
            if seq < from_seq:
                continue
            batch.append(event.raw)
            self.published_seq = max(self.published_seq, seq)
            if seq == pinned:
                flash.overflow_noted = False  # the marker is out: the episode is over
            if len(batch) >= MAX_EVENTS_PER_MESSAGE:
                self.publish(self.topic("events"), encode_events(batch), False)
                sent += len(batch)
                batch = []
        if batch:
            self.publish(self.topic("events"), encode_events(batch), False)
            sent += len(batch)
        # Events evicted before they were published are gaps the server reads as such.
        self.published_seq = max(self.published_seq, flash.chain.next_seq - 1)
        return sent

    # --- commands ---

    def handle(self, topic: str, payload: bytes) -> None:
        """One message from the broker on a subscribed topic."""
        if topic not in self.subscriptions():
            return
        try:
            self._handle(topic, payload)
        except Exception:
            # A bug reached by some input must not stop the door's network side.
            _LOGGER.exception("door %r: internal error in an online command", self.door_id)
            try:
                self._refuse("internal_error", None, None)
            except Exception:
                _LOGGER.exception("door %r: could not log the internal error", self.door_id)
        self.publish_new_events()

    def _handle(self, topic: str, payload: bytes) -> None:
        firmware = self.firmware
        firmware.tick()
        self._budget_tick()
        keyring = firmware.flash.keyring
        now = firmware.clock.now()
        try:
            command = decode_command(payload, keyring=keyring, door_id=self.door_id, door_now=now)
        except ProtocolError as error:
            lenient = self._lenient_broadcast(error, payload, topic)
            if lenient is None:
                self._refuse(error.code, _unverified_message_id(payload), None)
                return
            command = lenient
        if command.message_id in self._seen:
            if command.door_id is None and command.kind is CommandKind.DENYLIST:
                return  # the retained broadcast again, after a reconnect
            self._refuse("command_replayed", command.message_id, command.message_id)
            return
        self._remember(command.message_id)
        self.handled += 1
        try:
            self._execute(command)
        except (Refusal, ProtocolError) as error:
            self._refuse(error.code, command.message_id, command.message_id)
            return
        self._respond(command.message_id, OK)

    def _lenient_broadcast(
        self, error: ProtocolError, payload: bytes, topic: str
    ) -> Command | None:
        """A stale broadcast denylist on the denylist topic (the retained one) is still taken."""
        if error.code != "stale_command" or topic != self.topics.denylist:
            return None
        command = decode_command(
            payload, keyring=self.firmware.flash.keyring, door_id=self.door_id, door_now=None
        )
        if command.kind is CommandKind.DENYLIST and command.door_id is None:
            return command
        return None

    def _execute(self, command: Command) -> None:
        firmware = self.firmware
        if command.kind is CommandKind.DENYLIST:
            for update in denylist_body(command.body):
                state = firmware._verify_denylist(update, firmware.clock.now())
                firmware._store_denylist(state)
        elif command.kind is CommandKind.TIME:
            self._set_time(command.body)
        elif command.kind is CommandKind.READ_EVENTS:
            self._publish_events(read_events_body(command.body))
        elif command.kind is CommandKind.STATE:
            if command.body != {}:
                raise DecodeError("malformed", "state body")
            self.publish(self.topic("state"), self.state_report(), True)

    def _set_time(self, body: object) -> None:
        firmware = self.firmware
        if not isinstance(body, bytes):
            raise DecodeError("malformed", "time body")
        firmware.stats.ed25519_verifications += 1
        nonce = decode_time_token(body, keyring=firmware.flash.keyring).nonce
        if nonce is None:
            raise Refusal("challenge_required")
        if nonce not in self._nonces:
            raise Refusal("wrong_nonce")
        now = firmware.clock.now()
        accepted = firmware._verify_time_token(body, nonce, now)
        self._nonces.remove(nonce)
        firmware._set_time(accepted, now)

    def _remember(self, message_id: bytes) -> None:
        uptime = self.firmware.clock.uptime()
        seen = self._seen
        while seen and (
            len(seen) >= MAX_REMEMBERED_IDS or next(iter(seen.values())) <= uptime - REPLAY_WINDOW_S
        ):
            seen.popitem(last=False)
        seen[message_id] = uptime

    # --- refusals ---

    def _budget_tick(self) -> None:
        minute = int(self.firmware.clock.uptime() // 60)
        if minute == self._budget_minute:
            return
        self._budget_minute, self._budget_used = minute, 0
        if self.suppressed:
            self.firmware._log(
                EventKind.RATE_LIMITED, reason=f"online:suppressed={self.suppressed}"
            )
            self.suppressed = 0

    def _refuse(self, code: str, answer_id: bytes | None, ref: bytes | None) -> None:
        """Log the refusal (within the budget) and answer it."""
        self.refused += 1
        self._budget_tick()
        if self._budget_used >= self.refusals_per_minute:
            self.suppressed += 1
            self.suppressed_total += 1
            return
        self._budget_used += 1
        self.firmware._log(EventKind.REFUSED, reason=f"online:{code}"[:64], ref=ref)
        self._respond(answer_id, code)


def _unverified_message_id(payload: bytes) -> bytes | None:
    """The message id a command claims, read without its signature (for the answer only)."""
    try:
        message = parse_sign1(payload, max_bytes=MAX_COMMAND_BYTES)
        claims = cbor.loads(
            message.payload, max_bytes=MAX_COMMAND_BYTES, max_depth=4, max_items=4096
        )
    except (ProtocolError, ValueError):
        return None
    inner = claims.get(CLAIM_COMMAND) if isinstance(claims, dict) else None
    message_id = inner.get(3) if isinstance(inner, dict) else None
    if isinstance(message_id, bytes) and len(message_id) == MESSAGE_ID_BYTES:
        return message_id
    return None
