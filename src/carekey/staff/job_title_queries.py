"""The SQL of the import's table of job titles to roles (``job_title_role``)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from carekey.store import models as m


def job_title_rows(db: Session, municipality_id: int) -> list[m.JobTitleRole]:
    """The municipality's own rows, by title."""
    return list(
        db.execute(
            select(m.JobTitleRole)
            .where(m.JobTitleRole.municipality_id == municipality_id)
            .order_by(m.JobTitleRole.title, m.JobTitleRole.id)
        ).scalars()
    )


def job_title_row(db: Session, municipality_id: int, row_id: int) -> m.JobTitleRole | None:
    """One of the municipality's rows (another municipality's is not found)."""
    return db.execute(
        select(m.JobTitleRole)
        .where(m.JobTitleRole.municipality_id == municipality_id)
        .where(m.JobTitleRole.id == row_id)
    ).scalar_one_or_none()


def job_title_with(db: Session, municipality_id: int, title: str) -> m.JobTitleRole | None:
    """The municipality's row for this (normalised) title."""
    return db.execute(
        select(m.JobTitleRole)
        .where(m.JobTitleRole.municipality_id == municipality_id)
        .where(m.JobTitleRole.title == title)
    ).scalar_one_or_none()
