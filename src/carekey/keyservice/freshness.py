"""The proof of freshness every login, bundle and heartbeat answer carries, and the key app's
offline policy that rides with it.

A door opens for a phone only with a live proof for the phone's device key
(``protocol.freshness``); the server renews it on every contact of an active phone and employee,
and never after a block (the callers issue one only after the session checks passed). The
proof's ``iat`` is the start of the current minute, so every proof issued within one minute has
the same expiry: ``phone.freshness_expires_at`` is written at most once a minute and is always
exactly the expiry of the last proof issued to the phone (never earlier), which the exposure
after a block relies on. The lifetime is the municipality's ``freshness_lifetime_s``; rounding
down shortens a proof by at most 59 seconds.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from carekey.domain.errors import DomainError
from carekey.keyservice import queries
from carekey.keyservice.bundle import b64
from carekey.protocol.freshness import issue_freshness
from carekey.protocol.keys import DevicePublicKey, IssuerKey
from carekey.store import models as m

ISSUE_RESOLUTION = dt.timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Policy:
    """A municipality's key-app policy: proof lifetime, idle seconds before the keys are sealed
    again (the personal code is asked), and how long before the proof runs out to warn."""

    freshness_s: int
    seal_after_s: int
    freshness_warn_s: int

    def to_json(self) -> dict[str, int]:
        """The ``policy`` object of the answers."""
        return {
            "seal_after_s": self.seal_after_s,
            "freshness_s": self.freshness_s,
            "freshness_warn_s": self.freshness_warn_s,
        }


@dataclass(frozen=True, slots=True)
class Proof:
    """A signed proof of freshness and what the app needs to know about it."""

    data: bytes
    expires_at: dt.datetime
    denylist_version: int

    def to_json(self) -> dict[str, Any]:
        """The ``freshness`` object of the answers."""
        return {
            "proof": b64(self.data),
            "expires_at": self.expires_at.isoformat(),
            "denylist_version": self.denylist_version,
        }


FRESHNESS_RANGE_S = (300, 7200)
SEAL_AFTER_RANGE_S = (30, 1800)


def show_policy(db: Session, *, municipality_code: str) -> Policy:
    """The key-app policy of the municipality with this code."""
    return policy_of(_municipality(db, municipality_code))


def set_policy(
    db: Session,
    *,
    municipality_code: str,
    freshness_s: int | None = None,
    seal_after_s: int | None = None,
    freshness_warn_s: int | None = None,
) -> Policy:
    """Change the key-app policy (the values given; the others stay). It reaches every phone
    with its next heartbeat; proofs already issued keep their expiry."""
    municipality = _municipality(db, municipality_code)
    current = policy_of(municipality)
    new = Policy(
        current.freshness_s if freshness_s is None else freshness_s,
        current.seal_after_s if seal_after_s is None else seal_after_s,
        current.freshness_warn_s if freshness_warn_s is None else freshness_warn_s,
    )
    low, high = FRESHNESS_RANGE_S
    if not low <= new.freshness_s <= high:
        raise DomainError(
            "policy.freshness_range",
            f"Friskhedsbeviset skal gælde {low // 60}-{high // 60} minutter",
            f"The proof of freshness must last {low // 60}-{high // 60} minutes",
        )
    low, high = SEAL_AFTER_RANGE_S
    if not low <= new.seal_after_s <= high:
        raise DomainError(
            "policy.seal_after_range",
            f"Nøglerne skal låses efter {low}-{high} sekunder uden brug",
            f"The keys must be sealed after {low}-{high} seconds without use",
        )
    if not 0 <= new.freshness_warn_s < new.freshness_s:
        raise DomainError(
            "policy.warn_range",
            "Advarslen skal komme før friskhedsbeviset udløber",
            "The warning must come before the proof of freshness runs out",
        )
    municipality.freshness_lifetime_s = new.freshness_s
    municipality.seal_after_s = new.seal_after_s
    municipality.freshness_warn_s = new.freshness_warn_s
    db.flush()
    return new


def _municipality(db: Session, code: str) -> m.Municipality:
    municipality = queries.municipality_by_code(db, code=code)
    if municipality is None:
        raise DomainError("municipality.not_found", "Kommunen findes ikke", "No such municipality")
    return municipality


def policy_of(municipality: m.Municipality) -> Policy:
    """The policy of a municipality row already loaded."""
    return Policy(
        municipality.freshness_lifetime_s,
        municipality.seal_after_s,
        municipality.freshness_warn_s,
    )


def issued_at(now: dt.datetime) -> dt.datetime:
    """The ``iat`` of a proof issued at ``now``: the start of its minute."""
    return now.replace(second=0, microsecond=0)


def issue_proof(
    *,
    issuer_key: IssuerKey,
    public_key: bytes,
    denylist_version: int,
    lifetime_s: int,
    now: dt.datetime,
) -> Proof:
    """A proof for the phone with ``public_key`` (its compressed P-256 device key)."""
    iat = issued_at(now)
    lifetime = dt.timedelta(seconds=lifetime_s)
    data = issue_freshness(
        issuer_key=issuer_key,
        device_key_id=_key_id(public_key),
        denylist_version=denylist_version,
        now=iat,
        lifetime=lifetime,
    )
    return Proof(data, iat + lifetime, denylist_version)


@functools.lru_cache(maxsize=1 << 14)
def _key_id(public_key: bytes) -> bytes:
    return DevicePublicKey(public_key).key_id


def needs_write(stored: dt.datetime | None, proof: Proof) -> bool:
    """Whether ``phone.freshness_expires_at`` must be written for this proof: only when it
    expires later than the stored one (a new minute). A shorter lifetime after a policy change
    leaves the stored value alone, since an earlier, longer proof may still be live."""
    return stored is None or proof.expires_at > stored
