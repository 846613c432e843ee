"""Setting up a real municipality (``carekey municipality create``): the municipality with the
default key-app policy, an empty denylist, and its two issuer keys (home care and partner),
generated from the operating system's randomness and sealed with the server's secret.

Nothing here is derived from a seed: the keys a seed makes are marked ``issuer_key.seeded`` and
a server outside development refuses to start with one active (``seeded_keys_in_use``).
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass

from sqlalchemy.orm import Session

from carekey.audit.actions import record_admin_action
from carekey.domain.enums import IssuerKeyPurpose, IssuerKeyStatus
from carekey.domain.errors import ConflictError, DomainError
from carekey.domain.text import required_text
from carekey.keyservice import queries
from carekey.keyservice.issuer import create_issuer_key
from carekey.protocol.credential import MAX_VALIDITY
from carekey.store import models as m

_CODE = re.compile(r"^[0-9]{4}$")
DEFAULT_TIMEZONE = "Europe/Copenhagen"


@dataclass(frozen=True)
class NewMunicipality:
    """What ``create_municipality`` made: the row and the key ids of its issuer keys."""

    municipality: m.Municipality
    home_care_kid: bytes
    partner_kid: bytes


def _code(code: str) -> str:
    text = code.strip()
    if not _CODE.match(text):
        raise DomainError(
            "municipality.bad_code",
            f"Kommunekoden skal være fire cifre, fx 0101 (fik {code!r})",
            f"The municipality code must be four digits, e.g. 0101 (got {code!r})",
        )
    return text


def _timezone(name: str) -> str:
    text = name.strip()
    try:
        zoneinfo.ZoneInfo(text)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise DomainError(
            "municipality.bad_timezone",
            f"Ukendt tidszone {name!r}; brug fx Europe/Copenhagen",
            f"Unknown time zone {name!r}; use e.g. Europe/Copenhagen",
        ) from None
    return text


def municipality_by_code(db: Session, *, code: str) -> m.Municipality:
    """The municipality with this code, or a clear error naming the command that creates it."""
    municipality = queries.municipality_by_code(db, code=code.strip())
    if municipality is None:
        raise DomainError(
            "municipality.not_found",
            f"Kommunen {code.strip()!r} findes ikke; opret den med `carekey municipality create`",
            f"No municipality {code.strip()!r}; create it with `carekey municipality create`",
        )
    return municipality


def create_municipality(
    db: Session,
    *,
    code: str,
    name: str,
    secret: str,
    now: dt.datetime,
    timezone: str = DEFAULT_TIMEZONE,
) -> NewMunicipality:
    """Create a municipality with the default policy, denylist version 0 and active home-care
    and partner issuer keys (random, sealed with ``secret``). A taken code is a conflict and
    nothing is written; runs in the caller's transaction."""
    code = _code(code)
    name = required_text(
        name, max_length=100, code="municipality.bad_name", what_da="Navnet", what_en="The name"
    )
    timezone = _timezone(timezone)
    if queries.municipality_by_code(db, code=code) is not None:
        raise ConflictError(
            "municipality.code_taken",
            f"Kommunen {code} findes allerede; intet er ændret",
            f"Municipality {code} already exists; nothing was changed",
        )
    municipality = m.Municipality(
        code=code,
        name=name,
        timezone=timezone,
        key_lifetime_minutes=MAX_VALIDITY // dt.timedelta(minutes=1),
        created_at=now,
    )
    db.add(municipality)
    db.flush()
    db.add(m.DenylistVersion(municipality_id=municipality.id, version=0, created_at=now))
    kids: dict[IssuerKeyPurpose, bytes] = {}
    for purpose in (IssuerKeyPurpose.HOME_CARE, IssuerKeyPurpose.PARTNER):
        row = create_issuer_key(
            db,
            municipality_id=municipality.id,
            secret=secret,
            now=now,
            status=IssuerKeyStatus.ACTIVE,
            purpose=purpose,
        )
        kids[purpose] = row.kid
    record_admin_action(
        db,
        actor=None,
        municipality_id=municipality.id,
        action="municipality.created",
        target_type="municipality",
        target_id=municipality.id,
        now=now,
        details={
            "code": code,
            "name": name,
            "timezone": timezone,
            "via": "carekey municipality create",
        },
    )
    db.flush()
    return NewMunicipality(
        municipality, kids[IssuerKeyPurpose.HOME_CARE], kids[IssuerKeyPurpose.PARTNER]
    )


SEEDED_KEYS_DA = (
    "Kommune {codes} har en aktiv udstedernøgle lavet af `carekey seed` (demodata). Uden for "
    "udvikling (CAREKEY_ENVIRONMENT={environment}) starter serveren ikke med den: brug en tom "
    "database og opret kommunen med `carekey municipality create` (se README, I drift)."
)
SEEDED_KEYS_EN = (
    "Municipality {codes} has an active issuer key made by `carekey seed` (demo data). Outside "
    "development (CAREKEY_ENVIRONMENT={environment}) the server does not start with it: use an "
    "empty database and create the municipality with `carekey municipality create` (see the "
    "README, In production)."
)


def seeded_keys_in_use(db: Session) -> list[str]:
    """The codes of the municipalities whose active issuer key was made by the seed."""
    return queries.municipalities_with_seeded_active_keys(db)


def seeded_keys_message(codes: list[str], environment: str) -> str:
    """Why a server outside development refuses to start, in Danish, then English."""
    joined = ", ".join(codes)
    return (
        SEEDED_KEYS_DA.format(codes=joined, environment=environment)
        + " / "
        + SEEDED_KEYS_EN.format(codes=joined, environment=environment)
    )
