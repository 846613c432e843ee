"""Blocking and removal, and their undo. Each takes effect at once on the server: nothing more
is issued, live credentials go on the denylist (which phones carry to the doors), and the next
heartbeat of an affected phone says WIPE or REFRESH."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from carekey.access import Action, Actor, get_in_scope, reach
from carekey.audit.actions import record_admin_action
from carekey.domain import enums as e
from carekey.domain.errors import DomainError
from carekey.domain.exposure import door_tolerance
from carekey.keyservice.credentials import subject_of
from carekey.protocol import denylist as proto
from carekey.protocol.credential import MAX_VALIDITY
from carekey.protocol.keys import DevicePublicKey
from carekey.revocation import denylist as dl
from carekey.revocation import queries
from carekey.store import models as m
from carekey.webhooks import service as webhooks
from carekey.workorders import service as workorders  # a module: workorders imports us


@dataclass
class Revocation:
    """What a revocation did: the denylist version that carries it, and the doors that may still
    accept a revoked key until they learn that version (door id → the latest time a revoked key
    may still open there: ``domain.exposure.works_until``)."""

    changed: bool
    denylist_version: int | None
    exposed_doors: dict[int, dt.datetime] = field(default_factory=dict)
    # How many live credentials it revoked (set by ``revoke_people``).
    revoked_credentials: int = 0


def _reason(reason: str) -> str:
    text = reason.strip()
    if not text:
        raise DomainError(
            "revocation.reason_required",
            "Angiv en begrundelse",
            "Give a reason",
        )
    return text


def _live_credentials(db: Session, *, now: dt.datetime, **which: int) -> list[m.IssuedCredential]:
    # A credential that expired less than PRUNE_MARGIN ago may still open a door whose clock is
    # behind: it is revoked and denylisted like a live one.
    return queries.live_credentials(db, now=now - dl.PRUNE_MARGIN, **which)


def _exposure(
    db: Session, creds: list[m.IssuedCredential], *, only_door: int | None = None
) -> dict[int, dt.datetime]:
    """Door id → the latest time one of ``creds`` may still open it: the credential's expiry or
    its phone's last proof of freshness, whichever is first, plus the door's clock tolerance.

    Honest for a blocked phone or employee (no proof is issued after a block: the phone's last
    proof is its last), and for a withdrawn door (a proof issued after the removal names a
    denylist version that makes the door ask for its withdrawal piece first). Another employee
    logging in on the same phone later renews its proof; the key app deletes the previous keys
    at every login."""
    latest: dict[int, dt.datetime] = {}
    proofs = queries.phone_proofs(db, phone_ids={c.phone_id for c in creds if c.phone_id})
    for c in creds:
        proof = proofs.get(c.phone_id) if c.phone_id is not None else None
        end = c.expires_at if proof is None else min(c.expires_at, proof)
        for door in c.door_device_ids or ():
            if only_door is not None and door != only_door:
                continue
            if door not in latest or end > latest[door]:
                latest[door] = end
    contacts = queries.door_contacts(db, door_ids=latest)
    return {door: end + door_tolerance(contacts.get(door), end) for door, end in latest.items()}


# --- phones ------------------------------------------------------------------------------------


def block_phone(
    db: Session, *, actor: Actor, phone_id: int, reason: str, lost: bool, now: dt.datetime
) -> Revocation:
    """Block a phone (``lost`` marks it lost or stolen). Its keys are denylisted by device key."""
    phone = get_in_scope(db, reach(actor, Action.BLOCK_STAFF), m.Phone, phone_id)
    return block_this_phone(db, actor=actor, phone=phone, reason=reason, lost=lost, now=now)


def block_this_phone(
    db: Session, *, actor: Actor, phone: m.Phone, reason: str, lost: bool, now: dt.datetime
) -> Revocation:
    """Block ``phone``, already fetched in the actor's reach by the caller (the municipality's
    ``block_phone``, a partner company's ``partners.service``): the same denylist entry, the
    same admin action, whoever blocks."""
    why = _reason(reason)
    creds = _live_credentials(db, now=now, phone_id=phone.id)
    if phone.status in (e.PhoneStatus.BLOCKED, e.PhoneStatus.LOST):
        return Revocation(False, None, _exposure(db, creds))
    phone.status = e.PhoneStatus.LOST if lost else e.PhoneStatus.BLOCKED
    phone.blocked_reason = why
    phone.session_epoch += 1
    for c in creds:
        c.revoked_at = c.revoked_at or now
    version = None
    if creds and phone.public_key is not None:
        key_id = DevicePublicKey(phone.public_key).key_id
        version = dl.apply_changes(
            db,
            municipality_id=phone.municipality_id,
            reason=e.DenylistReason.PHONE_LOST if lost else e.DenylistReason.PHONE_BLOCKED,
            now=now,
            add=[dl.Entry(e.DenylistEntryKind.DEVICE, key_id, max(c.expires_at for c in creds))],
        )
    record_admin_action(
        db,
        actor=actor,
        municipality_id=phone.municipality_id,
        action="phone.lost" if lost else "phone.blocked",
        target_type="phone",
        target_id=phone.id,
        reason=why,
        now=now,
        details={"denylist_version": version, "live_credentials": len(creds)},
    )
    webhooks.emit_revocation(
        db,
        municipality_id=phone.municipality_id,
        event_type=webhooks.WebhookEventType.PHONE_BLOCKED,
        resource=f"phone:{phone.id}",
        data={"phone_id": phone.id, "lost": lost, "denylist_version": version},
        now=now,
    )
    return Revocation(True, version, _exposure(db, creds))


def unblock_phone(
    db: Session, *, actor: Actor, phone_id: int, reason: str, now: dt.datetime
) -> Revocation:
    """Let a found phone log in again. Its old keys stay dead: the device entry is replaced by
    entries for each credential it held, so only a new login gives it keys."""
    phone = get_in_scope(db, reach(actor, Action.BLOCK_STAFF), m.Phone, phone_id)
    return unblock_this_phone(db, actor=actor, phone=phone, reason=reason, now=now)


def unblock_this_phone(
    db: Session, *, actor: Actor, phone: m.Phone, reason: str, now: dt.datetime
) -> Revocation:
    """Unblock ``phone``, already fetched in the actor's reach by the caller."""
    why = _reason(reason)
    if phone.status not in (e.PhoneStatus.BLOCKED, e.PhoneStatus.LOST):
        return Revocation(False, None)
    phone.status = e.PhoneStatus.ACTIVE
    phone.blocked_reason = None
    phone.session_epoch += 1
    phone.bundle_digest = None
    creds = _live_credentials(db, now=now, phone_id=phone.id)
    version = None
    if phone.public_key is not None:
        version = dl.apply_changes(
            db,
            municipality_id=phone.municipality_id,
            reason=e.DenylistReason.PHONE_BLOCKED,
            now=now,
            add=[
                dl.Entry(e.DenylistEntryKind.CREDENTIAL, c.credential_id, c.expires_at)
                for c in creds
            ],
            remove=[(e.DenylistEntryKind.DEVICE, DevicePublicKey(phone.public_key).key_id)],
        )
    record_admin_action(
        db,
        actor=actor,
        municipality_id=phone.municipality_id,
        action="phone.unblocked",
        target_type="phone",
        target_id=phone.id,
        reason=why,
        now=now,
    )
    return Revocation(True, version)


