"""Errors of the use cases. Each maps to one HTTP status in the API; the code is stable."""

from __future__ import annotations

from carekey.domain.errors import DomainError


class NotFoundError(DomainError):
    """The thing does not exist, or belongs to another municipality (we never say which)."""


class UnauthorizedError(DomainError):
    """Who you are could not be established: wrong password, bad or expired token."""


class ForbiddenError(DomainError):
    """You are known, but your role or status does not allow this."""


class ConflictError(DomainError):
    """The request clashes with the current state (already used, already blocked, ...)."""


def not_found(what_da: str, what_en: str) -> NotFoundError:
    """The standard "not found" for a kind of thing, e.g. ``not_found("Telefonen", "phone")``."""
    return NotFoundError(
        f"{what_en.replace(' ', '_')}.not_found",
        f"{what_da} findes ikke",
        f"The {what_en} does not exist",
    )
