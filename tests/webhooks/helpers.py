"""A small world for the webhooks' tests: two municipalities, a housing association with a
property (entrance), admins and the association's user as actors, and a real HTTP receiver."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from carekey.access import Actor
from carekey.domain import enums as e
from carekey.store import models as m
from carekey.webhooks import signing
from tests.store.factories import make_world

SECRET = "test-secret-for-the-webhook-tests-0123456789"
T0 = dt.datetime(2026, 11, 26, 6, 0, tzinfo=dt.UTC)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: dt.datetime = T0) -> None:
        self.current = now

    def now(self) -> dt.datetime:
        return self.current

    def advance(self, **delta: float) -> dt.datetime:
        self.current += dt.timedelta(**delta)
        return self.current


@dataclass(frozen=True)
class Tenants:
    municipality: int
    other_municipality: int
    association: int
    other_association: int
    entrance_door: m.DoorDevice
    home_door: m.DoorDevice
    admin: Actor
    other_admin: Actor
    assoc_user: Actor
    other_assoc_user: Actor
    auditor: Actor


def _employee(db: Session, municipality_id: int, number: str, role: e.Role, **extra: Any) -> Actor:
    person = m.Employee(
        municipality_id=municipality_id,
        employee_number=number,
        full_name=f"Person {number}",
        roles=[m.EmployeeRole(role=role)],
        **extra,
    )
    db.add(person)
    db.flush()
    return Actor(
        employee_id=person.id,
        municipality_id=municipality_id,
        roles=frozenset({role}),
        label=person.full_name,
        association_id=extra.get("housing_association_id"),
    )


def make_tenants(engine: Engine) -> Tenants:
    with Session(engine, expire_on_commit=False) as db, db.begin():
        world = make_world(db)
        other = make_world(db, code="0147", name="Frederiksberg Kommune")
        mid = world.municipality.id
        assoc = m.HousingAssociation(municipality_id=mid, name="Boligforeningen Æblehaven")
        other_assoc = m.HousingAssociation(municipality_id=mid, name="Boligforeningen Pæretræet")
        db.add_all([assoc, other_assoc])
        db.flush()
        world.property.housing_association_id = assoc.id
        db.flush()
        return Tenants(
            municipality=mid,
            other_municipality=other.municipality.id,
            association=assoc.id,
            other_association=other_assoc.id,
            entrance_door=world.entrance_controller,
            home_door=world.home_lock,
            admin=_employee(db, mid, "W0001", e.Role.ADMINISTRATOR),
            other_admin=_employee(db, other.municipality.id, "W0002", e.Role.ADMINISTRATOR),
            assoc_user=_employee(
                db, mid, "W0003", e.Role.ASSOCIATION_USER, housing_association_id=assoc.id
            ),
            other_assoc_user=_employee(
                db, mid, "W0004", e.Role.ASSOCIATION_USER, housing_association_id=other_assoc.id
            ),
            auditor=_employee(db, mid, "W0005", e.Role.AUDITOR),
        )


def sessions_of(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@dataclass
class Received:
    msg_id: str
    body: dict[str, Any]
    signatures: list[str]
    answered: int


@dataclass
class Receiver:
    """A real HTTP receiver on 127.0.0.1: verifies every message (at the test clock's time),
    answers ``answer(msg_id)`` (200 by default) and logs what it got."""

    keys: list[str]
    clock: Clock
    url: str = ""
    log: list[Received] = field(default_factory=list)
    answer: Callable[[str], int] = lambda _msg_id: 200
    bad: list[str] = field(default_factory=list)

    def processed(self) -> list[Received]:
        """What a receiver that dedupes by ``webhook-id`` keeps: the first 2xx-or-processed copy
        of each id, in arrival order."""
        seen: set[str] = set()
        kept: list[Received] = []
        for r in self.log:
            if r.answered == 503 or r.msg_id in seen:
                continue
            seen.add(r.msg_id)
            kept.append(r)
        return kept


@contextmanager
def running(receiver: Receiver) -> Iterator[Receiver]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("content-length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                msg_id = signing.verify(raw, headers, receiver.keys, now=receiver.clock.now())
            except signing.VerificationError as exc:
                receiver.bad.append(str(exc))
                self.send_response(401)
                self.end_headers()
                return
            code = receiver.answer(msg_id)
            receiver.log.append(
                Received(msg_id, json.loads(raw), headers["webhook-signature"].split(" "), code)
            )
            self.send_response(code)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