# --- employees ---------------------------------------------------------------------------------


def block_employee(
    db: Session, *, actor: Actor, employee_id: int, reason: str, now: dt.datetime
) -> Revocation:
    """Block an employee on every phone: their keys are denylisted by subject."""
    employee = get_in_scope(db, reach(actor, Action.BLOCK_STAFF), m.Employee, employee_id)
    return block_this_employee(db, actor=actor, employee=employee, reason=reason, now=now)


def block_this_employee(
    db: Session, *, actor: Actor, employee: m.Employee, reason: str, now: dt.datetime
) -> Revocation:
    """Block ``employee``, already fetched in the actor's reach by the caller (the
    municipality's ``block_employee``, a partner company's ``partners.service``): the same
    subject entry on the denylist, the same admin action, whoever blocks."""
    why = _reason(reason)
    creds = _live_credentials(db, now=now, employee_id=employee.id)
    if employee.status is e.EmployeeStatus.BLOCKED:
        return Revocation(False, None, _exposure(db, creds))
    employee.status = e.EmployeeStatus.BLOCKED
    employee.blocked_reason = why
    employee.blocked_at = now
    employee.session_epoch += 1
    for c in creds:
        c.revoked_at = c.revoked_at or now
    version = None
    if creds:
        version = dl.apply_changes(
            db,
            municipality_id=employee.municipality_id,
            reason=e.DenylistReason.EMPLOYEE_BLOCKED,
            now=now,
            add=[
                dl.Entry(
                    e.DenylistEntryKind.SUBJECT,
                    proto.subject_id(subject_of(employee.id)),
                    max(c.expires_at for c in creds),
                )
            ],
        )
    record_admin_action(
        db,
        actor=actor,
        municipality_id=employee.municipality_id,
        action="employee.blocked",
        target_type="employee",
        target_id=employee.id,
        reason=why,
        now=now,
        details={"denylist_version": version, "live_credentials": len(creds)},
    )
    webhooks.emit_revocation(
        db,
        municipality_id=employee.municipality_id,
        event_type=webhooks.WebhookEventType.EMPLOYEE_BLOCKED,
        resource=f"employee:{employee.id}",
        data={"employee_id": employee.id, "denylist_version": version},
        now=now,
    )
    return Revocation(True, version, _exposure(db, creds))


