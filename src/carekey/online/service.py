"""The server side of online controllers: what the server does with each message on the broker,
and what it sends. Transport-agnostic and synchronous: :mod:`carekey.online.bridge` feeds it
from MQTT, the whole-day simulation from an in-memory bus. Never commits.

What comes in (``handle_message``), every piece verified before anything is believed (the broker
is trusted for nothing, ``protocol.online``):

- a **state report** or a **response**, signed by the door's own key: the report must be newer
  than the last one taken from that door and close to the server's clock (a replayed "I am up to
  date" is refused). The door is then *online*, *last heard* now, and the denylist version it
  signed for is what the dashboard shows. A door behind the newest version is sent the whole
  list as signed pieces on its own command topic; a door that wants the time gets a challenge
  time token for the nonce it sent; a door whose log holds events the server has not stored is
  asked for them;
- an **offline report** (the broker's last will, signed when the door connected): the door is
  shown offline at once;
- a **batch of signed events**: stored by the same ingest as a phone's upload (signature, hash
  chain, duplicates harmless).

Anything that does not verify (a forged signature, an unknown door, a replay, garbage) is refused
and kept in ``online_refusal`` for the office, with a warning in the server log.

What goes out: after a revocation commits, ``denylist_push`` signs the delta from the version
before and sends it once to every controller of the municipality (one publish; the broker fans it
out). ``reconcile`` sends the pieces to every online controller still behind (a lost delta, a
door that was one version further back); ``sweep`` shows offline every controller not heard for
``offline_after``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from carekey.domain import enums as e
from carekey.ingest import service as ingest
from carekey.keyservice.issuer import active_issuer_key
from carekey.online import queries
from carekey.protocol import denylist as proto_denylist
from carekey.protocol import online as wire
from carekey.protocol.errors import ProtocolError
from carekey.protocol.keys import DoorPublicKey, Ed25519Public, IssuerKey
from carekey.protocol.session import StatusFlag
from carekey.protocol.timetoken import issue_time_token
from carekey.revocation import denylist as dl
from carekey.store import models as m
from carekey.webhooks import service as webhooks

log = logging.getLogger(__name__)

RECONCILE_GRACE = dt.timedelta(seconds=10)
"""A version younger than this is still on its way to the controllers as a delta (and their
answers on the way back): the reconcile leaves it to them."""
PIECES_PER_COMMAND = 20
"""Signed pieces per catch-up command (a piece is at most about 2.5 kB)."""

_PROTO_KIND = {
    e.DenylistEntryKind.CREDENTIAL: proto_denylist.EntryKind.CREDENTIAL,
    e.DenylistEntryKind.DEVICE: proto_denylist.EntryKind.DEVICE,
    e.DenylistEntryKind.SUBJECT: proto_denylist.EntryKind.SUBJECT,
    e.DenylistEntryKind.DOOR: proto_denylist.EntryKind.DOOR,
}


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message for the broker."""

    topic: str
    payload: bytes
    retain: bool = False


@dataclass(frozen=True, slots=True)
class Context:
    """What the online service needs of the server's settings."""

    prefix: str
    secret: str
    offline_after: dt.timedelta


@dataclass(frozen=True, slots=True)
class Heard:
    """A door report the server took (for the benchmark's and the tests' timing)."""

    door_id: int
    serial: str
    kind: wire.ReportKind
    denylist_version: int | None


@dataclass
class Handled:
    """What one message led to."""

    outgoing: list[Outgoing]
    heard: Heard | None = None
    refused: str | None = None


def _issuer_key(db: Session, ctx: Context, municipality_id: int) -> IssuerKey:
    return active_issuer_key(db, municipality_id=municipality_id, secret=ctx.secret)


# --- what comes in -----------------------------------------------------------------------------


def _refuse(
    db: Session,
    *,
    topic: str,
    code: str,
    now: dt.datetime,
    municipality_id: int | None = None,
    door: m.DoorDevice | None = None,
) -> Handled:
    log.warning("online: refused a message on %r: %s", topic[:200], code)
    queries.add_refusal(
        db,
        municipality_id=municipality_id if door is None else door.municipality_id,
        door_device_id=None if door is None else door.id,
        topic=topic,
        code=code,
        at=now,
    )
    return Handled([], refused=code)


