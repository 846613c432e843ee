"""Revoking partner credentials: exactly those issued under some agreements, or for some
errands (issue 15).

A housing association that blocks a company, or an agreement that ends, revokes the credentials
the server issued under those agreements, and nothing else: the company's workers keep their
keys for other associations' stairwells. The credential ids go on the municipality's denylist in
one new version (the same path as a blocked phone or employee: phones carry it to the doors, and
online controllers get it pushed), and the live rows are marked revoked. A cancelled errand
revokes only the credentials issued for it (``revoke_errands``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from sqlalchemy.orm import Session

from carekey.domain import enums as e
from carekey.revocation import denylist as dl
from carekey.revocation import queries
from carekey.store import models as m


def _revoke(
    db: Session,
    *,
    municipality_id: int,
    creds: list[m.IssuedCredential],
    reason: e.DenylistReason,
    now: dt.datetime,
) -> int | None:
    creds = [c for c in creds if c.municipality_id == municipality_id]
    if not creds:
        return None
    for c in creds:
        c.revoked_at = c.revoked_at or now
    return dl.apply_changes(
        db,
        municipality_id=municipality_id,
        reason=reason,
        now=now,
        add=[
            dl.Entry(e.DenylistEntryKind.CREDENTIAL, c.credential_id, c.expires_at) for c in creds
        ],
    )


def revoke_agreements(
    db: Session,
    *,
    municipality_id: int,
    agreement_ids: Collection[int],
    reason: e.DenylistReason,
    now: dt.datetime,
) -> int | None:
    """Denylist every live credential issued under ``agreement_ids`` (by credential id) in one
    new denylist version and mark them revoked; return that version, or None when none was
    live (nothing to carry to the doors). Idempotent: an already denylisted credential is kept."""
    creds = queries.live_agreement_credentials(
        db, agreement_ids=agreement_ids, since=now - dl.PRUNE_MARGIN
    )
    return _revoke(db, municipality_id=municipality_id, creds=creds, reason=reason, now=now)


def revoke_errands(
    db: Session,
    *,
    municipality_id: int,
    errand_ids: Collection[int],
    reason: e.DenylistReason,
    now: dt.datetime,
) -> int | None:
    """Denylist every live credential issued for ``errand_ids`` (a cancelled errand) in one new
    denylist version and mark them revoked; return that version, or None when none was live.
    The worker's other keys, under the same agreement or others, are left alone."""
    creds = queries.live_errand_credentials(db, errand_ids=errand_ids, since=now - dl.PRUNE_MARGIN)
    return _revoke(db, municipality_id=municipality_id, creds=creds, reason=reason, now=now)
