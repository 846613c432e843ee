"""The import's table from job titles (``Stilling`` in an HR export) to CareKey roles.

Each municipality edits its own rows (table ``job_title_role``; an administrator,
``Action.MANAGE_JOB_TITLES``). Built-in defaults cover the usual Danish titles: a title the
municipality has no row for is looked up there, and a municipality's row for the same title wins
over the default (to give ``leder`` another role, add a row ``leder``). The defaults are never
written to the database, so the table holds only what the municipality itself decided.

Titles are compared normalised: trimmed, lower case, single spaces (``"  Social- og
Sundhedshjælper "`` is ``social- og sundhedshjælper``).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy.orm import Session

from carekey.access import Action, Actor, reach
from carekey.audit.actions import record_admin_action
from carekey.domain import enums as e
from carekey.domain.errors import ConflictError, DomainError, not_found
from carekey.staff import job_title_queries as sql
from carekey.store import models as m
from carekey.store.unique import flush_unique

MAX_TITLE = 100
# The roles a job title can give: the municipality's own (never a housing association's or a
# partner company's, which belong to those organisations).
TITLE_ROLES = (
    e.Role.CARE_WORKER,
    e.Role.DISTRICT_LEAD,
    e.Role.ADMINISTRATOR,
    e.Role.AUDITOR,
    e.Role.INSTALLER,
)
# Role words accepted where a person types a role: the stored code or its Danish name.
ROLE_WORDS: dict[str, e.Role] = {
    "plejemedarbejder": e.Role.CARE_WORKER,
    "distriktsleder": e.Role.DISTRICT_LEAD,
    "administrator": e.Role.ADMINISTRATOR,
    "revisor": e.Role.AUDITOR,
    "montør": e.Role.INSTALLER,
    **{r.value: r for r in TITLE_ROLES},
}

_CARE = e.Role.CARE_WORKER
_LEAD = e.Role.DISTRICT_LEAD
DEFAULT_TITLES: dict[str, e.Role] = {
    "social- og sundhedshjælper": _CARE,
    "social- og sundhedsassistent": _CARE,
    "sosu-hjælper": _CARE,
    "sosu-assistent": _CARE,
    "hjemmehjælper": _CARE,
    "sygeplejerske": _CARE,
    "terapeut": _CARE,
    "ergoterapeut": _CARE,
    "fysioterapeut": _CARE,
    "plejehjemsassistent": _CARE,
    "leder": _LEAD,
    "distriktsleder": _LEAD,
    "teamleder": _LEAD,
    "gruppeleder": _LEAD,
    "administrator": e.Role.ADMINISTRATOR,
    "systemadministrator": e.Role.ADMINISTRATOR,
    "revisor": e.Role.AUDITOR,
    "montør": e.Role.INSTALLER,
    "tekniker": e.Role.INSTALLER,
}


@dataclass(frozen=True)
class TitleTable:
    """A municipality's rows and the defaults, as the import uses them."""

    rows: list[m.JobTitleRole]

    def role_of(self, title: str) -> e.Role | None:
        """The role for ``title`` (any case and spacing): the municipality's row, else the
        default, else ``None``."""
        key = normalise_title(title)
        for row in self.rows:
            if row.title == key:
                return row.role
        return DEFAULT_TITLES.get(key)

    @property
    def overridden(self) -> set[str]:
        """The default titles the municipality has a row of its own for."""
        return {r.title for r in self.rows} & DEFAULT_TITLES.keys()


def normalise_title(title: str) -> str:
    """Trimmed, lower case, single spaces."""
    return re.sub(r"\s+", " ", title).strip().lower()


def role_of_word(word: str) -> e.Role | None:
    """The role a person means by ``word`` (``plejemedarbejder``, ``care_worker``, ...)."""
    return ROLE_WORDS.get(normalise_title(word))


def title_table(db: Session, *, actor: Actor) -> TitleTable:
    """The table of the actor's municipality, for an import (anyone who may import reads it)."""
    return TitleTable(sql.job_title_rows(db, actor.municipality_id))


def list_job_titles(db: Session, *, actor: Actor) -> TitleTable:
    """The municipality's rows and the defaults, for the page that edits them."""
    scope = reach(actor, Action.MANAGE_JOB_TITLES)
    return TitleTable(sql.job_title_rows(db, scope.municipality_id))


def _duplicate(title: str) -> ConflictError:
    return ConflictError(
        "job_title.duplicate",
        f"Stillingen »{title}« står allerede i tabellen; fjern den først for at give en anden "
        "rolle",
        f"The job title “{title}” is already in the table; remove it first to give another role",
    )


def add_job_title(
    db: Session, *, actor: Actor, title: str, role: str, now: dt.datetime
) -> m.JobTitleRole:
    """Add a row: ``title`` (normalised) gives ``role`` (a role code or its Danish name)."""
    scope = reach(actor, Action.MANAGE_JOB_TITLES)
    key = normalise_title(title)
    if not key or len(key) > MAX_TITLE:
        raise DomainError(
            "job_title.bad_title",
            f"Skriv stillingsbetegnelsen (højst {MAX_TITLE} tegn)",
            f"Enter the job title (at most {MAX_TITLE} characters)",
        )
    chosen = role_of_word(role)
    if chosen is None:
        raise DomainError(
            "job_title.unknown_role",
            "Ukendt rolle; vælg plejemedarbejder, distriktsleder, administrator, revisor eller "
            "montør",
            "Unknown role; choose care worker, district lead, administrator, auditor or installer",
        )
    if sql.job_title_with(db, scope.municipality_id, key) is not None:
        raise _duplicate(key)
    row = m.JobTitleRole(
        municipality_id=scope.municipality_id, title=key, role=chosen, created_at=now
    )
    db.add(row)
    flush_unique(db, _duplicate(key))
    record_admin_action(
        db,
        actor=actor,
        municipality_id=scope.municipality_id,
        action="job_title.added",
        target_type="job_title",
        target_id=row.id,
        now=now,
        details={"title": key, "role": chosen.value},
    )
    return row


def title_not_found() -> DomainError:
    """The row is not the municipality's, or does not exist (we never say which)."""
    return not_found("Stillingen", "job title")


def remove_job_title(db: Session, *, actor: Actor, row_id: int, now: dt.datetime) -> None:
    """Remove one of the municipality's rows (a default behind it applies again)."""
    scope = reach(actor, Action.MANAGE_JOB_TITLES)
    row = sql.job_title_row(db, scope.municipality_id, row_id)
    if row is None:
        raise title_not_found()
    details = {"title": row.title, "role": row.role.value}
    db.delete(row)
    db.flush()
    record_admin_action(
        db,
        actor=actor,
        municipality_id=scope.municipality_id,
        action="job_title.removed",
        target_type="job_title",
        target_id=row_id,
        now=now,
        details=details,
    )
