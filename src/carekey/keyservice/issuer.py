"""The municipality's issuer key: loaded from the database, unsealed, and cached per process.

Rotation: a key is created as ``next`` (doors learn it), becomes ``active`` (signs), and is
finally ``retired`` (doors refuse it). At most one key per municipality is active.
"""

from __future__ import annotations

import datetime as dt
import threading

from sqlalchemy.orm import Session

from carekey.domain.enums import IssuerKeyPurpose, IssuerKeyStatus
from carekey.domain.errors import DomainError
from carekey.keyservice import queries
from carekey.protocol.keys import Ed25519Public, IssuerKey, IssuerKeyring, IssuerPublicKey
from carekey.store import models as m
from carekey.store.cache import cached
from carekey.store.sealed import seal, unseal

_cache: dict[tuple[int, bytes], IssuerKey] = {}
_lock = threading.Lock()


# A rotation (next → active) reaches the signing path within this many seconds.
ACTIVE_KEY_CACHE_S = 10.0


def active_issuer_key(
    db: Session,
    *,
    municipality_id: int,
    secret: str,
    purpose: IssuerKeyPurpose = IssuerKeyPurpose.HOME_CARE,
) -> IssuerKey:
    """The key that signs this municipality's credentials now (unsealed, cached by key id):
    the home-care key, or with ``purpose=PARTNER`` the partner issuer key, which signs partner
    workers' stairwell credentials and nothing else."""
    return cached(
        db,
        ("active_issuer_key", municipality_id, purpose.value),
        ACTIVE_KEY_CACHE_S,
        lambda: _active_issuer_key(
            db, municipality_id=municipality_id, secret=secret, purpose=purpose
        ),
    )


def _active_issuer_key(
    db: Session, *, municipality_id: int, secret: str, purpose: IssuerKeyPurpose
) -> IssuerKey:
    row = queries.active_issuer_key(db, municipality_id=municipality_id, purpose=purpose)
    if row is None or row.private_key_sealed is None:
        if purpose is IssuerKeyPurpose.PARTNER:
            raise DomainError(
                "issuer.no_partner_key",
                "Kommunen har ingen aktiv partnerudstedernøgle: carekey issuer ensure"
                " --municipality <kode> --partner",
                "The municipality has no active partner issuer key: carekey issuer ensure"
                " --municipality <code> --partner",
            )
        raise DomainError(
            "issuer.no_active_key",
            "Kommunen har ingen aktiv udstedernøgle",
            "The municipality has no active issuer key",
        )
    cache_key = (municipality_id, row.kid)
    with _lock:
        key = _cache.get(cache_key)
    if key is None:
        seed = unseal(row.private_key_sealed, secret=secret, purpose="issuer_key")
        key = IssuerKey.from_seed(row.code, seed)
        with _lock:
            _cache[cache_key] = key
    return key


def keyring(
    db: Session, *, municipality_id: int, purpose: IssuerKeyPurpose = IssuerKeyPurpose.HOME_CARE
) -> IssuerKeyring:
    """The issuer keys a door of this municipality should trust (next and active) or refuse:
    the home-care keys, or with ``purpose=PARTNER`` the partner keys (entrance and gate
    controllers only; a home lock never holds them)."""
    rows = queries.issuer_keys(db, municipality_id=municipality_id, purpose=purpose)
    trusted = [
        IssuerPublicKey(r.code, Ed25519Public(r.public_key))
        for r in rows
        if r.status is not IssuerKeyStatus.RETIRED
    ]
    retired = [
        IssuerPublicKey(r.code, Ed25519Public(r.public_key))
        for r in rows
        if r.status is IssuerKeyStatus.RETIRED
    ]
    return IssuerKeyring.of(trusted, retired)


def create_issuer_key(
    db: Session,
    *,
    municipality_id: int,
    secret: str,
    now: dt.datetime,
    status: IssuerKeyStatus = IssuerKeyStatus.NEXT,
    purpose: IssuerKeyPurpose = IssuerKeyPurpose.HOME_CARE,
) -> m.IssuerKey:
    """Generate a new issuer key, sealed at rest; ``next`` until it is activated."""
    municipality = db.get(m.Municipality, municipality_id)
    if municipality is None:
        raise DomainError("municipality.not_found", "Kommunen findes ikke", "No such municipality")
    key = IssuerKey.generate(municipality.code)
    row = m.IssuerKey(
        municipality_id=municipality_id,
        kid=key.kid,
        algorithm="Ed25519",
        public_key=key.signer.public.raw,
        private_key_sealed=seal(key.signer.seed(), secret=secret, purpose="issuer_key"),
        status=status,
        purpose=purpose,
        created_at=now,
        activated_at=now if status is IssuerKeyStatus.ACTIVE else None,
    )
    db.add(row)
    db.flush()
    return row


def ensure_issuer_key(
    db: Session,
    *,
    municipality_code: str,
    purpose: IssuerKeyPurpose,
    secret: str,
    now: dt.datetime,
) -> tuple[m.IssuerKey, bool]:
    """The municipality's active key for ``purpose``, created (sealed, active at once) when it
    has none: ``(key, created)``. For a database from before the partner issuer (migration
    0005 cannot create a key: it has no secret to seal it with). Doors learn a new partner key
    when they are commissioned or configured (``add_partner_issuer_key``)."""
    municipality = queries.municipality_by_code(db, code=municipality_code.strip())
    if municipality is None:
        raise DomainError("municipality.not_found", "Kommunen findes ikke", "No such municipality")
    active = queries.active_issuer_key(db, municipality_id=municipality.id, purpose=purpose)
    if active is not None:
        return queries.issuer_key_row(db, municipality_id=municipality.id, kid=active.kid), False
    created = create_issuer_key(
        db,
        municipality_id=municipality.id,
        secret=secret,
        now=now,
        status=IssuerKeyStatus.ACTIVE,
        purpose=purpose,
    )
    return created, True
