"""Partners on the simulated day (issue 15), driven through the real server like the municipal
phones: partner workers are ``employee`` rows of their company (role ``partner_worker``), each
with the company's phone, a real :class:`~carekey.app.service.KeyApp` enrolled with a one-time
code, logged in with the worker number and the demo password at ``/api/v1/app/login``. Their keys
are what the server signed with the municipality's **partner issuer key**; nothing here signs a
credential.

The day's partners (one seeded random stream of their own, drawn after the rest of the plan):

- **newspapers**: one carrier in the tail of today's 04:00–07:00 window (the day starts at 06:00),
  who comes back at 08:30 to one of the doors (the door refuses: ``outside_window``) and, inside
  the window, tries a home lock behind one of the stairwells (the app has no key for it; the
  credential presented anyway is refused by the lock, which does not hold the partner key); a
  second carrier the next morning, 04:00–07:00;
- **post**: two workers in the day window; at 12:00 the housing association's user blocks the
  company through the portal's use case (:func:`carekey.associations.agreements.block_company`:
  all its agreements with that association, and their credentials on the denylist, in one
  transaction); their phones learn it from their heartbeats
  (``partner.blocked_by``); one tries a door of that association afterwards, through the app
  (no key any more) and with the credential it held before the block (``denylisted``);
- **an errand**: a meal-box delivery (parcels or pharmacy when the profile has no meal boxes) to
  a named resident: the errand is written in setup, before the worker's login; the worker's keys
  are that one stairwell for that period only (a try before the period is refused
  ``not_yet_valid``, another stairwell of the agreement is not in the keys).

Partner phones check in every :data:`CHECKIN_EVERY` while on duty and before every door (the
key app's own "online first"), upload after every second stop and at logout. The evidence
(openings stored by the server, refusals in the doors' logs, credentials in the server's
``issued_credential``) is computed in :mod:`carekey.sim.day_check`.
"""

from __future__ import annotations

import base64
import datetime as dt
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, Final

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from carekey.access import Actor
from carekey.app.client import AppError, ServerClient
from carekey.app.service import BROADCAST_TOKEN_MAX_AGE, KeyApp
from carekey.associations.agreements import block_company
from carekey.auth.service import actor_of
from carekey.clock import COPENHAGEN
from carekey.link.driver import DoorEntry, PhoneDriver
from carekey.partners.errands import NewErrand, request_errand
from carekey.partners.service import enrolment_code
from carekey.protocol.errors import ProtocolError
from carekey.protocol.session import Command
from carekey.seed.service import DEMO_PASSWORD
from carekey.sim.day_check import BlockedAgreements
from carekey.sim.day_partner_world import Agreement, Company, load_partner_world
from carekey.sim.day_plan import plan_door
from carekey.sim.day_world import DAY, SIM_WALLET, Network, local
from carekey.store import models as m

if TYPE_CHECKING:
    from carekey.sim.day import DaySimulation

SEED_OFFSET: Final = 15  # the partners' own random stream: the rest of the day is unchanged
CHECKIN_EVERY: Final = dt.timedelta(minutes=10)
SYNC_EVERY_STOPS: Final = 2
ERRAND_CATEGORIES: Final = ("meal_box", "parcel", "pharmacy")
DAY_CATEGORIES: Final = ("post", "advertising")
ENTRANCE, GATE = "entrance_controller", "gate_controller"


# --- the phones -------------------------------------------------------------------------------


class PartnerNet(Network):
    """A partner phone's connection: the simulation notes what the server answered the key app
    (its keys, and what the heartbeats said about blocks)."""

    def __init__(self, client: TestClient, on_answer: Callable[[str, dict[str, Any]], None]):
        super().__init__(client)
        self.on_answer = on_answer

    def post(self, url: str, *, json: Any = None, headers: dict[str, str] | None = None) -> Any:
        response = super().post(url, json=json, headers=headers)
        path = url.rsplit("/", 1)[-1]
        if path in ("login", "bundle", "heartbeat") and response.status_code == 200:
            self.on_answer(path, response.json())
        return response


