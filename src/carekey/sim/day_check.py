"""The simulated day's invariants, from independent evidence: each door's own signed log and
flash (which denylist version it took, from which log position), and the server's database.

The simulation's own counters are never evidence here. See ``docs/simulation.md`` for how each
figure is defined.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from carekey.clock import COPENHAGEN
from carekey.domain import enums as e
from carekey.protocol.credential import DoorKind
from carekey.protocol.events import EventKind
from carekey.sim.day_doors import DoorRun
from carekey.sim.day_world import DoorMeta, SimPhone
from carekey.store import models as m

OPERATIONS = frozenset({EventKind.UNLOCKED, EventKind.LOCKED, EventKind.RELAY_PULSE})
OPENINGS = frozenset({EventKind.UNLOCKED, EventKind.RELAY_PULSE})
UNCARRIED_REFUSALS = frozenset({"not_permitted"})


@dataclass
class Revoked:
    """A revocation and what the server said about it."""

    what: str
    at: dt.datetime
    version: int
    exposed: dict[int, dt.datetime]  # door device id -> latest expiry of a revoked key
    subject: str | None = None  # for a phone block: the subject whose keys died with it
    door: str | None = None  # for a withdrawn door
    proof_until: dt.datetime | None = None
    """The latest a door could still accept a proof of freshness of the phones concerned: the
    newest proof they held at the revocation, plus the doors' clock tolerance. Doors enforce it
    (``finder_with_code_openings_after_bound`` checks that from the doors' logs)."""


@dataclass
class Evidence:
    """What the doors' logs and the server's database say at the end of the day."""

    events_total: int
    events_lost: int
    awaiting: int  # still on a door: no phone has carried them yet
    dropped: int  # evicted from a door's ring
    flagged: int  # stored with chain_gap or chain_broken
    after_reached: int  # openings after a door learned the revocation that forbids them
    non_staff_home_openings: int
    exposures: list[dict[str, Any]]
    reached_s: list[float]
    batteries: list[tuple[float, float]]  # (at start, at end) per battery door
    offsets: list[tuple[float | None, float | None]]  # clock offset at first visit, at the end
    sessions: int
    openings_per_hour: Counter[int]
    lost_examples: list[str]


def gather_evidence(
    engine: Engine,
    *,
    runs: dict[str, DoorRun],
    doors: dict[str, DoorMeta],
    revocations: list[Revoked],
    gone: list[SimPhone],
    partner_subjects: frozenset[str],
    now: dt.datetime,
) -> Evidence:
    """Compare every simulated door's own log with the server's ``audit_event`` rows, and each
    revocation with when the doors it exposed learned it. ``partner_subjects`` are the subjects
    of the partner companies' workers (``e<employee id>`` like the municipality's own)."""
    ids = {run.meta.device_id: serial for serial, run in runs.items()}
    stored: set[tuple[str, int]] = set()
    with Session(engine) as s:
        id_list = list(ids)
        for i in range(0, len(id_list), 500):
            for row in s.execute(
                select(m.AuditEvent.door_device_id, m.AuditEvent.door_seq)
                .where(m.AuditEvent.door_device_id.in_(id_list[i : i + 500]))
                .where(m.AuditEvent.door_seq.is_not(None))
            ).all():
                stored.add((ids[row.door_device_id], int(row.door_seq)))
        flagged = s.execute(
            select(func.count())
            .select_from(m.AuditEvent)
            .where(m.AuditEvent.chain_gap.is_(True) | m.AuditEvent.chain_broken.is_(True))
        ).scalar_one()
    # Phones that never sync again (lost, or their employee blocked): what only they carried
    # is not lost by the server, it never reached it.
    gone_subjects = {f"e{p.employee_id}" for p in gone}
    gone_phones = {p.phone_id for p in gone}
    events_total = events_lost = awaiting = dropped = 0
    non_staff_home_openings = 0
    openings_per_hour: Counter[int] = Counter()
    lost_examples: list[str] = []
    for serial, run in runs.items():
        door = run.firmware
        dropped += door.flash.events_dropped
        for signed in door.flash.ring:
            ev = signed.event
            events_total += 1
            # A refusal's receipt goes to the phone's outbox, except a refused log read's
            # (``not_permitted``: a partner's key asked for the log; the key app drops it).
            by_phone = ev.kind in OPERATIONS or (
                ev.kind is EventKind.REFUSED
                and ev.subject is not None
                and ev.reason not in UNCARRIED_REFUSALS
            )
            carried = ev.seq in run.read_seqs_by_others(gone_phones) or (
                by_phone
                and ev.subject is not None
                and ev.subject.startswith("e")
                and ev.subject not in gone_subjects
            )
            if (serial, ev.seq) not in stored:
                if carried:
                    events_lost += 1
                    if len(lost_examples) < 5:
                        lost_examples.append(
                            f"{serial}#{ev.seq}:{ev.kind.name}:{ev.subject}:{ev.time}"
                        )
                else:
                    awaiting += 1
            if ev.kind in OPENINGS and ev.time is not None:
                openings_per_hour[ev.time.astimezone(COPENHAGEN).hour] += 1
            if door.kind is DoorKind.HOME and ev.kind is EventKind.UNLOCKED:
                subject = ev.subject or ""
                if subject in partner_subjects or not subject.startswith("e"):
                    non_staff_home_openings += 1
    # Revocations: when each door learned the version that carries it (door's flash).
    after_reached = 0
    exposures: list[dict[str, Any]] = []
    serial_of = {d.device_id: s for s, d in doors.items()}
    for rev in revocations:
        for device_id, until in rev.exposed.items():
            door_serial = serial_of.get(device_id)
            door_run = runs.get(door_serial) if door_serial else None
            learned = (
                next((x for x in door_run.learned if x.version >= rev.version), None)
                if door_run
                else None
            )
            reached = learned.at if learned else None
            if rev.door is not None and door_run is not None and door_run.withdrawn_at:
                reached = min(reached or door_run.withdrawn_at, door_run.withdrawn_at)
            end = min(reached, until) if reached else until  # keys die by themselves
            if rev.proof_until is not None:
                end = min(end, rev.proof_until)  # no door accepts the phones' proofs after it
            exposures.append(
                {
                    "revocation": rev.what,
                    "bounded_by_proof": rev.proof_until is not None and end == rev.proof_until,
                    "door": door_serial or str(device_id),
                    "simulated": door_run is not None,
                    "reached": reached is not None,
                    "exposure_s": max(0.0, (end - rev.at).total_seconds()),
                }
            )
            if door_run is None or learned is None:
                continue
            for signed in door_run.firmware.flash.ring:
                ev = signed.event
                if ev.seq <= learned.seq or ev.kind not in OPENINGS:
                    continue
                if rev.subject is not None and ev.subject == rev.subject:
                    after_reached += 1
                if rev.door is not None and rev.door == door_serial and ev.subject:
                    after_reached += 1
    reached_s = [x["exposure_s"] for x in exposures if x["reached"]]
    batteries = [
        (r.battery_start or 0.0, r.firmware.battery.percent)
        for r in runs.values()
        if r.firmware.battery is not None
    ]
    offsets = [(r.offset_first_s, _offset(r.firmware.clock.now(), now)) for r in runs.values()]
    sessions = sum(r.firmware.stats.sessions for r in runs.values())
    return Evidence(
        events_total=events_total,
        events_lost=events_lost,
        awaiting=awaiting,
        dropped=dropped,
        flagged=int(flagged),
        after_reached=after_reached,
        non_staff_home_openings=non_staff_home_openings,
        exposures=exposures,
        reached_s=reached_s,
        batteries=batteries,
        offsets=offsets,
        sessions=sessions,
        openings_per_hour=openings_per_hour,
        lost_examples=lost_examples,
    )


def _offset(door: dt.datetime | None, true: dt.datetime) -> float | None:
    return None if door is None else (door - true).total_seconds()


def count_openings(
    runs: dict[str, DoorRun], *, subject: str, after: dt.datetime, before: dt.datetime | None = None
) -> int:
    """Openings (unlock, relay pulse) by ``subject`` in the doors' own signed logs, later than
    ``after`` (and earlier than ``before``), by the doors' clocks."""
    count = 0
    for run in runs.values():
        for signed in run.firmware.flash.ring:
            ev = signed.event
            if ev.kind not in OPENINGS or ev.subject != subject or ev.time is None:
                continue
            if ev.time > after and (before is None or ev.time <= before):
                count += 1
    return count


# --- partners (issue 15) ----------------------------------------------------------------------


@dataclass(frozen=True)
class BlockedAgreements:
    """A housing association's block of a company: its agreements, when, the denylist version."""

    agreements: tuple[int, ...]
    at: dt.datetime
    version: int


@dataclass
class PartnerEvidence:
    """The partners' figures from the doors' own logs and the server's database."""

    openings: int  # stored by the server: openings at doors by partner workers (audit_event)
    openings_at_doors: int  # in the doors' own logs
    home_openings: int  # at home locks, in the doors' logs or stored by the server
    refusals_outside_window: int  # refused by a door for the window (doors' logs)
    refusals_at_doors: dict[str, int]  # every refusal of a partner worker, by reason
    credentials_seen: int  # distinct credential ids in partner events at the doors
    keys_signed_outside_server: int  # of those, not issued by the server as partner keys
    openings_after_block: int  # openings with a credential the block revoked, after it


def partner_evidence(
    engine: Engine,
    *,
    runs: dict[str, DoorRun],
    partner_ids: frozenset[int],
    partner_kids: frozenset[bytes],
    blocked: BlockedAgreements | None,
) -> PartnerEvidence:
    """Partner workers at the doors, from independent evidence. A partner event is one whose
    subject is a partner worker's, or whose subject is nobody's of the municipality (not
    ``e<id>``): every credential id in those must be in the server's ``issued_credential``,
    issued to ``partner_staff`` and signed with a partner issuer key."""
    subjects = {f"e{i}" for i in partner_ids}
    serial_of = {run.meta.device_id: serial for serial, run in runs.items()}
    with Session(engine) as s:
        revoked: set[bytes] = set()
        if blocked is not None:
            revoked = set(
                s.execute(
                    select(m.IssuedCredential.credential_id)
                    .where(m.IssuedCredential.agreement_id.in_(blocked.agreements))
                    .where(m.IssuedCredential.revoked_at.is_not(None))
                ).scalars()
            )
        worker = select(m.Employee.id).where(m.Employee.partner_company_id.is_not(None))
        stored = s.execute(
            select(m.AuditEvent.door_device_id, m.AuditEvent.door_seq, m.DoorDevice.kind)
            .join(m.DoorDevice, m.DoorDevice.id == m.AuditEvent.door_device_id)
            .where(m.AuditEvent.action.in_([e.AuditAction.UNLOCKED, e.AuditAction.RELAY_PULSED]))
            .where(m.AuditEvent.employee_id.in_(worker))
        ).all()
        home: set[tuple[str, int]] = {
            (serial_of.get(r.door_device_id, str(r.door_device_id)), int(r.door_seq or 0))
            for r in stored
            if r.kind is e.DoorKind.HOME_LOCK
        }
        at_doors = outside_window = after_block = 0
        refusals: Counter[str] = Counter()
        seen: set[bytes] = set()
        for serial, run in runs.items():
            is_home = run.firmware.kind is DoorKind.HOME
            for signed in run.firmware.flash.ring:
                ev = signed.event
                subject = ev.subject or ""
                partner = subject in subjects or (bool(subject) and not subject.startswith("e"))
                if (
                    blocked is not None
                    and ev.credential_id in revoked
                    and ev.kind in OPENINGS
                    and ev.time is not None
                    and ev.time > blocked.at
                ):
                    after_block += 1
                if not partner:
                    continue
                if ev.credential_id:
                    seen.add(ev.credential_id)
                if ev.kind in OPENINGS:
                    at_doors += 1
                    if is_home:
                        home.add((serial, ev.seq))
                elif ev.kind is EventKind.REFUSED:
                    refusals[ev.reason or "?"] += 1
                    outside_window += ev.reason == "outside_window"
        issued = {
            r.credential_id: r
            for chunk in _chunks(sorted(seen))
            for r in s.execute(
                select(
                    m.IssuedCredential.credential_id,
                    m.IssuedCredential.subject_type,
                    m.IssuedCredential.issuer_kid,
                ).where(m.IssuedCredential.credential_id.in_(chunk))
            ).all()
        }
    outside = sum(
        1
        for c in seen
        if c not in issued
        or issued[c].subject_type is not e.SubjectType.PARTNER_STAFF
        or issued[c].issuer_kid not in partner_kids
    )
    return PartnerEvidence(
        openings=len(stored),
        openings_at_doors=at_doors,
        home_openings=len(home),
        refusals_outside_window=outside_window,
        refusals_at_doors=dict(sorted(refusals.items())),
        credentials_seen=len(seen),
        keys_signed_outside_server=outside,
        openings_after_block=after_block,
    )


def _chunks(items: list[bytes], size: int = 500) -> list[list[bytes]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


INVARIANTS: tuple[str, ...] = (
    "events_lost",
    "openings_after_revocation_reached",
    "partner_home_openings",
    "non_staff_home_openings",
    "partner_keys_signed_outside_server",
    "finder_openings_after_block",
    "finder_with_code_openings_after_bound",
)
"""The summary's figures that must be 0; a day where one is not fails (``invariants_failed``)."""


def failed_invariants(summary: dict[str, Any]) -> list[str]:
    """The names of the invariants the day broke."""
    return [name for name in INVARIANTS if summary.get(name, 0) != 0]
