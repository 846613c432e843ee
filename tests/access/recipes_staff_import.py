"""How the routes of the import's table of job titles (issue 18, ``staff.import_pages``) are
called in the route x role matrix.

The probe object is a row of Copenhagen's table with a title distinctive of the actor's copy of
the world (the marker of the list); Frederiksberg's administrator must neither see nor remove it,
and adding a row adds it to the adder's own municipality."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from carekey.domain import enums as e
from carekey.store import models as m
from tests.access.recipes import Ctx, Req, exists, recipe

PAGE = "/employees/job-titles"
AT = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
COPENHAGEN = 1


def _row(ctx: Ctx) -> tuple[int, str]:
    """Copenhagen's row for a title made for this request, and that title (the marker)."""
    title = f"matrixstilling {ctx.tag}".lower()
    with Session(ctx.engine) as db, db.begin():
        row = m.JobTitleRole(
            municipality_id=COPENHAGEN, title=title, role=e.Role.CARE_WORKER, created_at=AT
        )
        db.add(row)
        db.flush()
        return row.id, title


@recipe("GET", PAGE)
def _web_job_titles(ctx: Ctx) -> list[Req]:
    _id, title = _row(ctx)
    return [Req("GET", PAGE, marker=title)]


@recipe("POST", PAGE)
def _web_add_job_title(ctx: Ctx) -> list[Req]:
    title = f"ny matrixstilling {ctx.tag}".lower()
    form = {"title": title, "role": "care_worker"}
    return [Req("POST", PAGE, data=form, effect=exists(m.JobTitleRole, title=title))]


@recipe("POST", PAGE + "/{row_id}/delete")
def _web_remove_job_title(ctx: Ctx) -> list[Req]:
    row_id, _title = _row(ctx)
    gone = lambda db: db.get(m.JobTitleRole, row_id) is None  # noqa: E731
    return [Req("POST", f"{PAGE}/{row_id}/delete", effect=gone)]