def unblock_employee(
    db: Session, *, actor: Actor, employee_id: int, reason: str, now: dt.datetime
) -> Revocation:
    """Let an employee log in again; keys issued before the block stay dead."""
    employee = get_in_scope(db, reach(actor, Action.BLOCK_STAFF), m.Employee, employee_id)
    return unblock_this_employee(db, actor=actor, employee=employee, reason=reason, now=now)


def unblock_this_employee(
    db: Session, *, actor: Actor, employee: m.Employee, reason: str, now: dt.datetime
) -> Revocation:
    """Unblock ``employee``, already fetched in the actor's reach by the caller."""
    why = _reason(reason)
    if employee.status is not e.EmployeeStatus.BLOCKED:
        return Revocation(False, None)
    employee.status = e.EmployeeStatus.ACTIVE
    employee.blocked_reason = None
    employee.blocked_at = None
    employee.session_epoch += 1
    creds = _live_credentials(db, now=now, employee_id=employee.id)
    version = dl.apply_changes(
        db,
        municipality_id=employee.municipality_id,
        reason=e.DenylistReason.EMPLOYEE_BLOCKED,
        now=now,
        add=[
            dl.Entry(e.DenylistEntryKind.CREDENTIAL, c.credential_id, c.expires_at) for c in creds
        ],
        remove=[(e.DenylistEntryKind.SUBJECT, proto.subject_id(subject_of(employee.id)))],
    )
    record_admin_action(
        db,
        actor=actor,
        municipality_id=employee.municipality_id,
        action="employee.unblocked",
        target_type="employee",
        target_id=employee.id,
        reason=why,
        now=now,
    )
    return Revocation(True, version)


# --- several people at once (a partner company) -----------------------------------------------


def revoke_people(
    db: Session,
    *,
    municipality_id: int,
    employee_ids: Collection[int],
    reason: e.DenylistReason,
    now: dt.datetime,
) -> Revocation:
    """Denylist the subjects of several people in ONE new denylist version and revoke their
    live credentials: the same entries blocking each of them would add (``block_employee``).
    Who may do it the caller has decided (``organisations.service.block_company``); nothing is
    recorded here. People without a live credential need no entry (no key of theirs can open a
    door), so nothing at all is published when none has one."""
    creds = _live_credentials_of(db, employee_ids, now=now)
    latest: dict[int, dt.datetime] = {}
    for c in creds:
        c.revoked_at = c.revoked_at or now
        if c.employee_id is not None:
            latest[c.employee_id] = max(latest.get(c.employee_id, c.expires_at), c.expires_at)
    version = None
    if latest:
        version = dl.apply_changes(
            db,
            municipality_id=municipality_id,
            reason=reason,
            now=now,
            add=[
                dl.Entry(e.DenylistEntryKind.SUBJECT, proto.subject_id(subject_of(person)), until)
                for person, until in sorted(latest.items())
            ],
        )
    return Revocation(bool(employee_ids), version, _exposure(db, creds), len(creds))


def restore_people(
    db: Session,
    *,
    municipality_id: int,
    employee_ids: Collection[int],
    reason: e.DenylistReason,
    now: dt.datetime,
) -> Revocation:
    """Undo ``revoke_people`` in ONE new version: the subjects come off the denylist, and each
    credential issued before stays dead by an entry of its own (as ``unblock_employee``)."""
    if not employee_ids:
        return Revocation(False, None)
    creds = _live_credentials_of(db, employee_ids, now=now)
    version = dl.apply_changes(
        db,
        municipality_id=municipality_id,
        reason=reason,
        now=now,
        add=[
            dl.Entry(e.DenylistEntryKind.CREDENTIAL, c.credential_id, c.expires_at) for c in creds
        ],
        remove=[
            (e.DenylistEntryKind.SUBJECT, proto.subject_id(subject_of(person)))
            for person in sorted(employee_ids)
        ],
    )
    return Revocation(True, version)


