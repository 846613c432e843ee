"""The installer's phone at a door: commissioning (put it in service) and decommissioning.

Both run over the same machinery as the key app (:class:`~carekey.link.driver.PhoneDriver`: its
device key, its monotonic use counter, its time tokens, denylist and proof of freshness), in one
door session over one :class:`~carekey.link.transport.Transport`, with the installer's
credential for that door (rights ``admin`` and ``installer``, see
:class:`~carekey.protocol.credential.Right`).

**The door's public key.** The protocol never sends the door key: the phone must already know it
and checks the door's signed DOOR_HELLO with it before the credential leaves the phone
(``door_auth_failed`` otherwise). For a new door it comes from the door's pairing label or QR
code (32 raw Ed25519 bytes), passed in as ``door_public_key``. The report carries that key and
what the door signed with it (the receipts): the server registers the key only once those
verify, so a wrong label can never be recorded as the door's key.

:func:`commission_over_link`, in one session:

1. ``TIME_SYNC`` with a challenge-bound time token (the door's nonce of this session) as the
   first request, so a door that has never known the time can check the credential at all;
2. ``CONFIGURE`` once per issuer key (``add_issuer_key``) and, on an entrance or gate
   controller, once per partner issuer key (``add_partner_issuer_key``), then the settings;
3. a test open and lock: ``UNLOCK`` then ``LOCK``, each receipt verified with the door key,
   bound to its request, of the expected kind;
4. ``STATUS``: the lock state after, the firmware version.

:func:`decommission_over_link`, in one session: ``READ_EVENTS`` pages until the door's log is
read to its end (the upload the server still needs), then ``DECOMMISSION`` and its
DECOMMISSIONED receipt.

A step the door refuses, a receipt missing or not verifying, or a link failure raises
:class:`CommissioningError` (``code``, ``step``, and the steps done before it). Nothing
half-done is returned as a report.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from carekey.link.driver import PhoneDriver
from carekey.link.logread import LOG_PAGE_LIMIT, page_int
from carekey.link.transport import Transport
from carekey.protocol.errors import ProtocolError
from carekey.protocol.events import Event, EventKind, decode_event, verify_receipt
from carekey.protocol.framing import Reassembler, fragment
from carekey.protocol.keys import DoorPublicKey, Ed25519Public, IssuerPublicKey
from carekey.protocol.session import (
    Command,
    DoorStatus,
    PhoneSession,
    Response,
    SessionError,
)

_OPENED: Final = (EventKind.UNLOCKED, EventKind.RELAY_PULSE)
_CONFIGURED: Final = (EventKind.CONFIG_CHANGED,)
_DECOMMISSIONED: Final = (EventKind.DECOMMISSIONED,)

MAX_LOG_PAGES: Final = 64
"""Pages a decommissioning reads at most (a full ring of 256 events is about 16)."""

COMMISSIONING_MESSAGES: Final[dict[str, tuple[str, str]]] = {
    "receipt_missing": (
        "Låsen gav ingen kvittering for trinnet.",
        "The lock gave no receipt for the step.",
    ),
    "receipt_mismatch": (
        "Låsens kvittering passer ikke til trinnet.",
        "The lock's receipt does not match the step.",
    ),
    "time_token_missing": (
        "Telefonen har intet tidsstempel til låsen; gå online og prøv igen.",
        "The phone has no time token for the lock; go online and try again.",
    ),
    "log_incomplete": (
        "Låsens log kunne ikke læses til ende; låsen blev ikke taget ud af drift.",
        "The lock's log could not be read to its end; the lock was not decommissioned.",
    ),
    "link_failed": (
        "Forbindelsen til låsen blev afbrudt.",
        "The connection to the lock was lost.",
    ),
}


class CommissioningError(SessionError):
    """A step of commissioning or decommissioning failed: ``code`` (the door's refusal code or
    one of :data:`COMMISSIONING_MESSAGES`), ``step`` (the command, e.g. ``configure``) and
    ``completed`` (the steps the door had done before it, in order)."""

    def __init__(
        self, code: str, step: str, completed: Sequence[str] = (), detail: str | None = None
    ) -> None:
        super().__init__(code, detail)
        self.step = step
        self.completed = tuple(completed)
        own = COMMISSIONING_MESSAGES.get(code)
        if own is not None:
            self.message_da, self.message_en = own
            self.args = (f"{code}: {own[1]} / {own[0]}" + (f" ({detail})" if detail else ""),)


@dataclass(frozen=True, slots=True)
class SignedStep:
    """One step the door signed: the receipt as received and the event it verified as."""

    command: str
    receipt: bytes
    event: Event


@dataclass(frozen=True, slots=True)
class CommissioningReport:
    """What the installer's phone reports after commissioning a door."""

    door_id: bytes
    door_public_key: bytes
    """The door's Ed25519 public key (32 raw bytes, from its pairing label), which verified the
    door's hello and every receipt below."""
    time_set: datetime
    """The time the door holds after TIME_SYNC (whole seconds, UTC)."""
    issuer_key_ids: tuple[bytes, ...]
    partner_issuer_key_ids: tuple[bytes, ...]
    configured: tuple[SignedStep, ...]
    """The CONFIG_CHANGED receipts, one per CONFIGURE."""
    test_open: SignedStep
    test_lock: SignedStep
    lock_state: str
    """The state STATUS reported after the test (``locked`` when all went well)."""
    firmware_version: str | None
    status: Mapping[str, object]
    """STATUS's data as the door sent it (unsigned: information only)."""