@dataclass(eq=False)
class Worker:
    """A partner worker on duty today, with the company's phone."""

    task: str  # newspaper, newspaper_night, post, errand
    employee_id: int
    phone_id: int
    number: str
    company: Company
    login_at: dt.datetime
    logout_at: dt.datetime
    stops: list[tuple[dt.datetime, tuple[str, ...]]] = field(default_factory=list)
    code: str = ""  # the one-time enrolment code
    app: KeyApp | None = None
    keys: dict[str, bytes] = field(default_factory=dict)  # door -> credential (last answer)
    keys_before_block: dict[str, bytes] = field(default_factory=dict)
    credentials: list[dict[str, Any]] = field(default_factory=list)  # as the server sent them
    told_at: dt.datetime | None = None  # when the phone learned of the block
    stops_since_sync: int = 0


@dataclass
class Errand:
    worker: Worker
    agreement: Agreement
    entrance: str
    recipient: str
    reference: str
    not_before: dt.datetime
    not_after: dt.datetime
    other_door: str | None  # another stairwell of the agreement (not the errand's)


@dataclass
class Block:
    company: Company
    association_id: int
    association: str
    agreements: tuple[int, ...]
    at: dt.datetime
    door: str  # a door of the association the workers used before the block
    version: int | None = None
    affected: list[Worker] = field(default_factory=list)


# --- the plan ---------------------------------------------------------------------------------


