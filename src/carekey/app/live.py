"""Live material: what the phone must keep fresh, outside the wallet.

The proof of freshness (:mod:`carekey.protocol.freshness`), the denylist pieces, the broadcast
time token and the server's policy are not secrets: each is signed by the server and useless
without the phone's device key. They must keep being renewed by every heartbeat while the keys
are sealed (no personal code in memory), so they are not stored in the wallet but in two plain
files in the app's data directory:

- ``live.json`` (small, rewritten at every login, bundle and heartbeat): the proof and its
  expiry, the time token and when it arrived, the policy, ``refresh_pending``;
- ``denylist.json`` (up to ~1.5 MB at 65,535 entries): the signed pieces of the newest denylist
  the phone carries, rewritten only when the version changes.

Both are written atomically (temp file, fsync, rename). Answers of an older server lack
``freshness``, ``policy`` and ``pieces``: the phone then carries the old single ``snapshot``,
no proof, and the default policy.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from carekey.clock import Clock
from carekey.link.catchup import CarriedDenylist
from carekey.protocol.denylist import DenylistPiece

SEAL_AFTER_S: Final = 180
FRESHNESS_S: Final = 3300
FRESHNESS_WARN_S: Final = 900


@dataclass(frozen=True, slots=True)
class Policy:
    """The municipality's timing policy for phones (from the server, else these defaults)."""

    seal_after_s: int = SEAL_AFTER_S
    freshness_s: int = FRESHNESS_S
    freshness_warn_s: int = FRESHNESS_WARN_S

    @classmethod
    def from_json(cls, raw: object) -> Policy:
        """Tolerant: missing or malformed values keep their defaults."""
        if not isinstance(raw, dict):
            return cls()
        values: dict[str, int] = {}
        for name in ("seal_after_s", "freshness_s", "freshness_warn_s"):
            value = raw.get(name)
            if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                values[name] = value
        return cls(**values)


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(path)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _aware(text: object) -> dt.datetime | None:
    if not isinstance(text, str):
        return None
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


def _unb64(text: object) -> bytes | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def _pieces(raw: object) -> list[list[Any]]:
    """``[[lo, hi, b64], ...]`` (a fourth element, the entry count, is allowed), malformed
    rows dropped."""
    out: list[list[Any]] = []
    for row in raw if isinstance(raw, list) else []:
        if (
            isinstance(row, list)
            and len(row) >= 3
            and all(isinstance(v, int) and not isinstance(v, bool) for v in row[:2])
            and isinstance(row[2], str)
        ):
            count = row[3] if len(row) > 3 and isinstance(row[3], int) else 0
            out.append([int(row[0]), int(row[1]), row[2], int(count)])
    return out


