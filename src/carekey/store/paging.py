"""A page of any query: the rows of one page and the count of the whole list, in two queries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from carekey.domain.paging import Page, check_page

T = TypeVar("T")


def count_of(db: Session, stmt: Select[Any]) -> int:
    """How many rows ``stmt`` selects (its ordering is left out of the count)."""
    total = db.execute(select(func.count()).select_from(stmt.order_by(None).subquery())).scalar()
    return int(total or 0)


def page_of(
    db: Session, stmt: Select[T], *, order_by: Sequence[Any], limit: int, offset: int
) -> Page[T]:
    """The rows ``offset`` to ``offset + limit`` of ``stmt`` in ``order_by`` order, and the count
    of all its rows; ``limit`` and ``offset`` are checked first (``domain.paging``)."""
    check_page(limit, offset)
    total = count_of(db, stmt)
    items = list(db.execute(stmt.order_by(*order_by).limit(limit).offset(offset)).scalars())
    return Page(items, total, limit, offset)