class PartnerDay:
    """The partners' part of one simulated day: plan, setup, the events on the queue, and the
    figures for the summary."""

    def __init__(self, sim: DaySimulation, engine: Engine) -> None:
        self.sim = sim
        self.engine = engine
        self.world = load_partner_world(engine)
        self.rng = random.Random(sim.options.seed + SEED_OFFSET)  # noqa: S311 - reproducible
        self.workers: list[Worker] = []
        self.tries: list[tuple[dt.datetime, str, Callable[[], None]]] = []
        self.errand: Errand | None = None
        self.block: Block | None = None
        self.late: tuple[Worker, str] | None = None
        self.home: tuple[Worker, str, str] | None = None
        self.tally: Counter[str] = Counter()
        self.refusals: Counter[str] = Counter()
        self.seconds = 0.0  # spent in the partners' events (the day's ``phases.partners_s``)
        self._plan()

    # --- choosing ---

    def _door(self, serial: str) -> None:
        """Simulate this door (drawn from the partners' stream, if no route reached it)."""
        doors = self.sim.plan.doors
        if serial not in doors:
            doors[serial] = plan_door(
                self.sim.world, serial, seed=self.sim.options.seed, rng=self.rng
            )

    def _stops(self, agreement: Agreement, count: int) -> list[tuple[str, ...]]:
        """Up to ``count`` stairwells of the agreement, each with the property's gate in front
        when the agreement has one; stairwells with simulated homes (care routes) first."""
        kinds = self.sim.world.device_rows
        entrances = [s for s in agreement.doors if kinds[s].kind.value == ENTRANCE]
        gates: dict[int, str] = {}
        for s in agreement.doors:
            if kinds[s].kind.value == GATE and s in self.world.property_of:
                gates.setdefault(self.world.property_of[s], s)
        routed = [s for s in entrances if s in self.sim.plan.doors]
        lived = [s for s in entrances if s not in routed and self.world.residents.get(s)]
        rest = [s for s in entrances if s not in routed and s not in lived]
        chosen: list[str] = []
        for pool in (routed, lived, rest):
            take = min(count - len(chosen), len(pool))
            chosen += self.rng.sample(pool, take) if take > 0 else []
        stops: list[tuple[str, ...]] = []
        for serial in chosen:
            gate = gates.get(self.world.property_of.get(serial, -1))
            stops.append((gate, serial) if gate else (serial,))
        return stops

    def _agreements(self, company: Company, *, errand: bool | None = None) -> list[Agreement]:
        return [
            a
            for a in self.world.agreements.values()
            if a.company_id == company.id
            and any(self.sim.world.device_rows[s].kind.value == ENTRANCE for s in a.doors)
            and (errand is None or a.requires_errand is errand)
        ]

    def _company(self, categories: Iterable[str], *, errand: bool) -> Company | None:
        for category in categories:
            for company in self.world.companies.values():
                if (
                    company.category == category
                    and company.workers
                    and self._agreements(company, errand=errand)
                ):
                    return company
        return None

    def _worker(
        self, company: Company, task: str, login: dt.datetime, logout: dt.datetime
    ) -> Worker:
        taken = {w.employee_id for w in self.workers}
        free = [w for w in company.workers if w[0] not in taken]
        employee_id, number, phone_id = self.rng.choice(free)
        worker = Worker(task, employee_id, phone_id, number, company, login, logout)
        self.workers.append(worker)
        return worker

    def _walk(self, worker: Worker, stops: list[tuple[str, ...]], times: list[dt.datetime]) -> None:
        for when, doors in zip(times, stops, strict=False):
            for serial in doors:
                self._door(serial)
            worker.stops.append((when, doors))

    def _plan(self) -> None:
        self._plan_newspapers()
        self._plan_post()
        self._plan_errand()

    def _plan_newspapers(self) -> None:
        company = self._company(("newspaper",), errand=False)
        if company is None:
            return
        agreements = self._agreements(company, errand=False)
        # Today's carrier: the tail of today's window (the simulated day starts at 06:00).
        agreement = self.rng.choice(agreements)
        start, end = agreement.windows.get(DAY.weekday(), (4 * 60, 7 * 60))
        first = max(local(0, start), local(6, 5))
        last = local(0, end)
        if first < last - dt.timedelta(minutes=20):
            worker = self._worker(company, "newspaper", first - dt.timedelta(minutes=3), local(9))
            stops = self._stops(agreement, 3)
            span = (last - dt.timedelta(minutes=10) - first) / max(1, len(stops))
            self._walk(worker, stops, [first + span * i for i in range(len(stops))])
            if worker.stops:
                entrance = worker.stops[0][1][-1]
                self.late = (worker, entrance)  # 08:30: outside the window
                homes = [
                    h
                    for when, doors in worker.stops
                    for h, _ in self.world.residents.get(doors[-1], [])
                ]
                if homes:
                    home = homes[0]
                    when, doors = next(
                        (t, d)
                        for t, d in worker.stops
                        if home in dict(self.world.residents.get(d[-1], []))
                    )
                    self._door(home)
                    self.home = (worker, home, doors[-1])
                    self.tries.append(
                        (when + dt.timedelta(minutes=2), "partner_home", self._try_home)
                    )
                self.tries.append((local(8, 30), "partner_late", self._try_late))
        # The night's carrier: tomorrow morning's window, whole.
        agreement = self.rng.choice(agreements)
        tomorrow = (DAY.weekday() + 1) % 7
        if tomorrow in agreement.windows:
            start, end = agreement.windows[tomorrow]
            first = local(0, start + 10, day=1)
            last = min(local(0, end, day=1), local(6, 50, day=1))
            worker = self._worker(company, "newspaper_night", first - dt.timedelta(minutes=5), last)
            stops = self._stops(agreement, 4)
            span = (last - dt.timedelta(minutes=15) - first) / max(1, len(stops))
            self._walk(worker, stops, [first + span * i for i in range(len(stops))])

    def _plan_post(self) -> None:
        company = self._company(DAY_CATEGORIES, errand=False)
        if company is None:
            return
        agreements = self._agreements(company, errand=False)
        today = [a for a in agreements if DAY.weekday() in a.windows]
        if not today:
            return
        blocked = self.rng.choice(today)
        others = [a for a in today if a.association_id != blocked.association_id]
        other = self.rng.choice(others) if others else None
        start, end = blocked.windows[DAY.weekday()]
        opens, closes = local(0, start), local(0, end)
        noon = local(12)
        if not opens < noon < closes:
            return
        # Two workers: both hold the association's doors before noon; afterwards they go on
        # with another association's stairwells, which the block leaves alone.
        first = self._worker(company, "post", opens + dt.timedelta(minutes=5), closes)
        second = self._worker(company, "post", opens + dt.timedelta(minutes=20), closes)
        morning = self._stops(blocked, 3)
        later = self._stops(other, 3) if other is not None else []
        hour = dt.timedelta(hours=1)
        self._walk(first, morning[:2], [opens + hour, opens + 2.5 * hour])
        self._walk(second, morning[2:] or morning[:1], [opens + 1.5 * hour])
        if later:
            self._walk(first, later[:2], [noon + hour, noon + 2.5 * hour])
            self._walk(second, (later[2:] + later)[:2], [noon - hour, noon + 1.5 * hour])
        if not first.stops:
            return
        self.block = Block(
            company=company,
            association_id=blocked.association_id,
            association=blocked.association,
            agreements=tuple(  # every agreement between the two, whatever its basis
                a.id
                for a in self.world.agreements.values()
                if a.company_id == company.id and a.association_id == blocked.association_id
            ),
            at=noon,
            door=first.stops[0][1][-1],
        )
        self.tries.append((noon, "partner_block", self._block))
        self.tries.append(
            (
                noon + dt.timedelta(minutes=20),
                "partner_after_block",
                partial(self._try_blocked, first),
            )
        )

    def _plan_errand(self) -> None:
        company = self._company(ERRAND_CATEGORIES, errand=True)
        if company is None:
            return
        period = (local(11), local(13))
        fits = [
            a
            for a in self._agreements(company, errand=True)
            if DAY.weekday() in a.windows
            and local(0, a.windows[DAY.weekday()][0]) <= period[0]
            and period[1] <= local(0, a.windows[DAY.weekday()][1])
        ]
        lived = [
            (a, s)
            for a in fits
            for s in a.doors
            if self.sim.world.device_rows[s].kind.value == ENTRANCE and self.world.residents.get(s)
        ]
        if not lived:
            return
        agreement, entrance = self.rng.choice(lived)
        _, recipient = self.rng.choice(self.world.residents[entrance])
        worker = self._worker(company, "errand", local(10, 45), local(11, 40))
        self._walk(worker, [(entrance,)], [local(11, 20)])
        others = [
            s
            for s in agreement.doors
            if s != entrance and self.sim.world.device_rows[s].kind.value == ENTRANCE
        ]
        self.errand = Errand(
            worker=worker,
            agreement=agreement,
            entrance=entrance,
            recipient=recipient,
            reference=f"MK-{DAY:%Y%m%d}-{self.rng.randrange(1000, 9999)}",
            not_before=period[0],
            not_after=period[1],
            other_door=self.rng.choice(others) if others else None,
        )
        self.tries.append((local(10, 50), "partner_errand_early", self._try_errand_early))
        if others:
            self.tries.append((local(11, 25), "partner_errand_other", self._try_errand_other))

    # --- setup (before anyone logs in) ---

    def setup(self) -> None:
        """What the day needs before the first login, in one transaction, through the partner
        company's own use cases (what its administrator does in the portal or the API): a
        one-time enrolment code per partner phone (``partners.service.enrolment_code``: only
        its hash is stored) and the errand (``partners.errands.request_errand``, every rule of
        an errand checked)."""
        now = self.sim.clock.now()
        with Session(self.engine) as s, s.begin():
            admins: dict[int, Actor] = {}

            def admin_of(company: Company) -> Actor:
                if company.id not in admins:
                    assert company.admin_id is not None, "every seeded company has an admin"
                    admin = s.get(m.Employee, company.admin_id)
                    assert admin is not None
                    admins[company.id] = actor_of(s, admin)
                return admins[company.id]

            for worker in self.workers:
                issued = enrolment_code(
                    s, actor=admin_of(worker.company), phone_id=worker.phone_id, now=now
                )
                worker.code = issued.code
            errand = self.errand
            if errand is not None:
                request_errand(
                    s,
                    actor=admin_of(errand.worker.company),
                    new=NewErrand(
                        agreement_id=errand.agreement.id,
                        entrance_id=self.world.entrance_id[errand.entrance],
                        reference=errand.reference,
                        recipient=errand.recipient,
                        not_before=errand.not_before,
                        not_after=errand.not_after,
                        employee_id=errand.worker.employee_id,
                    ),
                    now=now,
                )

    def schedule(self) -> None:
        sim = self.sim
        for worker in self.workers:
            sim.at(worker.login_at, "partner_login", self._timed(partial(self._login, worker)))
            when = worker.login_at + CHECKIN_EVERY
            while when < worker.logout_at:
                sim.at(when, "partner_checkin", self._timed(partial(self._checkin, worker)))
                when += CHECKIN_EVERY
            for when, doors in worker.stops:
                sim.at(when, "partner_stop", self._timed(partial(self._stop, worker, doors)))
            sim.at(worker.logout_at, "partner_logout", self._timed(partial(self._logout, worker)))
        for when, label, action in self.tries:
            sim.at(when, label, self._timed(action))

    def _timed(self, action: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            mark = time.perf_counter()
            try:
                action()
            finally:
                self.seconds += time.perf_counter() - mark

        return run

    # --- the phone ---

    def _answer(self, worker: Worker, path: str, body: dict[str, Any]) -> None:
        """What the server answered the worker's key app."""
        if path in ("login", "bundle"):
            worker.credentials = list(body.get("credentials", []))
            worker.keys = {
                door: base64.b64decode(c["credential"])
                for c in worker.credentials
                for door in c.get("doors", [])
            }
        block = self.block
        if block is None or worker.told_at is not None or worker not in block.affected:
            return
        named = {b.get("association") for b in (body.get("partner") or {}).get("blocked_by", [])}
        if block.association in named or body.get("status") == "WIPE":
            worker.told_at = self.sim.clock.now()

    def _login(self, worker: Worker) -> None:
        sim = self.sim
        net = PartnerNet(sim.client, partial(self._answer, worker))
        app = KeyApp(
            sim.workdir / "partner-phones" / str(worker.phone_id),
            server=ServerClient(net),
            clock=sim.clock,
            transports=sim._transport,
            wallet_options={"argon2": SIM_WALLET},
        )
        app.enrol(worker.code)
        worker.app = app
        app.login(worker.number, DEMO_PASSWORD, sim.personal_code)
        app.background()
        self.tally["partner_logins"] += 1

    def _checkin(self, worker: Worker) -> None:
        if worker.app is None:
            return
        status = worker.app.heartbeat_quietly()
        self.tally["partner_heartbeats"] += 1
        self.tally[f"partner_heartbeat_{status.lower()}"] += 1

    def _open(self, worker: Worker, serial: str) -> str:
        """The worker taps open in the key app (typing the personal code); the outcome."""
        app = worker.app
        assert app is not None
        try:
            outcome = app.open(serial, code=self.sim.personal_code)
        except AppError as exc:
            return exc.code
        finally:
            app.background()
        return "ok" if outcome.ok else outcome.code

    def _stop(self, worker: Worker, doors: tuple[str, ...]) -> None:
        if worker.app is None:
            return
        for serial in doors:
            result = self._open(worker, serial)
            self.tally["partner_taps"] += 1
            if result == "ok":
                self.tally["partner_openings_reported"] += 1
            else:
                self.refusals[f"partner:{result}"] += 1
                break  # the gate did not open: the stairwell is not reached
        worker.stops_since_sync += 1
        if worker.stops_since_sync >= SYNC_EVERY_STOPS:
            self.tally["partner_uploaded_items"] += worker.app.sync()
            worker.stops_since_sync = 0

    def _logout(self, worker: Worker) -> None:
        if worker.app is None:
            return
        worker.app.logout()  # uploads what waits first
        self.tally["partner_logouts"] += 1

    def _present(self, worker: Worker, serial: str, credential: bytes) -> str:
        """What a tampered key app would do: present a credential the server signed for this
        worker to a door the app holds no key for (or no longer does), with the phone's own
        device key, proof of freshness and denylist. The door's receipt goes to the outbox
        like any other."""
        sim, app = self.sim, worker.app
        assert app is not None
        assert app.keystore is not None
        run = sim.run_door(serial)
        entry = DoorEntry(serial.encode(), run.firmware.door_key.public, credential)
        live = app.live

        def time_tokens(_door: bytes, nonce: bytes | None) -> bytes | None:
            return live.time_token(BROADCAST_TOKEN_MAX_AGE) if nonce is None else None

        driver = PhoneDriver(
            device_key=app.keystore,
            counter=app.state.counter,
            time_tokens=time_tokens,
            denylist=live.snapshot,
            freshness=live.proof,
            carried=live.carried,
        )
        transport = sim._transport(serial)
        try:
            result = driver.run(transport, entry, Command.UNLOCK)
        except ProtocolError as exc:
            return exc.code
        finally:
            transport.close()
            app.state.counter = max(app.state.counter, driver.counter)
        if result.response.receipt is not None:
            app.outbox.add_receipt(serial, result.response.receipt)
        return "ok" if result.ok else result.response.result

    # --- the tries that must fail ---

    def _try_late(self) -> None:
        """08:30: the newspaper carrier at a stairwell of the round, after the window."""
        assert self.late is not None
        worker, serial = self.late
        if worker.app is None:
            return
        self.tally["partner_late_attempts"] += 1
        result = self._open(worker, serial)
        self.refusals[f"partner_late:{result}"] += 1

    def _try_home(self) -> None:
        """The carrier at a home lock behind the stairwell: the app holds no key for it; the
        stairwell's partner credential presented anyway is refused by the lock."""
        assert self.home is not None
        worker, home, entrance = self.home
        if worker.app is None:
            return
        self.tally["partner_home_attempts"] += 1
        self.refusals[f"partner_home_app:{self._open(worker, home)}"] += 1
        credential = worker.keys.get(entrance)
        if credential is not None:
            self.tally["partner_home_attempts"] += 1
            self.refusals[f"partner_home:{self._present(worker, home, credential)}"] += 1

    def _try_errand_early(self) -> None:
        errand = self.errand
        assert errand is not None
        if errand.worker.app is None:
            return
        self.tally["partner_errand_early_attempts"] += 1
        self.refusals[f"partner_errand_early:{self._open(errand.worker, errand.entrance)}"] += 1

    def _try_errand_other(self) -> None:
        errand = self.errand
        assert errand is not None
        assert errand.other_door is not None
        if errand.worker.app is None:
            return
        self.refusals[f"partner_errand_other:{self._open(errand.worker, errand.other_door)}"] += 1

    def _block(self) -> None:
        """12:00: the housing association blocks the company: every agreement between them,
        and the credentials issued under them revoked, in one transaction."""
        block = self.block
        assert block is not None
        now = self.sim.clock.now()
        block.at = now
        block.affected = [
            w
            for w in self.workers
            if w.company.id == block.company.id
            and w.app is not None
            and w.login_at <= now < w.logout_at
        ]
        for worker in block.affected:
            worker.keys_before_block = dict(worker.keys)
        with Session(self.engine) as s, s.begin():
            # The association's own user, through the portal's use case (the same transaction
            # as ``POST /api/v1/association/companies/{id}/block``).
            user = (
                s.execute(
                    select(m.Employee)
                    .where(m.Employee.housing_association_id == block.association_id)
                    .order_by(m.Employee.id)
                )
                .scalars()
                .first()
            )
            assert user is not None, "every seeded association has a user"
            done = block_company(
                s,
                actor=actor_of(s, user),
                company_id=block.company.id,
                reason="Foreningen har spærret firmaet / blocked by the association",
                now=now,
            )
            block.version = done.denylist_version
        self.tally["partner_blocks"] += 1

    def _try_blocked(self, worker: Worker) -> None:
        """After the block: the worker at a door of that association, through the app, and with
        the credential held before the block."""
        block = self.block
        assert block is not None
        if worker.app is None:
            return
        self.tally["partner_after_block_attempts"] += 1
        self.refusals[f"partner_after_block:{self._open(worker, block.door)}"] += 1
        credential = worker.keys_before_block.get(block.door)
        if credential is not None:
            self.tally["partner_after_block_attempts"] += 1
            result = self._present(worker, block.door, credential)
            self.refusals[f"partner_after_block_kept_key:{result}"] += 1

    # --- the summary ---

    def blocked_agreements(self) -> BlockedAgreements | None:
        block = self.block
        if block is None or block.version is None:
            return None
        return BlockedAgreements(block.agreements, block.at, block.version)

    def figures(self) -> dict[str, Any]:
        """What the simulation observed of the partners (the evidence is day_check's)."""
        out: dict[str, Any] = {
            "partner_workers": len(self.workers),
            "partner_logins": self.tally["partner_logins"],
            "partner_heartbeats": self.tally["partner_heartbeats"],
            "partner_openings_reported": self.tally["partner_openings_reported"],
            "partner_home_attempts": self.tally["partner_home_attempts"],
            "partner_refusals": dict(sorted(self.refusals.items())),
        }
        block = self.block
        if block is not None:
            told = [w.told_at for w in block.affected]
            out["partner_block_reach_s"] = (
                round(max((t - block.at).total_seconds() for t in told if t is not None))
                if told and all(t is not None for t in told)
                else None
            )
            out["partner_block"] = {
                "company": block.company.name,
                "association": block.association,
                "agreements": len(block.agreements),
                "workers_affected": len(block.affected),
                "workers_told": sum(1 for t in told if t is not None),
                "denylist_version": block.version,
            }
        errand = self.errand
        if errand is not None:
            doors = sorted({d for c in errand.worker.credentials for d in c.get("doors", [])})
            until = sorted({str(c.get("expires_at")) for c in errand.worker.credentials})
            out["partner_errand"] = {
                "company": errand.worker.company.name,
                "reference": errand.reference,
                "entrance": errand.entrance,
                "period": [_local(errand.not_before), _local(errand.not_after)],
                "doors_in_keys": doors,
                "keys_until": [_local(dt.datetime.fromisoformat(u)) for u in until],
            }
        return out


def _local(when: dt.datetime) -> str:
    return when.astimezone(COPENHAGEN).strftime("%H:%M")
