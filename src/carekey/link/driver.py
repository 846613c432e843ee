"""The phone side of a door visit: runs a :class:`PhoneSession` over a :class:`Transport`.

The key app calls :meth:`PhoneDriver.run` with the door entry from its key bundle (door id,
door public key, credential) and a command. The driver:

1. connects, sends CLIENT_HELLO and checks the door's signed DOOR_HELLO; a door that cannot
   prove its identity gets an ALERT and never sees the credential (``door_auth_failed``);
2. reads the door's signed status and piggybacks what the door needs on the first request: a
   time token when the door's time is unknown or old (asking ``time_tokens`` with the door's
   nonce when the door lost its time, since only a challenge-bound token can restore it), and a
   denylist update when the door's version is older than the phone's;
3. sends the request with the next value of its monotonic use counter, and checks the receipt
   (an event signed by the door key, bound to this request);
4. after the door's answer, in the same session: any ``then`` follow-ups, then (``read_log``)
   pages of the door's signed log within :data:`~carekey.link.logread.LOG_PAGES_PER_VISIT`
   (:mod:`carekey.link.logread`), then denylist pieces for a door that is behind. Neither the
   log nor the pieces delay the answer: ``VisitResult.response_air_ms`` is measured before them.

Refusals come back as :class:`~carekey.protocol.session.Response` with a stable ``result`` code;
link and handshake failures raise :class:`~carekey.protocol.errors.ProtocolError`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from carekey.link.catchup import CATCH_UP_PIECES_PER_SESSION, CarriedDenylist, parse_held
from carekey.link.logread import LOG_PAGE_LIMIT, LOG_PAGES_PER_VISIT, LogRead, page_int
from carekey.link.transport import Transport, TransportError
from carekey.protocol.errors import ProtocolError
from carekey.protocol.events import Event, decode_event, verify_receipt
from carekey.protocol.framing import Reassembler, fragment
from carekey.protocol.keys import DeviceSigner, DoorPublicKey
from carekey.protocol.session import Command, DoorStatus, PhoneSession, Response

TimeTokenSource = Callable[[bytes, bytes | None], bytes | None]
"""``(door_id, door_nonce or None) -> signed time token or None``.

