"""Synthetic municipalities for demos, tests and benchmarks, deterministic for a given seed.

``copenhagen`` is sized like Copenhagen's home care today: about 25 districts, 2,000 citizens
with home locks, 1,200 entrances with controllers, 300 gates, 1,500 employees with phones,
40 housing associations and 6 partner companies. Everything is invented; all timestamps derive
from one base time so that two runs with the same seed and base time write the same rows: the
fixed ``BASE_TIME`` by default (tests, benchmarks, the simulated day), or for the demo
(``carekey seed``) this morning at 06:00 local time (``demo_base_time``), so its dashboard
looks alive.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import zoneinfo
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from argon2.low_level import Type, hash_secret
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import Connection

from carekey.domain import enums as e
from carekey.domain.errors import DomainError
from carekey.domain.partner_policy import DEFAULT_BASIS, OrganisationKind, valid_cvr_near
from carekey.protocol.credential import MAX_VALIDITY
from carekey.seed import names, queries
from carekey.seed.orders import order_spread
from carekey.store import models as m
from carekey.store.sealed import seal

BASE_TIME = dt.datetime(2026, 1, 5, 7, 0, tzinfo=dt.UTC)
DEMO_TIMEZONE = "Europe/Copenhagen"
DEMO_PASSWORD = "hjemmepleje"  # noqa: S105 - published demo password of synthetic data only
FIRMWARE = {"home_lock": "2.3.1", "entrance_controller": "1.8.0", "gate_controller": "1.8.0"}
# Cost of work in øre (1/100 DKK); typical list prices for fitting and commissioning.
INSTALL_COST_ORE = {
    "home_lock": 450_000,
    "entrance_controller": 620_000,
    "gate_controller": 680_000,
}

Progress = Callable[[str, int, int], None]
"""Called as ``progress(step, done, total)`` while seeding, for a progress bar."""


@dataclass(frozen=True)
class Profile:
    """How large a synthetic municipality to build."""

    name: str
    municipality_code: str
    municipality_name: str
    districts: int
    citizens: int
    entrances: int
    gates: int
    employees: int
    housing_associations: int
    partners: int


PROFILES: dict[str, Profile] = {
    "small": Profile("small", "0101", "Københavns Kommune", 3, 40, 24, 6, 30, 3, 3),
    "copenhagen": Profile(
        "copenhagen", "0101", "Københavns Kommune", 25, 2000, 1200, 300, 1500, 40, 6
    ),
}


@dataclass(frozen=True)
class SeedSummary:
    """What a seed run wrote."""

    profile: str
    seed: int
    counts: dict[str, int]


def _noop(_step: str, _done: int, _total: int) -> None:
    return None


def demo_base_time(now: dt.datetime | None = None) -> dt.datetime:
    """The demo's base time: the latest 06:00 in Copenhagen at or before ``now`` (by default
    the present), in UTC: this morning, or yesterday morning before 06:00, so nothing seeded
    lies in the future. Seeding again the same day gives the same rows."""
    zone = zoneinfo.ZoneInfo(DEMO_TIMEZONE)
    local = (now or dt.datetime.now(dt.UTC)).astimezone(zone)
    morning = dt.datetime.combine(local.date(), dt.time(6, 0), tzinfo=zone)
    if morning > local:
        morning = dt.datetime.combine(
            local.date() - dt.timedelta(days=1), dt.time(6, 0), tzinfo=zone
        )
    return morning.astimezone(dt.UTC)


def is_empty(connection: Connection) -> bool:
    """Whether the database holds no municipality yet."""
    return queries.municipality_count(connection) == 0


def seed(
    connection: Connection,
    *,
    profile: str,
    seed: int,
    secret: str,
    progress: Progress = _noop,
    base_time: dt.datetime = BASE_TIME,
) -> SeedSummary:
    """Fill an empty, migrated database with a synthetic municipality whose timestamps derive
    from ``base_time`` (an aware datetime; the fixed ``BASE_TIME`` unless given).

    Runs in the caller's transaction: either everything is written or nothing is.
    Raises ``DomainError`` for an unknown profile or a database that already holds data.
    """
    if profile not in PROFILES:
        raise DomainError(
            "seed.unknown_profile",
            f"Ukendt profil {profile!r}; vælg en af {', '.join(PROFILES)}",
            f"Unknown profile {profile!r}; choose one of {', '.join(PROFILES)}",
        )
    if not is_empty(connection):
        raise DomainError(
            "seed.not_empty",
            "Databasen indeholder allerede data; brug en tom database (eller --if-empty)",
            "The database already holds data; use an empty database (or --if-empty)",
        )
    if base_time.tzinfo is None:
        raise ValueError("base_time must be timezone-aware")
    builder = _Builder(PROFILES[profile], random.Random(seed), secret, base_time)
    steps = list(builder.steps())
    counts: dict[str, int] = {}
    for index, (label, model, rows) in enumerate(steps):
        progress(label, index, len(steps))
        queries.insert_all(connection, model, rows)
        counts[model.__tablename__] = counts.get(model.__tablename__, 0) + len(rows)
    progress("done", len(steps), len(steps))
    if connection.dialect.name == "postgresql":
        queries.advance_sequences(connection)
    queries.analyze(connection)
    return SeedSummary(profile, seed, counts)


class _Builder:
    """Builds the rows of one synthetic municipality in memory, in insertion order."""

    def __init__(
        self, profile: Profile, rng: random.Random, secret: str, base_time: dt.datetime
    ) -> None:
        self.p = profile
        self.rng = rng
        self.secret = secret
        self.t = base_time.astimezone(dt.UTC)

    def _when(self, days_before: int = 365) -> dt.datetime:
        return self.t - dt.timedelta(minutes=self.rng.randrange(days_before * 24 * 60))

    def _name(self) -> tuple[str, str]:
        return self.rng.choice(names.FIRST_NAMES), self.rng.choice(names.FAMILY_NAMES)

    def _ed25519_public(self) -> bytes:
        # Synthetic devices only: a real device makes its key from its own hardware RNG.
        key = Ed25519PrivateKey.from_private_bytes(self.rng.randbytes(32))
        return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    def steps(self) -> Iterator[tuple[str, type[m.Base], list[dict[str, Any]]]]:
        p, rng = self.p, self.rng
        municipality_id = 1
        yield (
            "kommune / municipality",
            m.Municipality,
            [
                {
                    "id": municipality_id,
                    "code": p.municipality_code,
                    "name": p.municipality_name,
                    "timezone": "Europe/Copenhagen",
                    "key_lifetime_minutes": MAX_VALIDITY // dt.timedelta(minutes=1),
                    "heartbeat_interval_s": 60,
                    "emergency_key_max_minutes": 480,
                    "wrong_code_limit": 5,
                    "created_at": self.t - dt.timedelta(days=3000),
                }
            ],
        )
        issuer_private = rng.randbytes(32)
        issuer_public = (
            Ed25519PrivateKey.from_private_bytes(issuer_private)
            .public_key()
            .public_bytes(Encoding.Raw, PublicFormat.Raw)
        )
        home_care_nonce = rng.randbytes(12)
        # The partner issuer key (home locks never trust it), derived from the same seed draw
        # so that the rest of the demo data stays as it was.
        partner_private = hashlib.sha256(b"carekey-partner-issuer" + issuer_private).digest()
        partner_public = (
            Ed25519PrivateKey.from_private_bytes(partner_private)
            .public_key()
            .public_bytes(Encoding.Raw, PublicFormat.Raw)
        )
        keys = [
            (1, issuer_private, issuer_public, e.IssuerKeyPurpose.HOME_CARE, home_care_nonce),
            (
                2,
                partner_private,
                partner_public,
                e.IssuerKeyPurpose.PARTNER,
                hashlib.sha256(b"nonce" + partner_private).digest()[:12],
            ),
        ]
        yield (
            "udstedernøgler / issuer keys",
            m.IssuerKey,
            [
                {
                    "id": key_id,
                    "municipality_id": municipality_id,
                    "kid": hashlib.sha256(public).digest()[:8],
                    "algorithm": "Ed25519",
                    "public_key": public,
                    "private_key_sealed": seal(
                        private, secret=self.secret, purpose="issuer_key", nonce=nonce
                    ),
                    "status": e.IssuerKeyStatus.ACTIVE,
                    "purpose": purpose,
                    "created_at": self.t - dt.timedelta(days=30),
                    "activated_at": self.t - dt.timedelta(days=30),
                    "retired_at": None,
                    "seeded": True,
                }
                for key_id, private, public, purpose, nonce in keys
            ],
        )
        yield (
            "denylist",
            m.DenylistVersion,
            [{"id": 1, "municipality_id": 1, "version": 0, "entry_count": 0, "created_at": self.t}],
        )

        district_specs = [names.DISTRICTS[i % len(names.DISTRICTS)] for i in range(p.districts)]
        districts = [
            {
                "id": i + 1,
                "municipality_id": municipality_id,
                "code": f"D{i + 1:02d}",
                "name": spec[0] if i < len(names.DISTRICTS) else f"{spec[0]} {i + 1}",
            }
            for i, spec in enumerate(district_specs)
        ]
        yield "distrikter / districts", m.District, districts

        associations = []
        for i in range(p.housing_associations):
            word = names.HOUSING_ASSOCIATION_WORDS[i % len(names.HOUSING_ASSOCIATION_WORDS)]
            base = names.HOUSING_ASSOCIATION_NAMES[i % len(names.HOUSING_ASSOCIATION_NAMES)]
            suffix = "" if i < len(names.HOUSING_ASSOCIATION_NAMES) else f" afd. {i + 1}"
            associations.append(
                {
                    "id": i + 1,
                    "municipality_id": municipality_id,
                    "name": f"{word} {base}{suffix}",
                    "cvr": valid_cvr_near(30000000 + i * 7919),
                    "contact_email": f"administration{i + 1}@boligforening.example",
                    "created_at": self._when(2000),
                }
            )
        yield "boligforeninger / housing associations", m.HousingAssociation, associations

        # Properties with 1–3 entrances each until the entrance count is reached.
        properties: list[dict[str, Any]] = []
        entrances: list[dict[str, Any]] = []
        entrance_district: dict[int, int] = {}
        used_addresses: set[tuple[str, str, str]] = set()
        while len(entrances) < p.entrances:
            district_index = len(properties) % p.districts
            _, postal, city, streets = district_specs[district_index]
            street = rng.choice(streets)
            number = str(rng.randrange(1, 180))
            while (street, number, postal) in used_addresses:
                number = str(int(number) + 1)
            used_addresses.add((street, number, postal))
            property_id = len(properties) + 1
            owned = rng.random() < 0.8
            properties.append(
                {
                    "id": property_id,
                    "municipality_id": municipality_id,
                    "housing_association_id": (
                        rng.randrange(1, p.housing_associations + 1) if owned else None
                    ),
                    "street": street,
                    "house_number": number,
                    "postal_code": postal,
                    "city": city,
                }
            )
            for letter in "ABC"[: rng.choice((1, 1, 2, 2, 3))]:
                if len(entrances) == p.entrances:
                    break
                entrance_id = len(entrances) + 1
                entrances.append(
                    {
                        "id": entrance_id,
                        "property_id": property_id,
                        "label": f"{street} {number}{letter}",
                    }
                )
                entrance_district[entrance_id] = district_index + 1
        yield "ejendomme / properties", m.Property, properties
        yield "opgange / entrances", m.Entrance, entrances

        gate_properties = rng.sample(range(1, len(properties) + 1), min(p.gates, len(properties)))
        gates: list[dict[str, Any]] = [
            {"id": i + 1, "property_id": prop, "label": "Port"}
            for i, prop in enumerate(sorted(gate_properties))
        ]
        yield "porte / gates", m.Gate, gates

        # Every entrance has at least one citizen (that is why it has a controller).
        citizen_entrances = list(range(1, p.entrances + 1))
        citizen_entrances += [
            rng.randrange(1, p.entrances + 1) for _ in range(p.citizens - p.entrances)
        ]
        citizen_entrances = citizen_entrances[: p.citizens]
        rng.shuffle(citizen_entrances)
        dwellings: list[dict[str, Any]] = []
        taken: dict[int, set[tuple[str, str]]] = {}
        for entrance_id in citizen_entrances:
            slots = taken.setdefault(entrance_id, set())
            while True:
                slot = (rng.choice(names.FLOORS), rng.choice(names.SIDES))
                if slot not in slots:
                    break
            slots.add(slot)
            dwellings.append(
                {
                    "id": len(dwellings) + 1,
                    "entrance_id": entrance_id,
                    "floor": slot[0],
                    "side": slot[1],
                }
            )
        yield "boliger / dwellings", m.Dwelling, dwellings

        citizens = []
        for dwelling in dwellings:
            given, family = self._name()
            citizens.append(
                {
                    "id": dwelling["id"],
                    "municipality_id": municipality_id,
                    "district_id": entrance_district[dwelling["entrance_id"]],
                    "dwelling_id": dwelling["id"],
                    "given_name": given,
                    "family_name": family,
                    "status": e.CitizenStatus.ACTIVE,
                    "created_at": self._when(2000),
                    "removed_at": None,
                }
            )
        yield "borgere / citizens", m.Citizen, citizens

        devices: list[dict[str, Any]] = []
        work_orders: list[dict[str, Any]] = []

        def add_device(kind: e.DoorKind, prefix: str, place: dict[str, int]) -> None:
            device_id = len(devices) + 1
            installed = self._when(2000)
            devices.append(
                {
                    "id": device_id,
                    "municipality_id": municipality_id,
                    "kind": kind,
                    "serial": f"{prefix}-{device_id:06d}",
                    "public_key": self._ed25519_public(),
                    "firmware_version": FIRMWARE[kind.value],
                    "status": e.DoorStatus.ACTIVE,
                    "dwelling_id": place.get("dwelling"),
                    "entrance_id": place.get("entrance"),
                    "gate_id": place.get("gate"),
                    # Most locks 60-100 %, a tail of flat batteries down to a few per cent.
                    "battery_pct": max(1, round(100 * rng.betavariate(2.0, 0.7)))
                    if kind is e.DoorKind.HOME_LOCK
                    else None,
                    "clock_offset_ms": int(rng.gauss(0, 800)),
                    "last_seen_at": self._when(3),
                    "last_event_seq": 0,
                    "denylist_version_seen": 0,
                    "installed_at": installed,
                    "created_at": installed - dt.timedelta(days=14),
                }
            )
            work_orders.append(
                {
                    "id": len(work_orders) + 1,
                    "municipality_id": municipality_id,
                    "kind": e.WorkOrderKind.INSTALL,
                    "status": e.WorkOrderStatus.SIGNED_OFF,
                    "trigger": e.WorkOrderTrigger.OFFICE,
                    "citizen_id": place.get("dwelling"),
                    "dwelling_id": place.get("dwelling"),
                    "entrance_id": place.get("entrance"),
                    "gate_id": place.get("gate"),
                    "door_device_id": device_id,
                    # The device is about three fifths of it, the fitter's work the rest.
                    "material_ore": INSTALL_COST_ORE[kind.value] * 3 // 5,
                    "labour_ore": INSTALL_COST_ORE[kind.value]
                    - INSTALL_COST_ORE[kind.value] * 3 // 5,
                    "cost_ore": INSTALL_COST_ORE[kind.value],
                    "signed_off_at": installed + dt.timedelta(days=2),
                    "ordered_at": installed - dt.timedelta(days=21),
                    "scheduled_for": installed,
                    "completed_at": installed,
                    "performed_by_employee_id": None,
                    "notes": None,
                }
            )

        for dwelling in dwellings:
            add_device(e.DoorKind.HOME_LOCK, "HL", {"dwelling": dwelling["id"]})
        for entrance in entrances:
            add_device(e.DoorKind.ENTRANCE_CONTROLLER, "EC", {"entrance": entrance["id"]})
        for gate in gates:
            add_device(e.DoorKind.GATE_CONTROLLER, "GC", {"gate": gate["id"]})

        # A batch of its own: a bulk insert takes its columns from its first row, and the
        # spread's rows carry columns (installer, service kind, checklist) the installs do not.
        # The spread draws from a generator of its own, seeded from the main one's state
        # without advancing it: everything seeded after it stays as it was before issue 16.
        orders_rng = random.Random(hashlib.sha256(repr(self.rng.getstate()).encode()).digest())

        def ordered_when(days_before: int) -> dt.datetime:
            return self.t - dt.timedelta(minutes=orders_rng.randrange(days_before * 24 * 60))

        spread = order_spread(
            orders_rng,
            ordered_when,
            employees=self.p.employees,
            municipality_id=municipality_id,
            devices=devices,
            entrances=entrances,
            properties=properties,
            citizens=citizens,
            first_id=len(work_orders),
        )
        yield from self._staff(municipality_id, districts)
        yield "enheder / door devices", m.DoorDevice, devices
        yield "arbejdsordrer / work orders", m.WorkOrder, work_orders

        # The consent comes before the lock: at the latest two weeks before it was fitted.
        fitted: dict[int, dt.datetime] = {
            d["dwelling_id"]: d["installed_at"] for d in devices if d["dwelling_id"]
        }

        def consent_at(citizen: dict[str, Any]) -> dt.datetime:
            created: dt.datetime = citizen["created_at"]
            lock = fitted.get(citizen["dwelling_id"])
            return min(created, lock - dt.timedelta(days=14)) if lock is not None else created

        consents = [
            {
                "id": c["id"],
                "municipality_id": municipality_id,
                "citizen_id": c["id"],
                "kind": e.ConsentKind.INSTALLATION,
                "given_by": rng.choice(
                    (e.ConsentGivenBy.CITIZEN,) * 8
                    + (e.ConsentGivenBy.RELATIVE, e.ConsentGivenBy.GUARDIAN)
                ),
                "given_by_name": None,
                "method": e.ConsentMethod.PAPER_SCANNED,
                "informed_at": consent_at(c) - dt.timedelta(days=7),
                "given_at": consent_at(c),
                "withdrawn_at": None,
                "document_ref": f"SAG-{c['id']:06d}",
                "recorded_by_employee_id": None,
            }
            for c in citizens
        ]
        yield "samtykker / consents", m.ConsentRecord, consents

        permissions = [
            {
                "id": i + 1,
                "municipality_id": municipality_id,
                "housing_association_id": prop["housing_association_id"],
                "property_id": prop["id"],
                "covers_entrances": True,
                "covers_gates": prop["id"] in gate_properties,
                "status": e.PermissionStatus.GRANTED,
                "requested_at": self.t - dt.timedelta(days=2100),
                "decided_at": self.t - dt.timedelta(days=2080),
                "decided_by_name": "Bestyrelsen",
                "note": None,
            }
            for i, prop in enumerate(q for q in properties if q["housing_association_id"])
        ]
        yield "tilladelser / permissions", m.PermissionRequest, permissions
        yield "arbejdsordrer i gang / orders in progress", m.WorkOrder, spread

        yield from self._partners(municipality_id, properties, entrances, gates, devices)

    def _staff(
        self, municipality_id: int, districts: list[dict[str, Any]]
    ) -> Iterator[tuple[str, type[m.Base], list[dict[str, Any]]]]:
        p, rng = self.p, self.rng
        salt = hashlib.sha256(b"carekey-demo-salt" + rng.randbytes(8)).digest()[:16]
        password_hash = hash_secret(
            DEMO_PASSWORD.encode(),
            salt,
            time_cost=2,
            memory_cost=19456,
            parallelism=1,
            hash_len=32,
            type=Type.ID,
        ).decode()
        self._password_hash = password_hash
        employees: list[dict[str, Any]] = []
        roles: list[dict[str, Any]] = []
        memberships: list[dict[str, Any]] = []
        phones: list[dict[str, Any]] = []
        for i in range(p.employees):
            employee_id = i + 1
            given, family = self._name()
            employees.append(
                {
                    "id": employee_id,
                    "municipality_id": municipality_id,
                    "employee_number": f"E{employee_id:05d}",
                    "full_name": f"{given} {family}",
                    "email": f"e{employee_id:05d}@kk.example",
                    "password_hash": password_hash,
                    "totp_secret_sealed": None,
                    "status": e.EmployeeStatus.ACTIVE,
                    "blocked_reason": None,
                    "blocked_at": None,
                    "created_at": self._when(1500),
                }
            )
            # The first employees fill the office roles; everyone else is a care worker.
            if i == 0 or i % 150 == 1:
                role = e.Role.ADMINISTRATOR
            elif i % 150 == 2:
                role = e.Role.AUDITOR
            elif i % 150 == 3:
                role = e.Role.INSTALLER
            elif i % 60 == 4:
                role = e.Role.DISTRICT_LEAD
            else:
                role = e.Role.CARE_WORKER
            roles.append({"employee_id": employee_id, "role": role})
            if role in (e.Role.CARE_WORKER, e.Role.DISTRICT_LEAD):
                home = districts[i % len(districts)]["id"]
                chosen = {home}
                if rng.random() < 0.1 and len(districts) > 1:
                    chosen.add(rng.choice(districts)["id"])
                memberships += [
                    {
                        "employee_id": employee_id,
                        "district_id": d,
                        "municipality_id": municipality_id,
                    }
                    for d in sorted(chosen)
                ]
            phones.append(
                {
                    "id": employee_id,
                    "municipality_id": municipality_id,
                    "employee_id": employee_id,
                    "label": f"KK-TLF-{employee_id:05d}",
                    "model": rng.choice(("iPhone 15", "iPhone 14", "Samsung Galaxy A55")),
                    "public_key": None,
                    "status": e.PhoneStatus.ACTIVE,
                    "blocked_reason": None,
                    "enrolled_at": None,
                    "last_seen_at": None,
                    "created_at": self._when(400),
                }
            )
        yield "medarbejdere / employees", m.Employee, employees
        yield "roller / roles", m.EmployeeRole, roles
        yield "distriktstilknytning / district membership", m.EmployeeDistrict, memberships
        yield "telefoner / phones", m.Phone, phones

    def _partners(
        self,
        municipality_id: int,
        properties: list[dict[str, Any]],
        entrances: list[dict[str, Any]],
        gates: list[dict[str, Any]],
        devices: list[dict[str, Any]],
    ) -> Iterator[tuple[str, type[m.Base], list[dict[str, Any]]]]:
        p, rng = self.p, self.rng
        companies: list[dict[str, Any]] = []
        for i in range(p.partners):
            name, category = names.PARTNERS[i % len(names.PARTNERS)]
            companies.append(
                {
                    "id": i + 1,
                    "municipality_id": municipality_id,
                    "name": name,
                    "cvr": valid_cvr_near(40000000 + i * 104729),
                    "organisation_kind": OrganisationKind.COMPANY,
                    "category": e.PartnerCategory(category),
                    "status": e.PartnerStatus.ACTIVE,
                    "contact_email": f"kontakt{i + 1}@partner.example",
                    "blocked_reason": None,
                    "blocked_at": None,
                    "created_at": self._when(1500),
                }
            )
        yield "samarbejdspartnere / partner companies", m.PartnerCompany, companies
        yield from self._organisation_people(municipality_id, companies)

        controller_of_entrance = {d["entrance_id"]: d for d in devices if d["entrance_id"]}
        controller_of_gate = {d["gate_id"]: d for d in devices if d["gate_id"]}
        entrances_by_property: dict[int, list[int]] = {}
        for entrance in entrances:
            entrances_by_property.setdefault(entrance["property_id"], []).append(entrance["id"])
        gates_by_property: dict[int, list[int]] = {}
        for gate in gates:
            gates_by_property.setdefault(gate["property_id"], []).append(gate["id"])

        # Access-policy windows by category: (weekdays, start, end) in local time.
        policy = {
            "newspaper": (range(7), 4 * 60, 7 * 60),
            "post": (range(5), 8 * 60, 17 * 60),
            "parcel": (range(6), 8 * 60, 21 * 60),
            "meal_box": (range(7), 10 * 60, 14 * 60),
            "pharmacy": (range(6), 9 * 60, 18 * 60),
            "advertising": (range(5), 9 * 60, 16 * 60),
        }
        agreements: list[dict[str, Any]] = []
        agreement_doors: list[dict[str, Any]] = []
        windows: list[dict[str, Any]] = []
        for association_id in range(1, p.housing_associations + 1):
            owned = [q["id"] for q in properties if q["housing_association_id"] == association_id]
            if not owned:
                continue
            for company in rng.sample(companies, min(len(companies), rng.randrange(2, 5))):
                agreement_id = len(agreements) + 1
                category = company["category"].value
                agreements.append(
                    {
                        "id": agreement_id,
                        "housing_association_id": association_id,
                        "partner_company_id": company["id"],
                        "legal_basis": DEFAULT_BASIS[company["category"]],
                        "blocked_at": None,
                        "valid_from": self.t - dt.timedelta(days=rng.randrange(30, 900)),
                        "valid_until": None,
                        "requires_errand": category in ("parcel", "meal_box", "pharmacy"),
                        "blocked": False,
                        "blocked_reason": None,
                        "created_at": self.t - dt.timedelta(days=900),
                    }
                )
                for property_id in owned:
                    for entrance_id in entrances_by_property.get(property_id, []):
                        door = controller_of_entrance[entrance_id]
                        agreement_doors.append(
                            {
                                "agreement_id": agreement_id,
                                "door_device_id": door["id"],
                                "door_kind": door["kind"],
                            }
                        )
                    for gate_id in gates_by_property.get(property_id, []):
                        door = controller_of_gate[gate_id]
                        agreement_doors.append(
                            {
                                "agreement_id": agreement_id,
                                "door_device_id": door["id"],
                                "door_kind": door["kind"],
                            }
                        )
                weekdays, start, end = policy[category]
                windows += [
                    {
                        "id": len(windows) + n + 1,
                        "agreement_id": agreement_id,
                        "weekday": day,
                        "start_minute": start,
                        "end_minute": end,
                    }
                    for n, day in enumerate(weekdays)
                ]
        yield "aftaler / agreements", m.Agreement, agreements
        yield "aftaledøre / agreement doors", m.AgreementDoor, agreement_doors
        yield "tidsvinduer / time windows", m.AgreementWindow, windows

    def _organisation_people(
        self, municipality_id: int, companies: list[dict[str, Any]]
    ) -> Iterator[tuple[str, type[m.Base], list[dict[str, Any]]]]:
        """One user per housing association (``B001``…), and per partner company an
        administrator (``P01-ADM``) and 5–20 workers (``P01-001``…) with a company phone each:
        rows of ``employee`` and ``phone`` after the municipality's own."""
        p, rng = self.p, self.rng
        people: list[dict[str, Any]] = []
        roles: list[dict[str, Any]] = []
        phones: list[dict[str, Any]] = []

        def person(number: str, name: str, role: e.Role, **organisation: int) -> int:
            person_id = p.employees + len(people) + 1
            people.append(
                {
                    "id": person_id,
                    "municipality_id": municipality_id,
                    "employee_number": number,
                    "full_name": name,
                    "email": f"{number.lower()}@org.example",
                    "password_hash": self._password_hash,
                    "totp_secret_sealed": None,
                    "status": e.EmployeeStatus.ACTIVE,
                    "blocked_reason": None,
                    "blocked_at": None,
                    "housing_association_id": organisation.get("housing_association_id"),
                    "partner_company_id": organisation.get("partner_company_id"),
                    "created_at": self._when(1500),
                }
            )
            roles.append({"employee_id": person_id, "role": role})
            return person_id

        for association_id in range(1, p.housing_associations + 1):
            given, family = self._name()
            person(
                f"B{association_id:03d}",
                f"{given} {family}",
                e.Role.ASSOCIATION_USER,
                housing_association_id=association_id,
            )
        for company in companies:
            number = company["id"]
            given, family = self._name()
            person(
                f"P{number:02d}-ADM",
                f"{given} {family}",
                e.Role.PARTNER_ADMIN,
                partner_company_id=number,
            )
            for n in range(rng.randrange(5, 21)):
                given, family = self._name()
                worker = person(
                    f"P{number:02d}-{n + 1:03d}",
                    f"{given} {family}",
                    e.Role.PARTNER_WORKER,
                    partner_company_id=number,
                )
                phones.append(
                    {
                        "id": p.employees + len(phones) + 1,
                        "municipality_id": municipality_id,
                        "employee_id": worker,
                        "label": f"P{number:02d}-TLF-{n + 1:03d}",
                        "model": None,
                        "public_key": None,
                        "status": e.PhoneStatus.ACTIVE,
                        "blocked_reason": None,
                        "enrolled_at": None,
                        "last_seen_at": None,
                        "partner_company_id": number,
                        "created_at": self._when(400),
                    }
                )
        yield "foreningers og partneres brugere / association and partner users", m.Employee, people
        yield "deres roller / their roles", m.EmployeeRole, roles
        yield "partnertelefoner / partner phones", m.Phone, phones