@dataclass(frozen=True, slots=True)
class DecommissionReport:
    """What the installer's phone reports after decommissioning a door."""

    door_id: bytes
    door_public_key: bytes
    receipt: SignedStep
    """The DECOMMISSIONED receipt, signed by the door key."""
    events: tuple[bytes, ...]
    """The door's signed events read before decommissioning, oldest first (for the upload)."""
    seqs: tuple[int, ...]
    events_dropped: int | None


class _Visit:
    """One session run step by step: each request's receipt checked against its own ref."""

    def __init__(
        self,
        transport: Transport,
        driver: PhoneDriver,
        door_id: bytes,
        door_key: DoorPublicKey,
        credential: bytes,
    ) -> None:
        self.transport = transport
        self.driver = driver
        self.door_id = door_id
        self.door_key = door_key
        self.done: list[str] = []
        self._reassembler = Reassembler(mtu=transport.mtu)
        driver.counter += 1
        self.session = PhoneSession(
            door_id=door_id,
            door_public_key=door_key,
            device_key=driver.device_key,
            credential=credential,
            counter=driver.counter,
        )
        self.status: DoorStatus | None = None

    def _exchange(self, message: bytes, step: str) -> bytes:
        try:
            return PhoneDriver._exchange(self.transport, self._reassembler, message)
        except ProtocolError as error:
            raise CommissioningError("link_failed", step, self.done, error.code) from None

    def hello(self) -> DoorStatus:
        try:
            reply = self._exchange(self.session.hello(), "hello")
            self.status = self.session.receive_door_hello(reply)
        except CommissioningError:
            raise
        except ProtocolError as error:
            if error.code == "door_auth_failed":
                abort = self.session.abort(error.code)
                self.transport.send(fragment(abort, mtu=self.transport.mtu))
            raise CommissioningError(error.code, "hello", self.done, error.detail) from None
        return self.status

    def first_extras(self, *, challenge_token: bool) -> dict[str, bytes | None]:
        """The time token, denylist update and proof of freshness of the first request."""
        status, driver, nonce = self.status, self.driver, self.session.door_nonce
        assert status is not None
        token = None
        if driver.time_tokens is not None and (challenge_token or status.wants_time):
            token = driver.time_tokens(
                self.door_id, nonce if challenge_token or not status.time_known else None
            )
        carried = driver.carried() if driver.carried else None
        update = None
        if carried is not None:
            update = carried.first_request(self.door_id, status.denylist_version)
        elif driver.denylist is not None:
            update = driver.denylist(status.denylist_version)
        return {
            "time_token": token,
            "denylist_update": update,
            "freshness": driver.freshness() if driver.freshness else None,
        }

    def ask(
        self,
        command: Command,
        args: Mapping[str, object] | None = None,
        *,
        step: str | None = None,
        receipt: tuple[EventKind, ...] = (),
        extras: Mapping[str, bytes | None] | None = None,
    ) -> tuple[Response, SignedStep | None]:
        """Send one request; raise unless the door says ok and (``receipt``) signed one of
        these event kinds for this very request."""
        name = step or command.name.lower()
        extra = dict(extras or {})
        try:
            record = self.session.request(
                command,
                args,
                time_token=extra.get("time_token"),
                denylist_update=extra.get("denylist_update"),
                freshness=extra.get("freshness"),
            )
        except ProtocolError as error:
            raise CommissioningError(error.code, name, self.done, error.detail) from None
        ref = self.session.request_ref
        answer = self._exchange(record, name)
        try:
            response = self.session.receive_response(answer)
        except ProtocolError as error:
            raise CommissioningError(error.code, name, self.done, error.detail) from None
        if not response.ok:
            raise CommissioningError(response.result, name, self.done)
        signed = None
        if receipt:
            signed = self._check_receipt(response, ref, name, receipt)
        self.done.append(name)
        return response, signed

    def signed(
        self,
        command: Command,
        args: Mapping[str, object] | None = None,
        *,
        step: str,
        kinds: tuple[EventKind, ...],
    ) -> SignedStep:
        """:meth:`ask` for a command the door answers with a receipt of one of ``kinds``."""
        _, signed = self.ask(command, args, step=step, receipt=kinds)
        assert signed is not None  # ask checks the receipt whenever kinds are given
        return signed

    def _check_receipt(
        self, response: Response, ref: bytes | None, step: str, kinds: tuple[EventKind, ...]
    ) -> SignedStep:
        if response.receipt is None:
            raise CommissioningError("receipt_missing", step, self.done)
        try:
            event = verify_receipt(
                response.receipt, door_key=self.door_key, door_id=self.door_id, ref=ref
            )
        except ProtocolError as error:
            raise CommissioningError("receipt_mismatch", step, self.done, error.code) from None
        if event.kind not in kinds:
            raise CommissioningError("receipt_mismatch", step, self.done, event.kind.name)
        return SignedStep(step, response.receipt, event)


