"""How a phone gets its keys: a login (password and device proof) and, later in the shift, a
refresh (session and device proof, no password). Both end in the same bundle: the doors of
``bundle_doors``, signed by ``credentials``, dying at login + the municipality's key lifetime.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from carekey.accounts import service as accounts
from carekey.auth.service import check_employee_password, password_change_required
from carekey.auth.tokens import open_token
from carekey.clock import local
from carekey.domain import enums as e
from carekey.domain.errors import ForbiddenError
from carekey.keyservice import issuer as issuer_service
from carekey.keyservice import partner_keys, queries
from carekey.keyservice.app_session import (
    LAST_SEEN_RESOLUTION,
    DeviceProof,
    issue_challenge,
    issue_session_token,
    phone_refused,
    session_refused,
    verify_device_proof,
)
from carekey.keyservice.bundle import BundleDoor, KeyBundle, denylist_json, door_digest
from carekey.keyservice.bundle_doors import doors_and_grants
from carekey.keyservice.credentials import Holder, sign_bundle, sign_single
from carekey.keyservice.freshness import Policy, issue_proof, needs_write, policy_of
from carekey.protocol import credential as cred
from carekey.protocol.keys import IssuerKey
from carekey.protocol.timetoken import issue_time_token
from carekey.revocation import denylist as denylist_service
from carekey.revocation.denylist import SignedDenylist
from carekey.store import models as m


@dataclass(frozen=True, slots=True)
class LoginAttempt:
    """What the key app sends to log in: who (municipality, employee number, password), on
    which phone, and the phone's proof that it holds that phone's device key."""

    municipality_code: str
    employee_number: str
    password: str = field(repr=False)
    phone_id: int
    proof: DeviceProof
    # The password to replace a one-time password with (docs/accounts.md): required when the
    # employee's password must change, ignored otherwise.
    new_password: str | None = field(default=None, repr=False)


def login(db: Session, attempt: LoginAttempt, *, secret: str, now: dt.datetime) -> KeyBundle:
    """Log an employee in on an enrolled phone and hand out today's key bundle."""
    phone = db.get(m.Phone, attempt.phone_id)
    refused = phone_refused(phone)
    if refused is not None:
        raise refused
    assert phone is not None
    verify_device_proof(
        phone.id, phone.public_key, proof=attempt.proof, purpose="login", secret=secret, now=now
    )
    employee = check_employee_password(
        db,
        municipality_code=attempt.municipality_code,
        employee_number=attempt.employee_number,
        password=attempt.password,
    )
    if (
        employee.municipality_id != phone.municipality_id
        or (phone.employee_id is not None and phone.employee_id != employee.id)
        # A partner company's phone is for its workers only, a municipal phone never theirs.
        or phone.partner_company_id != employee.partner_company_id
    ):
        raise ForbiddenError(
            "auth.not_your_phone",
            "Telefonen er ikke registreret til dig",
            "This phone is not registered to you",
        )
    if not may_hold_keys(employee):
        raise ForbiddenError(
            "auth.no_keys",
            "Du kan ikke få nøgler i nøgleappen",
            "You cannot get keys in the key app",
        )
    not_started = start_refusal(employee, now)
    if not_started is not None:
        raise not_started
    if employee.partner_company_id is not None and not partner_keys.company_active(
        db, employee.partner_company_id
    ):
        raise ForbiddenError(
            "auth.company_blocked",
            "Firmaet er spærret; der udleveres ingen nøgler",
            "The company is blocked; no keys are handed out",
        )
    if employee.password_must_change:
        # A one-time password: the login goes on only with the employee's own new password.
        if attempt.new_password is None:
            raise password_change_required()
        accounts.replace_required_password(
            db,
            employee=employee,
            password=attempt.new_password,
            repeated=None,
            now=now,
            via="app",
        )
    municipality = db.get(m.Municipality, employee.municipality_id)
    assert municipality is not None
    session_expires = now + dt.timedelta(minutes=municipality.key_lifetime_minutes)
    token = issue_session_token(employee, phone, session_expires, secret)
    db.add(
        m.AuditEvent(
            municipality_id=employee.municipality_id,
            source=e.AuditSource.SERVER,
            action=e.AuditAction.LOGIN,
            employee_id=employee.id,
            phone_id=phone.id,
            occurred_at=now,
            received_at=now,
        )
    )
    return build_bundle(
        db,
        employee=employee,
        phone=phone,
        secret=secret,
        now=now,
        session_expires=session_expires,
        session_token=token,
    )


def may_hold_keys(employee: m.Employee) -> bool:
    """Who may log in to the key app: the municipality's own employees, and a partner
    company's workers (role ``partner_worker``); never a housing association's user or a
    partner company's administrator (they work in the web portals)."""
    if employee.housing_association_id is not None:
        return False
    if employee.partner_company_id is not None:
        return any(r.role is e.Role.PARTNER_WORKER for r in employee.roles)
    return True


