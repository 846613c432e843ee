"""One page of a list: which rows, how many in all, and the bounds a request must keep to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from carekey.domain.errors import DomainError

MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list, and how many items the whole list holds."""

    items: list[T]
    total: int
    limit: int
    offset: int


def check_page(limit: int, offset: int) -> None:
    """A page asks for 1 to ``MAX_PAGE_SIZE`` rows from an offset of at least 0."""
    if not 1 <= limit <= MAX_PAGE_SIZE or offset < 0:
        raise DomainError(
            "page.out_of_range",
            f"Vælg 1–{MAX_PAGE_SIZE} rækker pr. side og en forskydning på mindst 0",
            f"Choose 1–{MAX_PAGE_SIZE} rows per page and an offset of at least 0",
        )
