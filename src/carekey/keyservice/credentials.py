"""Signing a bundle's credentials: one bundle credential for the shift's regular doors, a plain
credential per emergency key, and the ``issued_credential`` row of each.

No database here; the rows are inserted by the caller (``queries.insert_issued_credentials``).
"""

from __future__ import annotations

import datetime as dt
import functools
import secrets
from dataclasses import dataclass
from typing import Any

from carekey.domain import enums as e
from carekey.keyservice.bundle import BundleDoor, b64
from carekey.protocol import credential as cred
from carekey.protocol.keys import DevicePublicKey, IssuerKey
from carekey.store import models as m


def subject_of(employee_id: int) -> str:
    """The pseudonymous subject in an employee's credentials (never a name or CPR)."""
    return f"e{employee_id}"


@dataclass(slots=True)
class Holder:
    """Who a bundle is for: the employee and phone fields that building it needs. Read with one
    query on the refresh path (no ORM objects), taken from the ORM objects at login."""

    employee_id: int
    municipality_id: int
    employee_name: str
    phone_id: int
    public_key: bytes | None
    bundle_digest: bytes | None
    bundle_expires_at: dt.datetime | None
    last_seen_at: dt.datetime | None
    freshness_expires_at: dt.datetime | None = None
    # A partner company's worker (issue 15): keys from the company's agreements instead.
    company_id: int | None = None

    @classmethod
    def of(cls, employee: m.Employee, phone: m.Phone) -> Holder:
        """The holder fields of an employee and phone already loaded."""
        return cls(
            employee.id,
            employee.municipality_id,
            employee.full_name,
            phone.id,
            phone.public_key,
            phone.bundle_digest,
            phone.bundle_expires_at,
            phone.last_seen_at,
            phone.freshness_expires_at,
            employee.partner_company_id,
        )


_PROTO_KIND = {
    e.DoorKind.HOME_LOCK: cred.DoorKind.HOME,
    e.DoorKind.ENTRANCE_CONTROLLER: cred.DoorKind.ENTRANCE,
    e.DoorKind.GATE_CONTROLLER: cred.DoorKind.GATE,
}

# A single-kind leaf's wire bit (1 home, 2 entrance, 4 gate), looked up by a str-hashed key
# instead of through enum properties (≈ 200 leaves per bundle).
_KIND_BITS: dict[frozenset[cred.DoorKind], int] = {
    frozenset({kind}): cred.BundleLeaf.of(b"x", kind).kind_bits for kind in cred.DoorKind
}


@functools.lru_cache(maxsize=1 << 16)
def _leaf(door_id: bytes, kind: e.DoorKind) -> tuple[cred.BundleLeaf, list[Any]]:
    """A door's bundle leaf and its wire form ``[door id, kind bits]``, built once per process
    (a door's id and kind do not change; ≈ 200 leaves per key bundle)."""
    leaf = cred.BundleLeaf.of(door_id, _PROTO_KIND[kind])
    return leaf, [door_id.decode(), _KIND_BITS[leaf.kinds]]


def _issued_row(
    *,
    credential_id: bytes,
    issuer_key: IssuerKey,
    holder: Holder,
    doors: list[BundleDoor],
    serial: int,
    denylist_version: int,
    not_before: dt.datetime,
    expires: dt.datetime,
    grant_id: int | None,
    now: dt.datetime,
) -> dict[str, Any]:
    return {
        "credential_id": credential_id,
        "municipality_id": holder.municipality_id,
        "issuer_kid": issuer_key.kid,
        "subject_type": e.SubjectType.EMPLOYEE,
        "employee_id": holder.employee_id,
        "phone_id": holder.phone_id,
        "emergency_grant_id": grant_id,
        "kind": e.CredentialKind.HOME,
        "serial": serial,
        "denylist_version": denylist_version,
        "door_device_ids": sorted({d.device_id for d in doors}),
        "not_before": not_before,
        "expires_at": expires,
        "issued_at": now,
    }


def sign_bundle(
    *,
    issuer_key: IssuerKey,
    holder: Holder,
    doors: list[BundleDoor],
    not_before: dt.datetime,
    expires: dt.datetime,
    denylist_version: int,
    now: dt.datetime,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """One signature over the whole shift: a Merkle tree with one leaf per door (see
    docs/protocol.md, "Bundle credentials"). The phone derives each door's proof itself.
    Returns the credential's JSON for the phone and its ``issued_credential`` row."""
    assert holder.public_key is not None
    leaves: dict[bytes, tuple[cred.BundleLeaf, list[Any]]] = {}
    for door in doors:
        if door.door_id not in leaves:
            leaves[door.door_id] = _leaf(door.door_id, door.kind)
    ordered = [leaf for leaf, _ in leaves.values()]
    # A fresh list per leaf: the cached one must not end up shared inside a response body.
    wire_leaves = [list(wire) for _, wire in leaves.values()]
    credential_id = secrets.token_bytes(cred.CREDENTIAL_ID_BYTES)
    serial = int(now.timestamp() * 1000)
    data = cred.issue_bundle(
        issuer_key=issuer_key,
        subject=subject_of(holder.employee_id),
        subject_type=cred.SubjectType.EMPLOYEE,
        device_key=DevicePublicKey(holder.public_key),
        leaves=ordered,
        not_before=not_before,
        expires=expires,
        serial=serial,
        denylist_version=denylist_version,
        credential_id=credential_id,
    )
    body = {
        "type": "bundle",
        "credential": b64(data),
        "leaves": wire_leaves,
        "expires_at": expires.isoformat(),
        "emergency_grant_id": None,
    }
    row = _issued_row(
        credential_id=credential_id,
        issuer_key=issuer_key,
        holder=holder,
        doors=doors,
        serial=serial,
        denylist_version=denylist_version,
        not_before=not_before,
        expires=expires,
        grant_id=None,
        now=now,
    )
    return body, row


def sign_single(
    *,
    issuer_key: IssuerKey,
    holder: Holder,
    doors: list[BundleDoor],
    not_before: dt.datetime,
    expires: dt.datetime,
    denylist_version: int,
    grant_id: int,
    now: dt.datetime,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A plain credential for one citizen's doors (home, entrance, gates): an emergency key,
    which ends with its grant, sooner than the shift. Returns the credential's JSON for the
    phone and its ``issued_credential`` row."""
    assert holder.public_key is not None
    targets = list({d.door_id: d for d in doors}.values())[: cred.MAX_TARGETS]
    credential_id = secrets.token_bytes(cred.CREDENTIAL_ID_BYTES)
    serial = int(now.timestamp() * 1000)
    data = cred.issue_credential(
        issuer_key=issuer_key,
        subject=subject_of(holder.employee_id),
        subject_type=cred.SubjectType.EMPLOYEE,
        device_key=DevicePublicKey(holder.public_key),
        kinds={_PROTO_KIND[d.kind] for d in targets},
        not_before=not_before,
        expires=expires,
        serial=serial,
        denylist_version=denylist_version,
        doors=[d.door_id for d in targets],
        credential_id=credential_id,
    )
    body = {
        "type": "single",
        "credential": b64(data),
        "doors": [d.door_id.decode() for d in targets],
        "expires_at": expires.isoformat(),
        "emergency_grant_id": grant_id,
    }
    row = _issued_row(
        credential_id=credential_id,
        issuer_key=issuer_key,
        holder=holder,
        doors=targets,
        serial=serial,
        denylist_version=denylist_version,
        not_before=not_before,
        expires=expires,
        grant_id=grant_id,
        now=now,
    )
    return body, row