class Lookup:
    """What a batch of messages reads once: municipalities by code, controllers by serial
    (prefetched in one query), each municipality's newest denylist version."""

    def __init__(self, db: Session, ctx: Context, topics: Iterable[str] = ()) -> None:
        self.db = db
        self._municipalities: dict[str, m.Municipality | None] = {}
        self._doors: dict[tuple[int, str], m.DoorDevice | None] = {}
        self._newest: dict[int, int] = {}
        wanted: dict[str, set[str]] = {}
        for topic in topics:
            where = wire.parse_door_topic(ctx.prefix, topic)
            if where is not None:
                wanted.setdefault(where[0], set()).add(where[1])
        for code, serials in wanted.items():
            municipality = self.municipality(code)
            if municipality is None:
                continue
            found = queries.controllers(db, municipality_id=municipality.id, serials=serials)
            for serial in serials:
                self._doors[(municipality.id, serial)] = found.get(serial)

    def municipality(self, code: str) -> m.Municipality | None:
        if code not in self._municipalities:
            self._municipalities[code] = queries.municipality_by_code(self.db, code)
        return self._municipalities[code]

    def door(self, municipality_id: int, serial: str) -> m.DoorDevice | None:
        key = (municipality_id, serial)
        if key not in self._doors:
            self._doors[key] = queries.controller(
                self.db, municipality_id=municipality_id, serial=serial
            )
        return self._doors[key]

    def newest_version(self, municipality_id: int) -> int:
        if municipality_id not in self._newest:
            self._newest[municipality_id] = queries.newest_version(
                self.db, municipality_id=municipality_id
            )
        return self._newest[municipality_id]


def handle_message(
    db: Session,
    *,
    topic: str,
    payload: bytes,
    now: dt.datetime,
    ctx: Context,
    lookup: Lookup | None = None,
) -> Handled:
    """Verify and act on one message a door published; returns what to send back.
    ``lookup``: the batch's shared reads (one is made for a single message)."""
    lookup = lookup or Lookup(db, ctx)
    where = wire.parse_door_topic(ctx.prefix, topic)
    if where is None:
        return _refuse(db, topic=topic, code="unknown_topic", now=now)
    issuer, serial, leaf = where
    municipality = lookup.municipality(issuer)
    if municipality is None:
        return _refuse(db, topic=topic, code="unknown_municipality", now=now)
    door = lookup.door(municipality.id, serial)
    if door is None:
        return _refuse(
            db, topic=topic, code="unknown_door", now=now, municipality_id=municipality.id
        )
    if leaf == "events":
        return _events(db, door=door, topic=topic, payload=payload, now=now)
    if leaf == "cmd":
        return Handled([])  # our own commands, if a subscription ever sees them
    try:
        key = DoorPublicKey(Ed25519Public(door.public_key))
        report = wire.decode_report(payload, door_key=key, door_id=serial.encode())
    except ProtocolError as error:
        return _refuse(db, topic=topic, code=error.code, now=now, door=door)
    expected = {
        "state": wire.ReportKind.STATE,
        "resp": wire.ReportKind.RESPONSE,
        "status": wire.ReportKind.OFFLINE,
    }[leaf]
    if report.kind is not expected:
        return _refuse(db, topic=topic, code="wrong_report_kind", now=now, door=door)
    heard = Heard(door.id, door.serial, report.kind, report.denylist_version)
    if report.kind is wire.ReportKind.OFFLINE:
        # The last will, signed when the door connected: it can only say "offline", the safe
        # direction, so it is not held to the replay rule. It counts only for the connection
        # of the newest report: the broker publishes an older connection's will when the door
        # reconnects, possibly after the new connection's first state.
        current = door.online_connection is None or report.connection == door.online_connection
        if current and queries.mark_offline(db, door_id=door.id, before=None):
            db.refresh(door)
            webhooks.emit_door_online(db, door=door, online=False, now=now)
        return Handled([], heard=heard)
    try:
        wire.check_report_time(report, last_ms=door.last_report_ms, server_now=now)
    except ProtocolError as error:
        return _refuse(db, topic=topic, code=error.code, now=now, door=door)
    outgoing: list[Outgoing] = []
    topics = wire.Topics(ctx.prefix, issuer)
    new_connection = report.connection != door.online_connection
    if report.time_ms:
        came_online = door.online_status != queries.ONLINE
        door.last_report_ms = report.time_ms
        door.online_connection = report.connection
        door.last_heard_at = now
        door.last_seen_at = now
        door.online_status = queries.ONLINE
        if came_online:
            webhooks.emit_door_online(db, door=door, online=True, now=now)
    held = report.denylist_version or 0
    if held > door.denylist_version_seen:
        door.denylist_version_seen = held
    newest = lookup.newest_version(municipality.id)
    if held < newest:
        outgoing += catch_up(db, door=door, topics=topics, now=now, ctx=ctx)
    if report.kind is wire.ReportKind.STATE:
        outgoing += _state_follow_up(
            db,
            door=door,
            report=report,
            topics=topics,
            now=now,
            ctx=ctx,
            new_connection=new_connection,
        )
    return Handled(outgoing, heard=heard)


