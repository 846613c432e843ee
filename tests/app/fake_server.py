"""A small stand-in for the key service's app API, for the key app's own tests.

It speaks the JSON of ``/api/v1/app`` (enrol, challenge, login, bundle, heartbeat, events,
time-token) with real protocol objects: credentials, proofs of freshness, time tokens and
denylist pieces signed by a :class:`~carekey.sim.testbed.Testbed`'s issuer key, so the
simulated doors of the same bench check them as they would a real server's. ``new_server=False``
answers like a server from before the proof of freshness (no ``freshness``, ``policy`` or
``pieces``).
"""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import httpx

from carekey.app.client import ServerClient
from carekey.devices.homelock import HomeLock
from carekey.protocol.credential import DoorKind, SubjectType, issue_credential
from carekey.protocol.denylist import DenylistEntry, issue_denylist_pieces, issue_denylist_snapshot
from carekey.protocol.freshness import issue_freshness
from carekey.protocol.keys import DevicePublicKey
from carekey.protocol.timetoken import issue_time_token
from carekey.sim.testbed import Testbed


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@dataclass
class Answer:
    """What httpx's response offers the client: a status and a JSON body."""

    status_code: int
    body: Any

    def json(self) -> Any:
        return self.body


@dataclass
class FakeServer:
    """One employee (``E0001``) with one phone, and the doors of ``door_ids``."""

    door_ids: list[str]

    bed: Testbed
    doors: dict[str, HomeLock]
    new_server: bool = True
    online: bool = True
    status: str = "OK"  # what the next heartbeat says: OK, REFRESH or WIPE
    wipe_reason: str = "blocked"
    seal_after_s: int = 180
    freshness_s: int = 3300
    freshness_warn_s: int = 900
    piece_entries: int = 2
    subject_type: SubjectType = SubjectType.EMPLOYEE
    kinds: tuple[DoorKind, ...] = (DoorKind.HOME,)
    last_seq: dict[str, int] = field(default_factory=dict)  # what "the server" has per door
    device_key: DevicePublicKey | None = None
    calls: list[str] = field(default_factory=list)
    heartbeat_bodies: list[Any] = field(default_factory=list)
    uploads: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    tokens: int = 0
    serial: int = 0
    people: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Door id -> (citizen's name, address); doors not in it are Arne's at Gade 1."""
    emergency: set[str] = field(default_factory=set)  # citizens behind an emergency key
    password: str = "password"  # the test employee's
    must_change_password: bool = False  # the office set a one-time password
    login_bodies: list[dict[str, Any]] = field(default_factory=list)

    # --- the server's side ------------------------------------------------------------------

    def block(self, entry: DenylistEntry) -> None:
        """A new denylist version with ``entry``."""
        self.bed.block(entry)

    def uploaded_app_events(self) -> list[dict[str, Any]]:
        return [event for _, body in self.uploads for event in body.get("app_events", [])]

    def _credentials(self) -> list[dict[str, Any]]:
        """Single credentials of at most 8 doors each (what one may name)."""
        assert self.device_key is not None
        now = self.bed.clock.now()
        credentials = []
        for start in range(0, len(self.door_ids), 8):
            doors = self.door_ids[start : start + 8]
            self.serial += 1
            raw = issue_credential(
                issuer_key=self.bed.issuer_key,
                subject="E0001",
                subject_type=self.subject_type,
                device_key=self.device_key,
                kinds=self.kinds,
                not_before=now - dt.timedelta(minutes=5),
                expires=now + dt.timedelta(hours=8),
                serial=self.serial,
                denylist_version=self.bed.denylist_version,
                doors=[d.encode() for d in doors],
            )
            credentials.append({"type": "single", "credential": b64(raw), "doors": list(doors)})
        return credentials

    def _denylist(self) -> dict[str, Any]:
        version, now = self.bed.denylist_version, self.bed.clock.now()
        if version == 0:
            return {"version": 0, "snapshot": None, "pieces": []}
        if not self.new_server:
            snapshot = issue_denylist_snapshot(
                issuer_key=self.bed.issuer_key,
                version=version,
                entries=self.bed.denylist_entries,
                now=now,
            )
            return {"version": version, "snapshot": b64(snapshot)}
        pieces = issue_denylist_pieces(
            issuer_key=self.bed.issuer_key,
            version=version,
            entries=self.bed.denylist_entries,
            now=now,
            max_entries=self.piece_entries,
        )
        return {
            "version": version,
            "snapshot": None,
            "pieces": [[p.lo, p.hi, b64(p.data)] for p in pieces],
        }

    def _live(self, *, carried: int | None = None) -> dict[str, Any]:
        now = self.bed.clock.now()
        body: dict[str, Any] = {
            "time_token": b64(issue_time_token(issuer_key=self.bed.issuer_key, now=now)),
            "denylist": self._denylist(),
        }
        if not self.new_server:
            return body
        assert self.device_key is not None
        lifetime = dt.timedelta(seconds=self.freshness_s)
        body["freshness"] = {
            "proof": b64(
                issue_freshness(
                    issuer_key=self.bed.issuer_key,
                    device_key_id=self.device_key.key_id,
                    denylist_version=self.bed.denylist_version,
                    now=now,
                    lifetime=lifetime,
                )
            ),
            "expires_at": (now.replace(microsecond=0) + lifetime).isoformat(),
            "denylist_version": self.bed.denylist_version,
        }
        body["policy"] = {
            "seal_after_s": self.seal_after_s,
            "freshness_s": self.freshness_s,
            "freshness_warn_s": self.freshness_warn_s,
        }
        if carried is not None and carried >= self.bed.denylist_version:
            body["denylist"] = None
        return body

    def _citizens(self) -> tuple[list[dict[str, Any]], dict[str, int]]:
        people = {d: self.people.get(d, ("Arne", "Gade 1")) for d in self.door_ids}
        ids: dict[tuple[str, str], int] = {}
        for person in people.values():
            ids.setdefault(person, len(ids) + 1)
        citizens = [
            {
                "id": n,
                "name": name,
                "address": address,
                "emergency_grant_id": 7 if name in self.emergency else None,
            }
            for (name, address), n in ids.items()
        ]
        return citizens, {d: ids[p] for d, p in people.items()}

    def _login(self, body: dict[str, Any]) -> Answer:
        """The password (a one-time one must be replaced by ``new_password``)."""
        self.login_bodies.append(body)
        if body.get("password") != self.password:
            return Answer(
                401,
                {
                    "error": {
                        "code": "auth.bad_credentials",
                        "message": "Forkert medarbejdernummer eller adgangskode",
                        "message_en": "Wrong employee number or password",
                    }
                },
            )
        if self.must_change_password:
            if not body.get("new_password"):
                return Answer(
                    403,
                    {
                        "error": {
                            "code": "auth.password_change_required",
                            "message": "Vælg en ny adgangskode",
                            "message_en": "Choose a new password",
                        }
                    },
                )
            if len(body["new_password"]) < 4:
                return Answer(
                    400,
                    {
                        "error": {
                            "code": "accounts.password_too_short",
                            "message": "Adgangskoden er for kort",
                            "message_en": "The password is too short",
                        }
                    },
                )
            self.password, self.must_change_password = body["new_password"], False
        self.tokens += 1
        bundle = self._bundle()
        bundle["session_token"] = f"token-{self.tokens}"
        return Answer(200, bundle)

    def _bundle(self) -> dict[str, Any]:
        now = self.bed.clock.now()
        citizens, citizen_of = self._citizens()
        return {
            "session_token": None,
            "next_challenge": "c-next",
            "keys_valid_until": (now + dt.timedelta(hours=8)).isoformat(),
            "employee": {"id": 1, "name": "Test Person"},
            "credentials": self._credentials(),
            "citizens": citizens,
            "doors": [
                {
                    "door_id": door_id,
                    "kind": "home_lock",
                    "device_id": n,
                    "door_public_key": b64(self.doors[door_id].door_key.public.key.raw),
                    "citizen_id": citizen_of[door_id],
                    "label": "",
                    "last_seq": self.last_seq.get(door_id, 0),
                }
                for n, door_id in enumerate(self.door_ids, 1)
            ],
            **self._live(),
        }

    # --- HTTP -------------------------------------------------------------------------------

    def post(self, url: str, *, json: Any = None, headers: dict[str, str] | None = None) -> Any:
        path = url.removeprefix("/api/v1/app")
        if not self.online:
            raise httpx.ConnectError("no coverage")
        self.calls.append(path)
        token = (headers or {}).get("Authorization", "").removeprefix("Bearer ")
        if path == "/enrol":
            self.device_key = DevicePublicKey(base64.b64decode(json["public_key"]))
            return Answer(200, {"phone_id": 1, "municipality": "0101"})
        if path == "/challenge":
            return Answer(200, {"challenge": "c-1"})
        if path == "/login":
            return self._login(json)
        if path == "/bundle":
            return Answer(200, self._bundle())
        if path == "/heartbeat":
            self.heartbeat_bodies.append(json)
            if self.status == "WIPE":
                return Answer(200, {"status": "WIPE", "reason": self.wipe_reason})
            carried = json.get("denylist_version") if isinstance(json, dict) else None
            return Answer(
                200,
                {"status": self.status, "next_challenge": "c-hb", **self._live(carried=carried)},
            )
        if path == "/events":
            self.uploads.append((token, json))
            return Answer(200, {"accepted": True})
        if path == "/time-token":
            nonce = base64.b64decode(json["nonce"])
            raw = issue_time_token(
                issuer_key=self.bed.issuer_key,
                now=self.bed.clock.now(),
                door_id=json["door_id"].encode(),
                nonce=nonce,
                correction=bool(json.get("correction")),
            )
            return Answer(200, {"time_token": b64(raw)})
        return Answer(404, {"error": {"code": "not_found"}})

    def client(self) -> ServerClient:
        return ServerClient(self)