def start_refusal(employee: m.Employee, now: dt.datetime) -> ForbiddenError | None:
    """The refusal for an employee whose employment starts after today (local time): no keys
    before the first day (``employee.starts_on``, e.g. from the staff import)."""
    starts = employee.starts_on
    if starts is None or starts <= local(now).date():
        return None
    day = starts.strftime("%d.%m.%Y")
    return ForbiddenError(
        "auth.not_started",
        f"Din ansættelse starter {day}; du får nøgler fra den dag",
        f"Your employment starts on {day}; you get keys from that day",
    )


def build_bundle(
    db: Session,
    *,
    employee: m.Employee,
    phone: m.Phone,
    secret: str,
    now: dt.datetime,
    session_expires: dt.datetime,
    session_token: str | None = None,
) -> KeyBundle:
    """Sign today's keys for ``employee`` on ``phone``; they die at ``session_expires`` at the
    latest (≤ 9 h after login) and never outlive an emergency grant."""
    municipality = db.get(m.Municipality, employee.municipality_id)
    assert municipality is not None
    issuer_key = issuer_service.active_issuer_key(
        db, municipality_id=municipality.id, secret=secret
    )
    denylist = denylist_service.signed_pieces(
        db, municipality_id=municipality.id, issuer_key=issuer_key, now=now
    )
    bundle, changes = _build(
        db,
        holder=Holder.of(employee, phone),
        issuer_key=issuer_key,
        denylist=denylist,
        policy=policy_of(municipality),
        expires=min(session_expires, now + dt.timedelta(minutes=municipality.key_lifetime_minutes)),
        secret=secret,
        now=now,
        session_token=session_token,
        grants_possible=True,
    )
    for name, value in changes.items():
        setattr(phone, name, value)
    return bundle


def refresh_bundle(
    db: Session, *, token: str, proof: DeviceProof, secret: str, now: dt.datetime
) -> KeyBundle:
    """A fresh bundle for a logged-in phone: device proof and rights re-checked, no password.

    The same checks as ``require_session`` (phone and employee active, session epochs current),
    read with one Core query instead of ORM loads: this is the hot path of the morning rush."""
    payload = open_token(token, secret=secret, purpose="app", now=now)
    phone_id = int(payload["ph"])
    row = queries.refresh_row(db, employee_id=int(payload["emp"]), phone_id=phone_id, now=now)
    if row is None:
        raise session_refused("unknown")
    (
        employee_status,
        employee_epoch,
        municipality_id,
        employee_name,
        phone_status,
        phone_epoch,
        public_key,
        bundle_digest,
        bundle_expires_at,
        last_seen_at,
        key_lifetime_minutes,
        denylist_version,
        denylist_row,
        has_grants,
        freshness_expires_at,
        freshness_s,
        seal_after_s,
        freshness_warn_s,
        partner_company_id,
    ) = row
    if phone_status is not e.PhoneStatus.ACTIVE or phone_epoch != payload["pep"]:
        raise session_refused("phone_blocked")
    if employee_status is not e.EmployeeStatus.ACTIVE or employee_epoch != payload["eep"]:
        raise session_refused("employee_blocked")
    verify_device_proof(phone_id, public_key, proof=proof, purpose="bundle", secret=secret, now=now)
    session_expires = dt.datetime.fromtimestamp(payload["exp"], dt.UTC)
    issuer_key = issuer_service.active_issuer_key(
        db, municipality_id=municipality_id, secret=secret
    )
    holder = Holder(
        int(payload["emp"]),
        municipality_id,
        employee_name,
        phone_id,
        public_key,
        bundle_digest,
        bundle_expires_at,
        last_seen_at,
        freshness_expires_at,
        partner_company_id,
    )
    bundle, changes = _build(
        db,
        holder=holder,
        issuer_key=issuer_key,
        denylist=denylist_service.signed_pieces_of(
            db,
            municipality_id=municipality_id,
            version=denylist_version,
            row_id=denylist_row,
            issuer_key=issuer_key,
            now=now,
        ),
        policy=Policy(freshness_s, seal_after_s, freshness_warn_s),
        expires=min(session_expires, now + dt.timedelta(minutes=key_lifetime_minutes)),
        secret=secret,
        now=now,
        session_token=None,
        grants_possible=bool(has_grants),
    )
    if changes:
        queries.update_phone(db, phone_id=phone_id, values=changes)
    return bundle


