"""Errors a user or an operator can cause, with a stable code and a Danish and an English text.

Each kind maps to one HTTP status, in one place (``carekey.server.errors.status_of``), for the
API and the administration UI alike.
"""

from __future__ import annotations


class DomainError(Exception):
    """A broken rule of the domain. ``code`` is stable and safe to show and to match on."""

    def __init__(self, code: str, message_da: str, message_en: str) -> None:
        super().__init__(f"{message_da} / {message_en}")
        self.code = code
        self.message_da = message_da
        self.message_en = message_en


class InvariantError(DomainError):
    """The data would break one of the model's invariants; nothing is written."""


class NotFoundError(DomainError):
    """The thing does not exist, or belongs to another municipality (we never say which)."""


class UnauthorizedError(DomainError):
    """Who you are could not be established: wrong password, bad or expired token."""


class ForbiddenError(DomainError):
    """You are known, but your role or status does not allow this."""


class ConflictError(DomainError):
    """The request clashes with the current state (already used, already blocked, ...)."""


class TooManyAttemptsError(DomainError):
    """Too many failed attempts in a short time; ``retry_after_s`` says when to try again."""

    def __init__(self, code: str, message_da: str, message_en: str, retry_after_s: int) -> None:
        super().__init__(code, message_da, message_en)
        self.retry_after_s = retry_after_s


class UnavailableError(DomainError):
    """The server cannot do it now, through no fault of the request (the database is busy or
    its disk is full); nothing was stored, and the same request may be sent again after
    ``retry_after_s``."""

    def __init__(self, code: str, message_da: str, message_en: str, retry_after_s: int) -> None:
        super().__init__(code, message_da, message_en)
        self.retry_after_s = retry_after_s


def not_found(what_da: str, what_en: str) -> NotFoundError:
    """The standard "not found" for a kind of thing, e.g. ``not_found("Telefonen", "phone")``."""
    return NotFoundError(
        f"{what_en.replace(' ', '_')}.not_found",
        f"{what_da} findes ikke",
        f"The {what_en} does not exist",
    )


def forbidden() -> ForbiddenError:
    """The standard refusal of an action the actor's role or reach does not allow."""
    return ForbiddenError(
        "auth.forbidden", "Din rolle giver ikke adgang til dette", "Your role does not allow this"
    )