def _door_key(raw: bytes | DoorPublicKey) -> DoorPublicKey:
    if isinstance(raw, DoorPublicKey):
        return raw
    try:
        return DoorPublicKey(Ed25519Public(bytes(raw)))
    except (ProtocolError, ValueError):
        raise CommissioningError("invalid_argument", "door_key", (), "32 raw bytes") from None


def commission_over_link(
    transport: Transport,
    *,
    driver: PhoneDriver,
    door_id: bytes,
    door_public_key: bytes | DoorPublicKey,
    credential: bytes,
    issuer_keys: Sequence[IssuerPublicKey] = (),
    partner_issuer_keys: Sequence[IssuerPublicKey] = (),
    settings: Mapping[str, int] | None = None,
) -> CommissioningReport:
    """Commission the door at the other end of ``transport`` (see the module docstring).

    ``credential`` is the installer's credential for this door (admin and installer rights),
    ``door_public_key`` the door's key from its pairing label (32 raw bytes), ``driver`` the
    installer phone's driver: it must have a ``time_tokens`` source (the first step is
    TIME_SYNC with a token bound to this session's nonce) and a proof of freshness for the
    test open. ``issuer_keys`` and ``partner_issuer_keys`` (controllers only) are added one
    CONFIGURE each, ``settings`` (``auto_relock_s``, ``relay_pulse_ms``, ``ajar_after_s``) in one
    more. Raises :class:`CommissioningError` when any step fails."""
    door_key = _door_key(door_public_key)
    visit = _Visit(transport, driver, door_id, door_key, credential)
    visit.hello()
    extras = visit.first_extras(challenge_token=True)
    if extras["time_token"] is None:
        raise CommissioningError("time_token_missing", "time_sync")
    synced, _ = visit.ask(Command.TIME_SYNC, extras=extras)
    when = page_int(synced.data.get("time"))
    if when is None:
        raise CommissioningError("time_unknown", "time_sync", visit.done)
    configured: list[SignedStep] = []
    changes: list[tuple[str, Mapping[str, object]]] = [
        ("add_issuer_key", {"add_issuer_key": [key.issuer, key.key.raw]}) for key in issuer_keys
    ]
    changes += [
        ("add_partner_issuer_key", {"add_partner_issuer_key": [key.issuer, key.key.raw]})
        for key in partner_issuer_keys
    ]
    if settings:
        changes.append(("settings", dict(settings)))
    for name, args in changes:
        configured.append(visit.signed(Command.CONFIGURE, args, step=name, kinds=_CONFIGURED))
    opened = visit.signed(Command.UNLOCK, step="test_open", kinds=_OPENED)
    locked = visit.signed(Command.LOCK, step="test_lock", kinds=(EventKind.LOCKED,))
    status, _ = visit.ask(Command.STATUS)
    state = status.data.get("state")
    firmware = status.data.get("firmware")
    return CommissioningReport(
        door_id=door_id,
        door_public_key=door_key.key.raw,
        time_set=datetime.fromtimestamp(when, UTC),
        issuer_key_ids=tuple(key.kid for key in issuer_keys),
        partner_issuer_key_ids=tuple(key.kid for key in partner_issuer_keys),
        configured=tuple(configured),
        test_open=opened,
        test_lock=locked,
        lock_state=state if isinstance(state, str) else "unknown",
        firmware_version=firmware if isinstance(firmware, str) else None,
        status=dict(status.data),
    )


