"""Unique constraints that a concurrent request may win first."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from carekey.domain.errors import ConflictError


def flush_unique(db: Session, conflict: ConflictError) -> None:
    """Flush; a unique constraint that a concurrent request won first becomes ``conflict``
    (the use case checked before, so only a race gets here)."""
    try:
        db.flush()
    except IntegrityError as exc:
        raise conflict from exc