def _state_follow_up(
    db: Session,
    *,
    door: m.DoorDevice,
    report: wire.Report,
    topics: wire.Topics,
    now: dt.datetime,
    ctx: Context,
    new_connection: bool,
) -> list[Outgoing]:
    """The time for a door that wants it; on a new connection, a request for the events the
    server has not stored (logged while the door was offline: once online, a door publishes
    each new event itself)."""
    outgoing = []
    flags = StatusFlag(report.flags or 0)
    wants_time = report.time_ms == 0 or bool(flags & StatusFlag.TIME_SYNC_WANTED)
    issuer_key: IssuerKey | None = None
    if wants_time and report.nonce is not None:
        issuer_key = _issuer_key(db, ctx, door.municipality_id)
        token = issue_time_token(
            issuer_key=issuer_key, now=now, door_id=door.serial.encode(), nonce=report.nonce
        )
        outgoing.append(_command(issuer_key, door, topics, wire.CommandKind.TIME, token, now))
    if new_connection and report.last_seq is not None and report.last_seq > door.last_event_seq:
        issuer_key = issuer_key or _issuer_key(db, ctx, door.municipality_id)
        body = {1: door.last_event_seq + 1}
        outgoing.append(_command(issuer_key, door, topics, wire.CommandKind.READ_EVENTS, body, now))
    return outgoing


def _events(
    db: Session, *, door: m.DoorDevice, topic: str, payload: bytes, now: dt.datetime
) -> Handled:
    try:
        raws = wire.decode_events(payload)
    except ProtocolError as error:
        return _refuse(db, topic=topic, code=error.code, now=now, door=door)
    report = ingest.ingest_door_events(db, door=door, raws=raws, now=now)
    if report.error is not None:
        return _refuse(db, topic=topic, code=report.error.code, now=now, door=door)
    if report.bad_signatures or report.malformed:
        return _refuse(db, topic=topic, code="bad_event_signature", now=now, door=door)
    return Handled([])


# --- what goes out -----------------------------------------------------------------------------


def _command(
    issuer_key: IssuerKey,
    door: m.DoorDevice | None,
    topics: wire.Topics,
    kind: wire.CommandKind,
    body: object,
    now: dt.datetime,
) -> Outgoing:
    door_id = None if door is None else door.serial.encode()
    data = wire.issue_command(issuer_key, kind=kind, now=now, body=body, door_id=door_id)
    if door is None:
        # Retained: a controller that (re)connects gets the newest delta from the broker.
        return Outgoing(topics.denylist, data, retain=True)
    return Outgoing(topics.door(door.serial, "cmd"), data)


def catch_up(
    db: Session, *, door: m.DoorDevice, topics: wire.Topics, now: dt.datetime, ctx: Context
) -> list[Outgoing]:
    """The newest list as signed pieces, for one door (in as many commands as it takes)."""
    issuer_key = _issuer_key(db, ctx, door.municipality_id)
    signed = dl.signed_pieces(
        db, municipality_id=door.municipality_id, issuer_key=issuer_key, now=now
    )
    pieces = [p.data for p in signed.pieces]
    return [
        _command(
            issuer_key,
            door,
            topics,
            wire.CommandKind.DENYLIST,
            pieces[i : i + PIECES_PER_COMMAND],
            now,
        )
        for i in range(0, len(pieces), PIECES_PER_COMMAND)
    ]