def _build(
    db: Session,
    *,
    holder: Holder,
    issuer_key: IssuerKey,
    denylist: SignedDenylist,
    policy: Policy,
    expires: dt.datetime,
    secret: str,
    now: dt.datetime,
    session_token: str | None,
    grants_possible: bool,
) -> tuple[KeyBundle, dict[str, Any]]:
    """The key bundle, and the phone columns to update (only those whose value changes).

    Callers have checked that the phone and the employee are active (a blocked one never gets
    here, so never gets a proof of freshness)."""
    version = denylist.version
    # Tolerate door clocks a little behind, within the 9-hour ceiling of a credential's life.
    not_before = max(now - dt.timedelta(minutes=5), expires - cred.MAX_VALIDITY)
    partner: dict[str, Any] | None = None
    if holder.company_id is not None:
        doors, credentials, rows, digest, partner = _partner_keys(
            db,
            holder=holder,
            not_before=not_before,
            expires=expires,
            version=version,
            secret=secret,
            now=now,
        )
    else:
        doors, credentials, rows = _staff_keys(
            db,
            holder=holder,
            issuer_key=issuer_key,
            not_before=not_before,
            expires=expires,
            version=version,
            now=now,
            grants_possible=grants_possible,
        )
        digest = door_digest(doors)
    if rows:
        queries.insert_issued_credentials(db, rows)
    # Write only what changed: a refresh of an unchanged key set should not rewrite the phone.
    changes: dict[str, Any] = {}
    if holder.bundle_digest != digest:
        changes["bundle_digest"] = digest
    if holder.bundle_expires_at != expires:
        changes["bundle_expires_at"] = expires
    if holder.last_seen_at is None or now - holder.last_seen_at >= LAST_SEEN_RESOLUTION:
        changes["last_seen_at"] = now
    proof = None
    if holder.public_key is not None:
        proof = issue_proof(
            issuer_key=issuer_key,
            public_key=holder.public_key,
            denylist_version=version,
            lifetime_s=policy.freshness_s,
            now=now,
        )
        if needs_write(holder.freshness_expires_at, proof):
            changes["freshness_expires_at"] = proof.expires_at
    bundle = KeyBundle(
        session_token=session_token,
        expires_at=expires,
        employee_id=holder.employee_id,
        employee_name=holder.employee_name,
        doors=doors,
        credentials=credentials,
        time_token=issue_time_token(issuer_key=issuer_key, now=now),
        denylist=denylist_json(denylist),
        freshness=proof.to_json() if proof is not None else None,
        policy=policy.to_json(),
        digest=digest,
        next_challenge=issue_challenge(phone_id=holder.phone_id, secret=secret, now=now)[0],
        partner=partner,
    )
    return bundle, changes


def _staff_keys(
    db: Session,
    *,
    holder: Holder,
    issuer_key: IssuerKey,
    not_before: dt.datetime,
    expires: dt.datetime,
    version: int,
    now: dt.datetime,
    grants_possible: bool,
) -> tuple[list[BundleDoor], list[dict[str, Any]], list[dict[str, Any]]]:
    """A municipal employee's keys: the district bundle and a credential per emergency key."""
    doors, grants = doors_and_grants(db, employee=holder, now=now, grants_possible=grants_possible)
    regular = [d for d in doors if d.emergency_grant_id is None]
    credentials: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    if regular:
        body, row = sign_bundle(
            issuer_key=issuer_key,
            holder=holder,
            doors=regular,
            not_before=not_before,
            expires=expires,
            denylist_version=version,
            now=now,
        )
        credentials.append(body)
        rows.append(row)
    for grant_id in sorted({d.emergency_grant_id for d in doors if d.emergency_grant_id}):
        body, row = sign_single(
            issuer_key=issuer_key,
            holder=holder,
            doors=[d for d in doors if d.emergency_grant_id == grant_id],
            not_before=not_before,
            expires=min(expires, grants[grant_id].ends_at),
            denylist_version=version,
            grant_id=grant_id,
            now=now,
        )
        credentials.append(body)
        rows.append(row)
    return doors, credentials, rows


def _partner_keys(
    db: Session,
    *,
    holder: Holder,
    not_before: dt.datetime,
    expires: dt.datetime,
    version: int,
    secret: str,
    now: dt.datetime,
) -> tuple[list[BundleDoor], list[dict[str, Any]], list[dict[str, Any]], bytes, dict[str, Any]]:
    """A partner worker's keys (``keyservice.partner_keys``): signed with the partner issuer
    key, which home locks never trust; and what the app tells the worker about blocks."""
    assert holder.company_id is not None
    grants = partner_keys.partner_grants(
        db,
        worker_id=holder.employee_id,
        company_id=holder.company_id,
        municipality_id=holder.municipality_id,
        now=now,
        until=expires,
    )
    credentials: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    if grants:
        partner_key = issuer_service.active_issuer_key(
            db,
            municipality_id=holder.municipality_id,
            secret=secret,
            purpose=e.IssuerKeyPurpose.PARTNER,
        )
        credentials, rows = partner_keys.sign_partner_grants(
            issuer_key=partner_key,
            holder=holder,
            grants=grants,
            not_before=not_before,
            expires=expires,
            denylist_version=version,
            now=now,
        )
    notices = partner_keys.blocked_notices(db, company_id=holder.company_id, now=now)
    partner = {
        "company_id": holder.company_id,
        "company_blocked": not partner_keys.company_active(db, holder.company_id),
        "blocked_by": [n.to_json() for n in notices],
    }
    return (
        partner_keys.partner_doors(grants),
        credentials,
        rows,
        partner_keys.grants_digest(grants),
        partner,
    )
