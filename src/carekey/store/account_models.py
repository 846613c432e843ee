"""Accounts of a real municipality (issue 18, docs/accounts.md): set-password links and the
municipality's own table of job titles to roles for the staff import.

A set-password link is a random token given to one person once; only its SHA-256 is stored, so
the table cannot be used to sign in. It expires and works once (``used_at``).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from carekey.domain import enums as e
from carekey.store.base import Base, _created
from carekey.store.types import str_enum


class PasswordLink(Base):
    """A single-use, expiring link that lets one employee choose a password."""

    __tablename__ = "password_link"
    __table_args__ = (Index(None, "employee_id", "used_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"), index=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employee.id"))
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("employee.id"))
    created_at: Mapped[dt.datetime] = _created()
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]


class JobTitleRole(Base):
    """One row of a municipality's table from a job title in its HR export to a CareKey role
    (``social- og sundhedshjælper`` → care worker). Titles are stored normalised (lower case,
    single spaces)."""

    __tablename__ = "job_title_role"
    __table_args__ = (UniqueConstraint("municipality_id", "title"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"), index=True)
    title: Mapped[str] = mapped_column(String(100))
    role: Mapped[e.Role] = mapped_column(str_enum(e.Role, "role"))
    created_at: Mapped[dt.datetime] = _created()