def denylist_push(
    db: Session, *, municipality_id: int, version: int, now: dt.datetime, ctx: Context
) -> list[Outgoing]:
    """The delta that makes ``version`` from the one before, for every controller of the
    municipality in one publish. A controller that held an older version refuses it
    (``bad_delta_base``) and is sent the pieces in answer."""
    if version < 1:
        return []
    added, removed = queries.delta_rows(
        db, municipality_id=municipality_id, version=version, now=now
    )
    issuer_key = _issuer_key(db, ctx, municipality_id)
    delta = proto_denylist.issue_denylist_delta(
        issuer_key=issuer_key,
        base_version=version - 1,
        version=version,
        added=[
            proto_denylist.DenylistEntry(_PROTO_KIND[r.entry_kind], r.entry_key, r.expires_at)
            for r in added
        ],
        removed=[(_PROTO_KIND[r.entry_kind], r.entry_key) for r in removed],
        now=now,
    )
    topics = wire.Topics(ctx.prefix, queries.municipality_code(db, municipality_id))
    return [_command(issuer_key, None, topics, wire.CommandKind.DENYLIST, [delta], now)]


def pushes(
    db: Session, *, changed: Iterable[tuple[int, int]], now: dt.datetime, ctx: Context
) -> list[Outgoing]:
    """``denylist_push`` for each (municipality, version) committed, oldest version first."""
    outgoing: list[Outgoing] = []
    for municipality_id, version in sorted(changed, key=lambda c: (c[0], c[1])):
        outgoing += denylist_push(
            db, municipality_id=municipality_id, version=version, now=now, ctx=ctx
        )
    return outgoing


def reconcile(db: Session, *, now: dt.datetime, ctx: Context) -> list[Outgoing]:
    """The pieces for every online controller still behind its municipality's newest list."""
    outgoing: list[Outgoing] = []
    codes: dict[int, str] = {}
    lagging = queries.lagging_controllers(
        db, heard_since=now - ctx.offline_after, made_before=now - RECONCILE_GRACE
    )
    for door, _newest in lagging:
        code = codes.get(door.municipality_id)
        if code is None:
            code = codes[door.municipality_id] = queries.municipality_code(db, door.municipality_id)
        outgoing += catch_up(db, door=door, topics=wire.Topics(ctx.prefix, code), now=now, ctx=ctx)
    return outgoing


def sweep(db: Session, *, now: dt.datetime, ctx: Context) -> list[m.DoorDevice]:
    """Show offline every controller not heard for ``offline_after``; the doors this call
    changed (several instances may sweep at once; each door changes once)."""
    before = now - ctx.offline_after
    changed = []
    for door in queries.gone_silent(db, before=before):
        if queries.mark_offline(db, door_id=door.id, before=before):
            db.refresh(door)
            webhooks.emit_door_online(db, door=door, online=False, now=now)
            changed.append(door)
    return changed


@dataclass(frozen=True)
class FleetView:
    """The municipality's online controllers at a glance, for the dashboard."""

    online: int
    up_to_date: int
    offline: int
    version: int
    refusals: list[m.OnlineRefusal]


def fleet_view(
    db: Session, *, municipality_id: int, now: dt.datetime, offline_after: dt.timedelta
) -> FleetView:
    """Online, up to date and offline controllers; the broker messages refused in 24 h."""
    version = queries.newest_version(db, municipality_id=municipality_id)
    online, current, offline = queries.fleet_counts(
        db, municipality_id=municipality_id, heard_since=now - offline_after, version=version
    )
    refused = queries.refusals(
        db, municipality_id=municipality_id, since=now - dt.timedelta(hours=24)
    )
    return FleetView(online, current, offline, version, refused)


def is_online(door: m.DoorDevice, *, now: dt.datetime, offline_after: dt.timedelta) -> bool | None:
    """Whether a door is online now: None for a door never online (phones only)."""
    if door.online_status is None:
        return None
    heard = door.last_heard_at
    return (
        door.online_status == queries.ONLINE and heard is not None and heard >= now - offline_after
    )
