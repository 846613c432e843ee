"""Password hashing with Argon2id."""

from __future__ import annotations

import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# Argon2id at the OWASP minimum (m = 19 MiB, t = 2, p = 1): slow enough against guessing, cheap
# enough for a morning rush of logins on two cores.
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
# At most one password check at a time per process: Argon2 releases the GIL and would otherwise
# take every core during a burst of logins, and key bundles would queue behind it.
_argon2_slot = threading.BoundedSemaphore(1)
# Verified against when the employee does not exist, so timing does not reveal who exists.
_DUMMY_HASH = _hasher.hash("carekey-no-such-user")


def hash_password(password: str) -> str:
    """An Argon2id hash of ``password`` for storage."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; slow on purpose (Argon2id), also for unknown users."""
    with _argon2_slot:
        try:
            ok = _hasher.verify(password_hash or _DUMMY_HASH, password)
        except (VerificationError, InvalidHashError):
            return False
    return ok and password_hash is not None