def decommission_over_link(
    transport: Transport,
    *,
    driver: PhoneDriver,
    door_id: bytes,
    door_public_key: bytes | DoorPublicKey,
    credential: bytes,
    from_seq: int = 1,
) -> DecommissionReport:
    """Decommission the door at the other end of ``transport``: read its log from
    ``from_seq`` to its end, then DECOMMISSION and verify the DECOMMISSIONED receipt. A log
    that cannot be read to its end (refused, link lost, more than :data:`MAX_LOG_PAGES` pages)
    stops before the door forgets anything. Raises :class:`CommissioningError`."""
    door_key = _door_key(door_public_key)
    visit = _Visit(transport, driver, door_id, door_key, credential)
    visit.hello()
    extras: Mapping[str, bytes | None] | None = visit.first_extras(challenge_token=False)
    events: list[bytes] = []
    seqs: list[int] = []
    dropped: int | None = None
    position = max(1, from_seq)
    for _ in range(MAX_LOG_PAGES):
        page, _ = visit.ask(
            Command.READ_EVENTS,
            {"from_seq": position, "limit": LOG_PAGE_LIMIT},
            step="read_events",
            extras=extras,
        )
        extras = None
        following = page_int(page.data.get("next_seq"))
        dropped = page_int(page.data.get("events_dropped"))
        raws = page.data.get("events")
        top = position - 1
        for raw in raws if isinstance(raws, list) else []:
            try:
                seq = decode_event(raw, door_key=door_key).event.seq
            except (ProtocolError, TypeError):
                continue
            if seq >= position:
                events.append(raw)
                seqs.append(seq)
                top = max(top, seq)
        if following is None:
            raise CommissioningError("log_incomplete", "read_events", visit.done)
        if top + 1 >= following:
            break  # read to the end of the door's log
        if top < position:
            raise CommissioningError("log_incomplete", "read_events", visit.done)
        position = top + 1
    else:
        raise CommissioningError("log_incomplete", "read_events", visit.done)
    receipt = visit.signed(Command.DECOMMISSION, step="decommission", kinds=_DECOMMISSIONED)
    return DecommissionReport(
        door_id=door_id,
        door_public_key=door_key.key.raw,
        receipt=receipt,
        events=tuple(events),
        seqs=tuple(seqs),
        events_dropped=dropped,
    )
