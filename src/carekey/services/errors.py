"""The use cases' errors live in ``carekey.domain.errors``; re-exported here for old imports."""

from carekey.domain.errors import (
    ConflictError,
    ForbiddenError,
    NotFoundError,
    TooManyAttemptsError,
    UnauthorizedError,
    forbidden,
    not_found,
)

__all__ = [
    "ConflictError",
    "ForbiddenError",
    "NotFoundError",
    "TooManyAttemptsError",
    "UnauthorizedError",
    "forbidden",
    "not_found",
]