Called with the door's nonce when the door has lost its time (the phone must fetch a
challenge-bound token from the server, so it needs coverage), and with None for a broadcast
token the phone already carries."""

FollowUps = tuple[tuple[Command, Mapping[str, object] | None], ...]
"""Commands to send after the first one, in the same session."""

DenylistSource = Callable[[int], bytes | None]
"""``(door's denylist version) -> signed snapshot or delta, or None if the door is current``."""

FreshnessSource = Callable[[], bytes | None]
"""``() -> the phone's newest proof of freshness, or None``."""

CarriedSource = Callable[[], CarriedDenylist | None]
"""``() -> the denylist pieces the phone carries, or None``."""


@dataclass(frozen=True, slots=True)
class DoorEntry:
    """One door in the phone's key bundle."""

    door_id: bytes
    door_public_key: DoorPublicKey
    credential: bytes


@dataclass(frozen=True, slots=True)
class VisitResult:
    """What happened at the door."""

    response: Response
    status: DoorStatus
    receipt: Event | None = None
    extra: tuple[Response, ...] = field(default_factory=tuple)
    response_air_ms: float | None = None
    """Modeled air time from connecting to the first answer, when the link models it."""
    catch_up_pieces: int = 0
    """Denylist pieces the door took after its answer, in this session."""
    log: LogRead | None = None
    """What the session collected of the door's log (``run(read_log=...)``), else None."""

    @property
    def ok(self) -> bool:
        """The door did what was asked."""
        return self.response.ok


class PhoneDriver:
    """Runs door sessions for one phone (one device key, one monotonic use counter)."""

    def __init__(
        self,
        *,
        device_key: DeviceSigner,
        counter: int = 0,
        time_tokens: TimeTokenSource | None = None,
        denylist: DenylistSource | None = None,
        freshness: FreshnessSource | None = None,
        carried: CarriedSource | None = None,
        catch_up_pieces: int = CATCH_UP_PIECES_PER_SESSION,
        log_pages: int = LOG_PAGES_PER_VISIT,
    ) -> None:
        self.device_key = device_key
        self.counter = counter
        self.time_tokens = time_tokens
        self.denylist = denylist
        self.freshness = freshness
        self.carried = carried
        self.catch_up_pieces = catch_up_pieces
        self.log_pages = log_pages

    def run(
        self,
        transport: Transport,
        door: DoorEntry,
        command: Command,
        args: Mapping[str, object] | None = None,
        *,
        then: FollowUps | Callable[[DoorStatus], FollowUps] = (),
        correct_time: bool = False,
        read_log: int | None = None,
    ) -> VisitResult:
        """Open a session, send ``command`` (and any ``then`` commands in the same session).

        ``then`` may be a function of the door's signed status, to decide follow-ups (e.g. read
        back the events the door is about to log) from what the door said in its hello.
        ``read_log`` is a seq: once the door has answered (and the follow-ups are done), read
        its log from there, page after page, within ``log_pages`` pages (``VisitResult.log``).
        A refused or failed reading ends the session's extras but never the visit."""
        self.counter += 1
        session = PhoneSession(
            door_id=door.door_id,
            door_public_key=door.door_public_key,
            device_key=self.device_key,
            credential=door.credential,
            counter=self.counter,
        )
        reassembler = Reassembler(mtu=transport.mtu)
        try:
            status = session.receive_door_hello(
                self._exchange(transport, reassembler, session.hello())
            )
        except ProtocolError as error:
            if error.code == "door_auth_failed":
                transport.send(fragment(session.abort(error.code), mtu=transport.mtu))
            raise
        time_token = (
            self.time_tokens(door.door_id, session.door_nonce)
            if correct_time and self.time_tokens is not None and session.door_nonce is not None
            else self._time_token(door.door_id, status, session.door_nonce)
        )
        carried = self.carried() if self.carried else None
        update = None
        if carried is not None:
            update = carried.first_request(door.door_id, status.denylist_version)
        elif self.denylist:
            update = self.denylist(status.denylist_version)
        request = session.request(
            command,
            args,
            time_token=time_token,
            denylist_update=update,
            freshness=self.freshness() if self.freshness else None,
        )
        response = session.receive_response(self._exchange(transport, reassembler, request))
        air_ms = getattr(transport, "modeled_air_ms", None)
        receipt = self._receipt(response, door, session.request_ref)
        extra: list[Response] = []
        follow_ups = then(status) if callable(then) else then
        for next_command, next_args in follow_ups:
            if not response.ok:
                break
            if extra and not extra[-1].ok:
                break
            record = session.request(next_command, next_args)
            extra.append(session.receive_response(self._exchange(transport, reassembler, record)))
        log: LogRead | None = None
        if read_log is not None and response.ok and all(x.ok for x in extra):
            log = self._read_log(transport, reassembler, session, door, read_log)
        pieces = 0
        if (
            carried is not None
            and response.ok
            and all(x.ok for x in extra)
            and (log is None or (log.refused is None and not log.link_failed))
            and status.denylist_version < carried.version
        ):
            pieces = self._catch_up(transport, reassembler, session, door, carried, response)
        return VisitResult(
            response=response,
            status=status,
            receipt=receipt,
            extra=tuple(extra),
            response_air_ms=None if air_ms is None else float(air_ms),
            catch_up_pieces=pieces,
            log=log,
        )

    def _read_log(
        self,
        transport: Transport,
        reassembler: Reassembler,
        session: PhoneSession,
        door: DoorEntry,
        from_seq: int,
    ) -> LogRead:
        """Pages of the door's log from ``from_seq`` on, after it has answered (see
        :mod:`carekey.link.logread`). Events that do not verify with the door's key are left
        out (a garbled answer is not queued for ever); the next page starts after the highest
        seq returned, and a page that brings nothing new ends the reading."""
        events: list[bytes] = []
        seqs: list[int] = []
        pages = 0
        first = following = dropped = None
        refused: str | None = None
        failed = False
        position = max(1, from_seq)
        for _ in range(max(0, self.log_pages)):
            record = session.request(
                Command.READ_EVENTS, {"from_seq": position, "limit": LOG_PAGE_LIMIT}
            )
            try:
                answer = session.receive_response(self._exchange(transport, reassembler, record))
            except ProtocolError:
                failed = True  # the bolt has moved and the receipt is kept: only reading stops
                break
            if not answer.ok:
                refused = answer.result
                break
            pages += 1
            data = answer.data
            first = page_int(data.get("first_seq"))
            following = page_int(data.get("next_seq"))
            dropped = page_int(data.get("events_dropped"))
            raws = data.get("events")
            top = position - 1
            for raw in raws if isinstance(raws, list) else []:
                if not isinstance(raw, bytes):
                    continue
                try:
                    seq = decode_event(raw, door_key=door.door_public_key).event.seq
                except ProtocolError:
                    continue
                if seq < position:
                    continue  # not asked for (a door answering from the wrong place)
                events.append(raw)
                seqs.append(seq)
                top = max(top, seq)
            if top < position or (following is not None and top + 1 >= following):
                break  # nothing new, or the end of the log
            position = top + 1
        return LogRead(
            from_seq=max(1, from_seq),
            events=tuple(events),
            seqs=tuple(seqs),
            pages=pages,
            first_seq=first,
            next_seq=following,
            events_dropped=dropped,
            refused=refused,
            link_failed=failed,
        )

    def _catch_up(
        self,
        transport: Transport,
        reassembler: Reassembler,
        session: PhoneSession,
        door: DoorEntry,
        carried: CarriedDenylist,
        response: Response,
    ) -> int:
        """Give a door that is behind more pieces of the list, after it has answered."""
        held = parse_held(response.data.get("denylist"))
        sent = 0
        for piece in carried.follow_ups(door.door_id, held, skip_first=True):
            if sent >= self.catch_up_pieces:
                break
            record = session.request(Command.DENYLIST_UPDATE, denylist_update=piece)
            answer = session.receive_response(self._exchange(transport, reassembler, record))
            if not answer.ok:
                break
            sent += 1
            info = answer.data.get("denylist")
            if isinstance(info, dict) and int(info.get("version") or 0) >= carried.version:
                break  # the door holds the whole list now
        return sent

    def _time_token(self, door_id: bytes, status: DoorStatus, nonce: bytes | None) -> bytes | None:
        if self.time_tokens is None or not status.wants_time:
            return None
        return self.time_tokens(door_id, None if status.time_known else nonce)

    @staticmethod
    def _receipt(response: Response, door: DoorEntry, ref: bytes | None) -> Event | None:
        if response.receipt is None:
            return None
        return verify_receipt(
            response.receipt, door_key=door.door_public_key, door_id=door.door_id, ref=ref
        )

    @staticmethod
    def _exchange(transport: Transport, reassembler: Reassembler, message: bytes) -> bytes:
        transport.send(fragment(message, mtu=transport.mtu))
        while True:
            packet = transport.receive()
            whole = reassembler.feed(packet)
            if whole is not None:
                return whole


__all__ = [
    "CarriedDenylist",
    "DenylistSource",
    "DoorEntry",
    "FreshnessSource",
    "LogRead",
    "PhoneDriver",
    "TimeTokenSource",
    "TransportError",
    "VisitResult",
]
