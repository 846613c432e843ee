"""The key bundle: the doors a login hands to the phone, and the compact JSON the app receives.

No database here: which doors go in is ``bundle_doors``, how they are signed is
``credentials``, how a phone gets a bundle is ``login``.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import orjson

from carekey.domain import enums as e
from carekey.revocation.denylist import SignedDenylist

# The states of a door that goes into key bundles.
LIVE_DOOR_STATUSES = (e.DoorStatus.COMMISSIONED, e.DoorStatus.ACTIVE, e.DoorStatus.FAULTY)


def b64(data: bytes) -> str:
    """Standard base64 text for bytes in JSON."""
    return base64.b64encode(data).decode()


class BundleDoor(NamedTuple):
    """A door the employee may open, with what the app shows for it (a named tuple: ≈ 200 are
    built per key bundle, and a tuple is several times cheaper to build than a dataclass)."""

    device_id: int
    door_id: bytes  # the door's protocol id (its serial)
    kind: e.DoorKind
    public_key: bytes
    citizen_id: int
    citizen_name: str
    address: str
    label: str
    emergency_grant_id: int | None = None
    # The highest event sequence the server has from this door: where the phone starts reading
    # the door's log, so events another phone read but never delivered are fetched again.
    last_seq: int = 0


@dataclass
class KeyBundle:
    """What a login hands to the phone."""

    session_token: str | None
    expires_at: dt.datetime
    employee_id: int
    employee_name: str
    doors: list[BundleDoor]
    credentials: list[dict[str, Any]]
    time_token: bytes
    denylist: dict[str, Any]
    freshness: dict[str, Any] | None = None
    policy: dict[str, int] | None = None
    digest: bytes = field(repr=False, default=b"")
    next_challenge: str | None = None
    # For a partner worker: the company, whether it is blocked, which associations blocked it.
    partner: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON body the key app receives. Compact on purpose (a shift has ~200 doors):
        each citizen appears once; doors point at their citizen; bundle leaves are
        ``[door id, kind bits]`` (1 home, 2 entrance, 4 gate)."""
        body = self._body()
        body["doors"] = [_door_dict(d) for d in self.doors]
        return body

    def to_json_bytes(self) -> bytes:
        """``to_json`` rendered, the same bytes as ``orjson.dumps(self.to_json())``; each door's
        piece is rendered once per process and reused (the hot path of the morning rush)."""
        body = self._body()
        body["doors"] = [_door_fragment(d) for d in self.doors]
        return orjson.dumps(body)

    def _body(self) -> dict[str, Any]:
        citizens: dict[int, dict[str, Any]] = {}
        for d in self.doors:
            if d.citizen_id not in citizens:
                citizens[d.citizen_id] = {
                    "id": d.citizen_id,
                    "name": d.citizen_name,
                    "address": d.address,
                    "emergency_grant_id": d.emergency_grant_id,
                }
        return {
            "session_token": self.session_token,
            "next_challenge": self.next_challenge,
            "keys_valid_until": self.expires_at.isoformat(),
            "employee": {"id": self.employee_id, "name": self.employee_name},
            "time_token": b64(self.time_token),
            "denylist": self.denylist,
            "freshness": self.freshness,
            "policy": self.policy,
            "credentials": self.credentials,
            "citizens": list(citizens.values()),
            **({"partner": self.partner} if self.partner is not None else {}),
        }


# The door kind's JSON text, looked up by a str-hashed key instead of through an enum property
# (≈ 200 doors per bundle).
_KIND_TEXT: dict[str, str] = {kind: kind.value for kind in e.DoorKind}


def _door_dict(d: BundleDoor) -> dict[str, Any]:
    return {
        "door_id": d.door_id.decode(),
        "kind": _KIND_TEXT[d.kind],
        "device_id": d.device_id,
        "door_public_key": b64(d.public_key),
        "citizen_id": d.citizen_id,
        "label": d.label,
        "last_seq": d.last_seq,
    }


@functools.lru_cache(maxsize=16)
def denylist_json(signed: SignedDenylist) -> dict[str, Any]:
    """The ``denylist`` object of the answers: the version, the full snapshot when the list is
    one piece (for older apps, else null), and the pieces as ``[lo, hi, base64]``. Rendered once
    per signed version (up to 1.9 MB of base64 at full capacity); callers must not change it."""
    snapshot = signed.snapshot
    return {
        "version": signed.version,
        "snapshot": b64(snapshot) if snapshot else None,
        "pieces": [[p.lo, p.hi, b64(p.data)] for p in signed.pieces],
    }


DOOR_PREFIX_CACHE_SIZE = 1 << 14  # distinct doors (and labels) a process renders: ≈ 3,500 a city


@functools.lru_cache(maxsize=DOOR_PREFIX_CACHE_SIZE)
def _door_prefix(
    door_id: bytes, kind: e.DoorKind, device_id: int, public_key: bytes, citizen_id: int, label: str
) -> bytes:
    """A door's rendered JSON up to its ``last_seq`` value: ``{…,"label":"…","last_seq":``.
    Cached by the fields that seldom change; ``last_seq`` moves with every event upload, and as
    part of the key it made a new entry per upload (issue 14: a worker grew ≈ 1 MB a minute
    until the cache's 32,768 entries, ≈ 2 KB each, were full)."""
    rendered = orjson.dumps(
        {
            "door_id": door_id.decode(),
            "kind": _KIND_TEXT[kind],
            "device_id": device_id,
            "door_public_key": b64(public_key),
            "citizen_id": citizen_id,
            "label": label,
        }
    )
    return rendered[:-1] + b',"last_seq":'


def _door_fragment(d: BundleDoor) -> orjson.Fragment:
    """A door's rendered JSON, the same bytes as ``orjson.dumps(_door_dict(d))``: the cached
    prefix and ``last_seq`` (≈ 200 per key bundle)."""
    prefix = _door_prefix(d.door_id, d.kind, d.device_id, d.public_key, d.citizen_id, d.label)
    return orjson.Fragment(b"%s%d}" % (prefix, d.last_seq))


def door_digest(doors: list[BundleDoor]) -> bytes:
    """A fingerprint of a key set, so a heartbeat can tell whether the phone's keys are current."""
    text = ",".join(sorted(f"{d.device_id}:{d.emergency_grant_id or 0}" for d in doors))
    return hashlib.sha256(text.encode()).digest()