def _live_credentials_of(
    db: Session, employee_ids: Collection[int], *, now: dt.datetime
) -> list[m.IssuedCredential]:
    # As ``_live_credentials``: just expired ones still count (a door's clock may be behind).
    return queries.live_credentials_of_employees(
        db, now=now - dl.PRUNE_MARGIN, employee_ids=employee_ids
    )


# --- citizens ----------------------------------------------------------------------------------


def _home_lock(db: Session, citizen: m.Citizen) -> m.DoorDevice | None:
    if citizen.dwelling_id is None:
        return None
    return queries.home_lock(db, dwelling_id=citizen.dwelling_id)


def door_entry_key(door_id: bytes) -> bytes:
    """The denylist id of a withdrawn door."""
    return proto.DenylistEntry.for_door(door_id, dt.datetime.now(dt.UTC)).id


def remove_citizen(
    db: Session,
    *,
    actor: Actor,
    citizen_id: int,
    reason: str,
    now: dt.datetime,
    trigger: e.WorkOrderTrigger = e.WorkOrderTrigger.CITIZEN_REMOVED,
) -> Revocation:
    """Remove a citizen's address from the solution: the home door leaves every later bundle,
    the door itself is withdrawn on the denylist (it refuses keys already issued), emergency
    keys to it end, and a work order to restore the original lock is created."""
    citizen = get_in_scope(db, reach(actor, Action.REMOVE_CITIZEN), m.Citizen, citizen_id)
    why = _reason(reason)
    if citizen.status is e.CitizenStatus.REMOVED:
        return Revocation(False, None)
    citizen.status = e.CitizenStatus.REMOVED
    citizen.removed_at = now
    for grant in queries.open_grants_to(db, citizen_id=citizen.id):
        grant.revoked_at = now
        grant.revoked_by_employee_id = actor.employee_id
    lock = _home_lock(db, citizen)
    version = None
    exposed: dict[int, dt.datetime] = {}
    if lock is not None:
        creds = _live_credentials(db, now=now, municipality_id=citizen.municipality_id)
        exposed = _exposure(db, creds, only_door=lock.id)
        version = dl.apply_changes(
            db,
            municipality_id=citizen.municipality_id,
            reason=e.DenylistReason.CITIZEN_REMOVED,
            now=now,
            add=[
                dl.Entry(
                    e.DenylistEntryKind.DOOR,
                    door_entry_key(lock.serial.encode()),
                    # Until every key that could name the door has expired.
                    now + MAX_VALIDITY,
                )
            ],
        )
        workorders.order_restore(
            db,
            citizen=citizen,
            door=lock,
            trigger=trigger,
            now=now,
            created_by_employee_id=actor.employee_id,
        )
    record_admin_action(
        db,
        actor=actor,
        municipality_id=citizen.municipality_id,
        action="citizen.removed",
        target_type="citizen",
        target_id=citizen.id,
        reason=why,
        now=now,
        details={"denylist_version": version, "home_lock": lock.id if lock else None},
    )
    webhooks.emit_revocation(
        db,
        municipality_id=citizen.municipality_id,
        event_type=webhooks.WebhookEventType.CITIZEN_REMOVED,
        resource=f"citizen:{citizen.id}",
        data={
            "citizen_id": citizen.id,
            "home_lock_serial": lock.serial if lock else None,
            "denylist_version": version,
        },
        now=now,
    )
    return Revocation(True, version, exposed)


def restore_citizen(
    db: Session, *, actor: Actor, citizen_id: int, reason: str, now: dt.datetime
) -> Revocation:
    """Undo a removal: the citizen's doors return to bundles and the door is no longer withdrawn;
    an open restore work order is cancelled."""
    citizen = get_in_scope(db, reach(actor, Action.REMOVE_CITIZEN), m.Citizen, citizen_id)
    why = _reason(reason)
    if citizen.status is not e.CitizenStatus.REMOVED:
        return Revocation(False, None)
    citizen.status = e.CitizenStatus.ACTIVE
    citizen.removed_at = None
    lock = _home_lock(db, citizen)
    version = None
    if lock is not None:
        version = dl.apply_changes(
            db,
            municipality_id=citizen.municipality_id,
            reason=e.DenylistReason.CITIZEN_REMOVED,
            now=now,
            remove=[(e.DenylistEntryKind.DOOR, door_entry_key(lock.serial.encode()))],
        )
        for order in queries.ordered_restore_work_orders(db, door_device_id=lock.id):
            order.status = e.WorkOrderStatus.CANCELLED
    record_admin_action(
        db,
        actor=actor,
        municipality_id=citizen.municipality_id,
        action="citizen.restored",
        target_type="citizen",
        target_id=citizen.id,
        reason=why,
        now=now,
    )
    return Revocation(True, version)