class LiveStore:
    """The live, non-secret material of one phone (see the module doc)."""

    def __init__(self, data_dir: Path, *, clock: Clock) -> None:
        self.path = data_dir / "live.json"
        self.denylist_path = data_dir / "denylist.json"
        self._clock = clock
        self._data = _read_json(self.path)
        self._denylist = _read_json(self.denylist_path)
        self._carried: CarriedDenylist | None = None

    # --- updates ------------------------------------------------------------------------------

    def apply(self, answer: dict[str, Any]) -> None:
        """Take what a login, ``/bundle`` or heartbeat answer brings (missing keys change
        nothing) and write it down."""
        now = self._clock.now()
        freshness = answer.get("freshness")
        if isinstance(freshness, dict) and _unb64(freshness.get("proof")) is not None:
            self._data["freshness"] = {
                "proof": freshness["proof"],
                "expires_at": freshness.get("expires_at"),
                "denylist_version": freshness.get("denylist_version"),
                "received_at": now.isoformat(),
            }
        if "policy" in answer and isinstance(answer["policy"], dict):
            self._data["policy"] = answer["policy"]
        token = answer.get("time_token")
        if isinstance(token, str) and token:
            self._data["time_token"] = token
            self._data["time_token_at"] = now.isoformat()
        denylist = answer.get("denylist")
        if isinstance(denylist, dict):
            self._take_denylist(denylist)
        _write_atomically(self.path, json.dumps(self._data))

    def _take_denylist(self, denylist: dict[str, Any]) -> None:
        version = denylist.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 0:
            return
        pieces = _pieces(denylist.get("pieces"))
        snapshot = denylist.get("snapshot") if isinstance(denylist.get("snapshot"), str) else None
        if version < self.denylist_version or not (pieces or snapshot):
            return
        if version == self.denylist_version and (self._denylist.get("pieces") or not pieces):
            return  # this version is carried already
        self._denylist = {"version": version, "snapshot": snapshot, "pieces": pieces}
        self._carried = None
        _write_atomically(self.denylist_path, json.dumps(self._denylist))

    def set_refresh_pending(self, pending: bool) -> None:
        """A REFRESH came while the keys were sealed: fetch the new bundle at the next unlock."""
        if self.refresh_pending != pending:
            self._data["refresh_pending"] = pending
            _write_atomically(self.path, json.dumps(self._data))

    def forget(self) -> None:
        """The keys are gone (WIPE, logout, expiry, wrong codes): drop the proof and the rest."""
        self._data = {}
        self._denylist = {}
        self._carried = None
        for path in (self.path, self.denylist_path):
            path.unlink(missing_ok=True)

    # --- reading ------------------------------------------------------------------------------

    @property
    def policy(self) -> Policy:
        """The newest policy the server sent, else the defaults."""
        return Policy.from_json(self._data.get("policy"))

    @property
    def refresh_pending(self) -> bool:
        """A new bundle waits on the server (REFRESH while sealed)."""
        return bool(self._data.get("refresh_pending"))

    def proof(self) -> bytes | None:
        """The newest proof of freshness (the door decides whether it is still live)."""
        fresh = self._data.get("freshness")
        return _unb64(fresh.get("proof")) if isinstance(fresh, dict) else None

    @property
    def freshness_expires_at(self) -> dt.datetime | None:
        """When the newest proof runs out; None without a proof (or an expiry the server did
        not state: then ``policy.freshness_s`` after it arrived)."""
        fresh = self._data.get("freshness")
        if not isinstance(fresh, dict) or _unb64(fresh.get("proof")) is None:
            return None
        expires = _aware(fresh.get("expires_at"))
        if expires is not None:
            return expires
        received = _aware(fresh.get("received_at"))
        if received is None:
            return None
        return received + dt.timedelta(seconds=self.policy.freshness_s)

    def freshness_warning(self) -> bool:
        """Less than ``policy.freshness_warn_s`` of the proof is left, or it has run out."""
        expires = self.freshness_expires_at
        if expires is None:
            return False
        left = expires - self._clock.now()
        return left < dt.timedelta(seconds=self.policy.freshness_warn_s)

    def freshness_expired(self) -> bool:
        """The proof has run out by the phone's clock (or there is none)."""
        expires = self.freshness_expires_at
        return expires is None or self._clock.now() >= expires

    def time_token(self, max_age: dt.timedelta) -> bytes | None:
        """The broadcast time token, while it is no older than ``max_age``."""
        received = _aware(self._data.get("time_token_at"))
        if received is None or self._clock.now() - received > max_age:
            return None
        return _unb64(self._data.get("time_token"))

    @property
    def denylist_version(self) -> int:
        """The denylist version the phone carries (0: none)."""
        version = self._denylist.get("version")
        return version if isinstance(version, int) and not isinstance(version, bool) else 0

    def carried(self) -> CarriedDenylist | None:
        """The pieces of the carried denylist (built once per version); None when the phone
        carries only an old single snapshot, or nothing."""
        if self._carried is not None and self._carried.version == self.denylist_version:
            return self._carried
        rows = _pieces(self._denylist.get("pieces"))
        pieces = []
        for lo, hi, text, count in rows:
            data = _unb64(text)
            if data is not None:
                pieces.append(DenylistPiece(lo, hi, data, count))
        if not pieces:
            return None
        pieces.sort(key=lambda p: p.lo)
        self._carried = CarriedDenylist(self.denylist_version, tuple(pieces))
        return self._carried

    def snapshot(self, door_version: int) -> bytes | None:
        """The old single snapshot for a door at ``door_version`` (an older server's form)."""
        if self.denylist_version <= door_version:
            return None
        return _unb64(self._denylist.get("snapshot"))


__all__ = ["FRESHNESS_S", "FRESHNESS_WARN_S", "SEAL_AFTER_S", "LiveStore", "Policy"]
