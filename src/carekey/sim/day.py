"""A whole day of home care, driven through the real server API, protocol and door firmware.

``carekey sim day --profile copenhagen`` builds a fresh database (a temporary SQLite file, or a
new ``carekey_sim_<random>`` database on the PostgreSQL server given with ``--database-url``,
dropped afterwards), migrates and seeds it, and runs the real FastAPI app in-process (over
``fastapi.testclient.TestClient``, i.e. real HTTP requests through ASGI) with a frozen clock that
the simulation moves from 06:00 through the evening and the night until 07:00 the next morning.

Phones are real :class:`~carekey.app.service.KeyApp` instances (enrolled with one-time codes from
the admin API, logged in with password and device proof, wallets, outboxes, heartbeats, uploads);
doors are the real firmware (:mod:`carekey.devices.homelock`, :mod:`carekey.devices.controller`)
reached over the in-memory :class:`~carekey.link.transport.BluetoothLink`. See
``docs/simulation.md`` for the scenario, what is sampled and how each invariant is computed.

This module runs the day: setup, the phones' visits, the incidents and the partners, event by
event. The world and its options are in :mod:`carekey.sim.day_world`, the plan in
:mod:`carekey.sim.day_plan`, the simulated doors in :mod:`carekey.sim.day_doors`, and the
invariants, computed from independent evidence (the doors' own signed logs and flash, and the
server's database), in :mod:`carekey.sim.day_check`. Counters the simulation keeps itself are
only used for reporting.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import heapq
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from carekey.app.client import AppError, ServerClient
from carekey.app.service import KeyApp
from carekey.auth.service import next_totp_code
from carekey.clock import FrozenClock
from carekey.config import Settings
from carekey.doors.commissioning import DoorKeyReport, commission_doors
from carekey.link.transport import BluetoothLink, Transport
from carekey.protocol.freshness import DEFAULT_FRESHNESS_LIFETIME
from carekey.protocol.keys import DoorKey
from carekey.protocol.session import Command
from carekey.seed.service import DEMO_PASSWORD, PROFILES, seed
from carekey.server.app import create_app
from carekey.sim import day_alarms as alarms
from carekey.sim import day_incidents as incidents
from carekey.sim.day_check import (
    Revoked,
    count_openings,
    failed_invariants,
    gather_evidence,
    partner_evidence,
)
from carekey.sim.day_doors import DoorRun, DoorTap, start_door
from carekey.sim.day_online import OnlineDoors
from carekey.sim.day_partners import PartnerDay
from carekey.sim.day_plan import plan_day
from carekey.sim.day_world import (
    DEFAULT_EMPLOYEES_FRACTION,
    DEFAULT_ROUTE_FRACTION,
    SIM_WALLET,
    DayOptions,
    Network,
    SimPhone,
    Visit,
    load_world,
    local,
)
from carekey.store import models as m
from carekey.store.db import create_db_engine
from carekey.store.migrate import upgrade

SECRET = "carekey-simulation-secret-0123456789abcdef"  # noqa: S105 - a throw-away database
PERSONAL_CODE = "2468"
SYNC_EVERY_VISITS = 3  # and uploads after every 3rd
STALE_CODES = frozenset({"freshness_expired", "freshness_missing"})
BLOCKS = frozenset({"phone_lost", "employee_blocked"})
CODE_ENTRY_S = 3.0  # typing a 4-digit personal code and OK, as modeled

Echo = Callable[[str], None]


# --- the simulation ---------------------------------------------------------------------------


class DaySimulation:
    """One simulated day. Build it with options, then :meth:`run` it."""

    def __init__(self, options: DayOptions, *, echo: Echo | None = None) -> None:
        if options.profile not in PROFILES:
            raise ValueError(f"ukendt profil / unknown profile {options.profile!r}")
        self.options = options
        self.echo = echo or (lambda _line: None)
        self.rng = random.Random(options.seed)  # noqa: S311 - a reproducible scenario
        self.clock = FrozenClock(local(6))
        self.route_fraction = (
            options.route_fraction
            if options.route_fraction is not None
            else DEFAULT_ROUTE_FRACTION.get(options.profile, 1.0)
        )
        self.employees_fraction = (
            options.employees_fraction
            if options.employees_fraction is not None
            else DEFAULT_EMPLOYEES_FRACTION.get(options.profile, 1.0)
        )
        self.admin: dict[str, str] = {}
        self._totp_step: int | None = None
        self.runs: dict[str, DoorRun] = {}
        self.queue: list[tuple[dt.datetime, int, str, Callable[[], None]]] = []
        self._seq = 0
        self.tally: Counter[str] = Counter()
        self.refusals: Counter[str] = Counter()
        self.revocations: list[Revoked] = []
        self.phases: dict[str, float] = {}
        self.personal_code = PERSONAL_CODE
        self.last_refusal = ""
        self.freshness_lifetime_s = round(
            (options.freshness_min or DEFAULT_FRESHNESS_LIFETIME.total_seconds() / 60) * 60
        )
        self.blocked_with_code_at: dt.datetime | None = None
        self.online: OnlineDoors | None = None  # issue 17: the day's online entrances

    # --- queue ---

    def at(self, when: dt.datetime, label: str, action: Callable[[], None]) -> None:
        """Schedule ``action`` at simulated time ``when``."""
        self._seq += 1
        heapq.heappush(self.queue, (when, self._seq, label, action))

    # --- setup ---

    def _database(self, stack: contextlib.ExitStack) -> Engine:
        url = self.options.database_url
        if url is None:
            engine = create_db_engine(f"sqlite:///{self.workdir / 'carekey.db'}")
            stack.callback(engine.dispose)
            return engine
        admin = create_db_engine(url, isolation_level="AUTOCOMMIT")
        if admin.dialect.name != "postgresql":
            admin.dispose()
            engine = create_db_engine(url)
            stack.callback(engine.dispose)
            return engine
        name = f"carekey_sim_{uuid.uuid4().hex[:12]}"
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))

        def drop() -> None:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()

        stack.callback(drop)
        sim_url = make_url(admin.url).set(database=name).render_as_string(hide_password=False)
        engine = create_db_engine(sim_url)
        stack.callback(engine.dispose)
        return engine

    # --- server actions ---

    def _totp_code(self) -> str:
        """The simulated administrator's authenticator app (set up in ``load_world``)."""
        code, self._totp_step = next_totp_code(
            self.world.admin_totp, self.clock.now(), self._totp_step
        )
        return code

    def _admin_headers(self) -> dict[str, str]:
        response = self.client.post(
            "/api/v1/auth/token",
            json={
                "municipality": "0101",
                "employee_number": self.world.admin_number,
                "password": DEMO_PASSWORD,
                "totp_code": self._totp_code(),
            },
        )
        response.raise_for_status()
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    def _admin(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.client.post(f"/api/v1/admin{path}", json=body, headers=self.admin)
        if response.status_code == 401:  # the office signs in again after 8 hours
            self.admin = self._admin_headers()
            response = self.client.post(f"/api/v1/admin{path}", json=body, headers=self.admin)
        if response.status_code >= 400:
            raise RuntimeError(f"{path}: {response.status_code} {response.text}")
        result: dict[str, Any] = response.json()
        return result

    def _commission(self, engine: Engine) -> None:
        """Commission the simulated doors with the keys their firmware will hold, before anyone
        logs in (phones get the public keys in their bundles)."""
        reports = [
            DoorKeyReport(d.device_id, DoorKey.from_seed(d.key_seed).public.key.raw)
            for d in self.plan.doors.values()
        ]
        with Session(engine) as s, s.begin():
            commission_doors(s, doors=reports, now=self.clock.now(), reason="carekey sim day")

    def _go_online(self, engine: Engine) -> None:
        """A share of the entrances and gates online (issue 17), with a state report from each
        every three hours."""
        if self.options.online_fraction <= 0:
            return
        self.online = OnlineDoors(
            engine=engine,
            clock=self.clock,
            secret=SECRET,
            code="0101",
            fraction=self.options.online_fraction,
        )
        doors = [(serial, meta.kind) for serial, meta in self.plan.doors.items()]
        self.online.start(doors, self.run_door, seed=self.options.seed)
        for hour in range(9, 31, 3):
            self.at(local(hour % 24, day=hour // 24), "online heartbeat", self.online.heartbeat)

    def _pushed(self, changed: set[tuple[int, int]]) -> None:
        """A request committed new denylist versions: the server pushes them to the online
        doors (in the real server: the MQTT bridge, ``online.signals``)."""
        if self.online is not None:
            self.online.notify(changed)

    def run_door(self, serial: str) -> DoorRun:
        """The running firmware of a door, started when a phone first reaches it."""
        run = self.runs.get(serial)
        if run is None:
            run = start_door(
                self.plan.doors[serial],
                keyring=self.world.keyring,
                clock=self.clock,
                partner_keyring=self.world.partner_keyring,  # entrances and gates only
            )
            self.runs[serial] = run
        return run

    def _transport(self, door_id: str) -> Transport:
        if door_id not in self.plan.doors:
            raise AppError(
                "app.door_unreachable",
                "Døren svarer ikke. Gå tættere på og prøv igen.",
                "The door does not answer. Move closer and try again.",
            )
        return BluetoothLink(DoorTap(self.run_door(door_id), self.clock)).connect()

    # --- phones ---

    def _enrol_and_login(self, phone: SimPhone) -> None:
        code = self._admin(f"/phones/{phone.phone_id}/enrolment-code")["code"]
        app = KeyApp(
            self.workdir / "phones" / str(phone.phone_id),
            server=ServerClient(phone.net),
            clock=self.clock,
            transports=self._transport,
            wallet_options={"argon2": SIM_WALLET},
        )
        app.enrol(code)
        phone.app = app
        app.login(phone.number, DEMO_PASSWORD, PERSONAL_CODE)
        self.tally["logins"] += 1

    def _online(self, phone: SimPhone) -> bool:
        if phone.lost:
            return False
        window = phone.offline
        now = self.clock.now()
        phone.net.online = not (window is not None and window[0] <= now < window[1])
        return phone.net.online

    def _checkin(self, phone: SimPhone, *, sync: bool) -> None:
        app = phone.app
        if app is None or phone.lost:
            return
        self._online(phone)
        try:
            status = app.heartbeat()
        except AppError as exc:
            self.tally[f"heartbeat_error:{exc.code}"] += 1
            return
        self.tally["heartbeats"] += 1
        self.tally[f"heartbeat_{status.lower()}"] += 1
        if sync and status not in ("OFFLINE", "WIPE", "NO_SESSION"):
            self.tally["uploaded_items"] += app.sync()
            phone.since_sync = 0

    def _tap_door(self, phone: SimPhone, serial: str, command: Command) -> bool:
        """The worker taps open or lock, typing the personal code when the app asks for it."""
        app = phone.app
        assert app is not None
        self.tally["door_taps"] += 1
        try:
            if command is Command.UNLOCK:
                outcome = app.open(serial, code=PERSONAL_CODE)
            else:
                outcome = app.lock_door(serial, code=PERSONAL_CODE)
        except AppError as exc:
            self.refusals[exc.code] += 1
            return False
        if not outcome.ok:
            self.refusals[outcome.code] += 1
            self.last_refusal = outcome.code
        else:
            self._collected(phone, serial)
        return outcome.ok

    def _collected(self, phone: SimPhone, serial: str) -> None:
        """Note what the key app collected of the door's log in its last door session (it reads
        the log itself on every visit, :mod:`carekey.link.logread`), for the day's check."""
        app = phone.app
        assert app is not None
        log = app.last_log
        run = self.runs.get(serial)
        if log is None or run is None:
            return
        self.tally["log_reads"] += 1
        self.tally["log_pages"] += log.pages
        if log.refused is not None:
            self.refusals[f"read:{log.refused}"] += 1
        if log.link_failed:
            self.refusals["read:link_failed"] += 1
        if log.seqs:
            top = max(log.seqs)
            run.read_by[phone.phone_id] = max(run.read_by.get(phone.phone_id, 0), top)
            run.seqs_read.setdefault(phone.phone_id, set()).update(log.seqs)
            run.read_upto = max(run.read_upto, top)
        run.last_read = self.clock.now()

    def _arrive(self, phone: SimPhone, visit: Visit) -> None:
        if phone.app is None or phone.lost:
            return
        self._online(phone)  # coverage on the street (the key app checks in before it opens)
        phone.visit_count += 1
        self.tally["visits"] += 1
        citizen = visit.citizen
        for serial in [*citizen.gates[:1], citizen.entrance]:
            if serial and not self._tap_door(phone, serial, Command.UNLOCK):
                self.tally["visit_outer_door_refused"] += 1
        self.last_refusal = ""
        opened = self._tap_door(phone, citizen.home, Command.UNLOCK)
        if opened:
            self.tally["visits_home_opened"] += 1
            self.at(visit.leave, "leave", lambda: self._leave(phone, visit))
        else:
            self.tally["visits_home_refused"] += 1
            if self.last_refusal in STALE_CODES:
                self.tally["visits_refused_stale"] += 1

    def _leave(self, phone: SimPhone, visit: Visit) -> None:
        if phone.app is None or phone.lost:
            return
        # Locking up also collects the home lock's log; the stairwell and the gate had theirs
        # collected when they opened on arrival.
        self._tap_door(phone, visit.citizen.home, Command.LOCK)
        phone.since_sync += 1
        if phone.since_sync >= SYNC_EVERY_VISITS and self._online(phone):
            self.tally["uploaded_items"] += phone.app.sync()
            phone.since_sync = 0
        phone.app.background()  # back in the pocket: the keys seal at once

    def _logout(self, phone: SimPhone) -> None:
        if phone.app is None or phone.lost:
            return
        phone.offline = None
        self._online(phone)
        phone.app.logout()
        self.tally["logouts"] += 1

    # --- incidents ---

    def _grant_emergency(self) -> None:
        helper, citizen = self.plan.emergency
        self._admin(
            "/emergency-keys",
            {
                "employee_id": helper.employee_id,
                "citizen_id": citizen.citizen_id,
                "reason": "Vikar dækker en borger uden for distriktet / substitute cover",
                "minutes": 120,
            },
        )
        self.tally["emergency_keys"] += 1

    def _power_loss(self) -> None:
        self.run_door(self.plan.power_lock).firmware.power_loss()
        self.tally["power_losses"] += 1

    # --- the day ---

    def _schedule(self) -> None:
        rng = self.rng
        for phone in self.plan.phones:
            login = local(phone.shift.start_hour) - dt.timedelta(minutes=rng.uniform(0, 30))
            self.at(login, "login", partial(self._enrol_and_login, phone))
            for visit in phone.visits:
                self.at(visit.arrive, "visit", partial(self._arrive, phone, visit))
            if not phone.visits:
                mid = local(phone.shift.start_hour + 4) + dt.timedelta(minutes=rng.uniform(0, 60))
                self.at(mid, "heartbeat", partial(self._checkin, phone, sync=True))
            if phone.offline is not None:
                back = partial(self._checkin, phone, sync=True)
                self.at(phone.offline[1], "back_online", back)
            end = local(phone.shift.start_hour + 8) + dt.timedelta(minutes=rng.uniform(0, 20))
            self.at(end, "logout", partial(self._logout, phone))
        plan = self.plan
        self.at(local(9), "power_loss", self._power_loss)
        self.at(local(10), "phone_lost", partial(incidents.lose_phone, self, plan.lost))
        self.at(
            local(10, 5),
            "phone_blocked",
            partial(incidents.block_phone, self, plan.lost, with_code=False),
        )
        self.at(local(11, 30), "emergency_key", self._grant_emergency)
        self.at(local(12), "citizen_removed", partial(incidents.remove_citizen, self))
        self.at(local(13), "phone_lost", partial(incidents.lose_phone, self, plan.lost_with_code))
        self.at(
            local(13, 5),
            "phone_blocked",
            partial(incidents.block_phone, self, plan.lost_with_code, with_code=True),
        )
        self.at(
            local(14), "employee_blocked", partial(incidents.block_employee, self, plan.blocked)
        )
        self.partners.schedule()  # partner workers through the server (issue 15)
        alarms.schedule_alarms(self)  # one scenario per door alarm (issue 13)

    def _drain(self, progress: Callable[[int, int], None]) -> None:
        total = len(self.queue)
        done = 0
        while self.queue:
            when, _, _label, action = heapq.heappop(self.queue)
            if when > self.clock.now():
                self.clock.set(when)
            action()
            done += 1
            if done % 200 == 0 or not self.queue:
                progress(done, max(total, done + len(self.queue)))
        # Past the last shift: auto-relocks and relay releases due by now happen.
        self.clock.set(max(self.clock.now(), local(7, day=1)))
        for run in self.runs.values():
            run.firmware.tick()

    def run(self, progress: Callable[[str, int, int], None] | None = None) -> dict[str, Any]:
        """Run the day and return the summary (the JSON line)."""
        report = progress or (lambda _phase, _done, _total: None)
        started = time.perf_counter()
        with contextlib.ExitStack() as stack:
            self.workdir = Path(tempfile.mkdtemp(prefix="carekey-sim-phones-", dir=_ram_dir()))
            stack.callback(shutil.rmtree, self.workdir, True)
            mark = time.perf_counter()
            engine = self._database(stack)
            upgrade(engine)
            with engine.begin() as connection:
                seed(
                    connection, profile=self.options.profile, seed=self.options.seed, secret=SECRET
                )
                connection.execute(
                    update(m.Municipality).values(freshness_lifetime_s=self.freshness_lifetime_s)
                )
            self.world = load_world(engine, secret=SECRET)
            settings = Settings(secret_key=SECRET)
            self.client = stack.enter_context(
                TestClient(
                    create_app(
                        settings, engine=engine, clock=self.clock, online_notify=self._pushed
                    )
                )
            )
            self.admin = self._admin_headers()
            self.plan = plan_day(
                self.world,
                rng=self.rng,
                seed=self.options.seed,
                network=lambda: Network(self.client),
                on_duty_share=self.options.on_duty,
                employees_fraction=self.employees_fraction,
                route_fraction=self.route_fraction,
            )
            self.partners = PartnerDay(self, engine)
            self.partners.setup()
            self._commission(engine)
            self._go_online(engine)
            self.phases["setup_s"] = round(time.perf_counter() - mark, 2)
            self.echo(
                f"Dagen planlagt / day planned: {len(self.plan.phones)} telefoner / phones, "
                f"{sum(len(p.visits) for p in self.plan.phones)} besøg / visits, "
                f"{len(self.plan.doors)} døre / doors"
            )
            mark = time.perf_counter()
            self._schedule()
            self._drain(lambda done, total: report("day", done, total))
            self.phases["day_s"] = round(time.perf_counter() - mark, 2)
            self.phases["partners_s"] = round(self.partners.seconds, 2)  # part of day_s
            mark = time.perf_counter()
            summary = self._check(engine)
            self.phases["check_s"] = round(time.perf_counter() - mark, 2)
            summary["phases"] = self.phases
            summary["wall_s"] = round(time.perf_counter() - started, 2)
            if self.options.report_dir is not None:
                from carekey.sim.report import write_report

                mark = time.perf_counter()
                write_report(self.options.report_dir, summary, self.details)
                self.phases["report_s"] = round(time.perf_counter() - mark, 2)
        summary["wall_s"] = round(time.perf_counter() - started, 2)
        return summary

    # --- the invariants ---
    # --- the summary ---

    def _check(self, engine: Engine) -> dict[str, Any]:
        found = gather_evidence(
            engine,
            runs=self.runs,
            doors=self.plan.doors,
            revocations=self.revocations,
            gone=[self.plan.lost, self.plan.lost_with_code, self.plan.blocked],
            partner_subjects=frozenset(f"e{i}" for i in self.partners.world.worker_ids),
            now=self.clock.now(),
        )
        partners = partner_evidence(
            engine,
            runs=self.runs,
            partner_ids=self.partners.world.worker_ids,
            partner_kids=frozenset(self.world.partner_keyring.keys),
            blocked=self.partners.blocked_agreements(),
        )
        walkers = [p for p in self.plan.phones if p.walker and p.visits]
        exposures, reached_s = found.exposures, found.reached_s
        plan = self.plan
        bound = dt.timedelta(seconds=self.freshness_lifetime_s) + incidents.door_tolerance()
        prompts = sum(p.app.code_prompts for p in plan.phones if p.app is not None)
        visits = max(1, self.tally["visits"])

        def blocked_at(phone: SimPhone) -> dt.datetime:
            subject = f"e{phone.employee_id}"
            return next(
                r.at for r in self.revocations if r.what == "phone_lost" and r.subject == subject
            )

        summary: dict[str, Any] = {
            "profile": self.options.profile,
            "seed": self.options.seed,
            "database": engine.dialect.name,
            "employees_on_duty": self.plan.on_duty,
            "employees_simulated": len(self.plan.phones),
            "employees_walking_routes": len(walkers),
            "logins": self.tally["logins"],
            "heartbeats": self.tally["heartbeats"],
            "visits": self.tally["visits"],
            "visits_home_opened": self.tally["visits_home_opened"],
            "door_operations": found.sessions,
            "doors_simulated": len(self.runs),
            "door_events": found.events_total,
            "events_lost": found.events_lost,
            "events_awaiting_collection": found.awaiting,
            "events_dropped_by_doors": found.dropped,
            "alarms_raised": alarms.alarms_raised(engine),
            "log_reads": self.tally["log_reads"],
            "log_pages": self.tally["log_pages"],
            "server_flagged_events": found.flagged,
            "openings_after_revocation_reached": found.after_reached,
            "non_staff_home_openings": found.non_staff_home_openings,
            # Partners (issue 15): from the server's audit log and the doors' own logs.
            "partner_openings": partners.openings,
            "partner_openings_at_doors": partners.openings_at_doors,
            "partner_refusals_outside_window": partners.refusals_outside_window,
            "partner_home_openings": partners.home_openings,
            "partner_openings_after_block": partners.openings_after_block,
            "partner_credentials_seen": partners.credentials_seen,
            "partner_keys_signed_outside_server": partners.keys_signed_outside_server,
            "partner_refusals_at_doors": partners.refusals_at_doors,
            **self.partners.figures(),
            "max_revocation_exposure_s": round(
                max(
                    (x["exposure_s"] for x in exposures if x["revocation"] in BLOCKS),
                    default=0.0,
                )
            ),
            "max_removal_exposure_s": round(
                max(
                    (x["exposure_s"] for x in exposures if x["revocation"] == "citizen_removed"),
                    default=0.0,
                )
            ),
            "freshness_lifetime_s": self.freshness_lifetime_s,
            "offline_bound_s": round(bound.total_seconds()),
            "max_revocation_reach_s": round(max(reached_s, default=0.0)),
            "median_revocation_reach_s": round(statistics.median(reached_s)) if reached_s else None,
            "revocation_doors": len(exposures),
            "revocation_doors_reached": len(reached_s),
            "finder_attempts": self.tally["finder_attempts"],
            "finder_openings_after_block": count_openings(
                self.runs, subject=f"e{plan.lost.employee_id}", after=blocked_at(plan.lost)
            ),
            "finder_with_code_attempts": self.tally["finder_with_code_attempts"],
            "finder_with_code_openings_within_bound": count_openings(
                self.runs,
                subject=f"e{plan.lost_with_code.employee_id}",
                after=blocked_at(plan.lost_with_code),
                before=blocked_at(plan.lost_with_code) + bound,
            ),
            "finder_with_code_openings_after_bound": count_openings(
                self.runs,
                subject=f"e{plan.lost_with_code.employee_id}",
                after=blocked_at(plan.lost_with_code) + bound,
            ),
            "visits_refused_stale": self.tally["visits_refused_stale"],
            "code_prompts_per_visit": round(prompts / visits, 2),
            # The friction: taps on open/lock, and the time to type the code (modeled at
            # CODE_ENTRY_S for 4 digits and OK; the door's own time is in bench protocol).
            "door_taps_per_visit": round(self.tally["door_taps"] / visits, 2),
            "code_seconds_per_visit": round(prompts * CODE_ENTRY_S / visits, 1),
            "refusals": dict(sorted(self.refusals.items())),
            "low_battery_locks": sum(1 for _, end in found.batteries if end <= 20.0),
            "scenario": self.plan.scenario,
        }
        if self.online is not None:
            summary.update(self.online.figures(exposures))
        if found.lost_examples:
            summary["lost_examples"] = found.lost_examples
        summary["invariants_failed"] = failed_invariants(summary)
        self.details = {
            "openings_per_hour": dict(found.openings_per_hour.items()),
            "exposures": exposures,
            "batteries": found.batteries,
            "offsets": found.offsets,
        }
        return summary


def _ram_dir() -> str | None:
    return "/dev/shm" if Path("/dev/shm").is_dir() else None  # noqa: S108 - RAM disk for speed


def run(
    options: DayOptions,
    *,
    echo: Echo | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, Any]:
    """Simulate one day and return the summary dict (what the CLI prints as JSON)."""
    return DaySimulation(options, echo=echo).run(progress)


def cli_command(
    profile: str = "copenhagen",
    seed_value: int = 1,
    database_url: str | None = None,
    report: Path | None = None,
    employees_fraction: float | None = None,
    route_fraction: float | None = None,
    freshness_min: float | None = None,
    online_fraction: float = 0.25,
) -> dict[str, Any]:
    """``carekey sim day``: a Rich progress bar on stderr, then one JSON line on stdout; the exit
    status is 1 when the day broke an invariant (``invariants_failed``, see
    ``day_check.INVARIANTS``)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    err = Console(stderr=True)
    options = DayOptions(
        profile=profile,
        seed=seed_value,
        database_url=database_url,
        report_dir=report,
        employees_fraction=employees_fraction,
        route_fraction=route_fraction,
        freshness_min=freshness_min,
        online_fraction=online_fraction,
    )
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    ) as bar:
        task = bar.add_task("Simulerer dagen / simulating the day", total=None)

        def progress(_phase: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        summary = run(options, echo=err.print, progress=progress)
    sys.stdout.write(json.dumps(summary, ensure_ascii=False) + "\n")
    sys.stdout.flush()
    if summary.get("invariants_failed"):
        err.print(
            f"[bold red]Invarianter brudt / invariants broken: {summary['invariants_failed']}"
        )
        raise SystemExit(1)
    return summary


__all__ = ["DayOptions", "DaySimulation", "cli_command", "run"]
