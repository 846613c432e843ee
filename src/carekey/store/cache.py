"""A small per-application cache for hot, slowly changing data (issuer keys, signed denylist
snapshots). It lives in the session factory's ``info``, so each application (and each test) has
its own; code that runs without one simply does the work every time."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.orm import Session

T = TypeVar("T")
CACHE_KEY = "carekey_cache"


class TimedCache:
    """Values kept for a fixed number of seconds (monotonic clock, not the injected one: this is
    about process work, not about the domain's time)."""

    def __init__(self, *, max_entries: int = 1024) -> None:
        self._values: dict[Any, tuple[float, Any]] = {}
        self._lock = threading.Lock()
        self.max_entries = max_entries

    def get_or_make(self, key: Any, ttl_s: float, make: Callable[[], T]) -> T:
        """The cached value for ``key``, or ``make()`` stored for ``ttl_s`` seconds."""
        now = time.monotonic()
        with self._lock:
            found = self._values.get(key)
            if found is not None and found[0] > now:
                value: T = found[1]
                return value
        value = make()
        with self._lock:
            if len(self._values) >= self.max_entries:
                self._values.clear()
            self._values[key] = (now + ttl_s, value)
        return value

    def clear(self) -> None:
        """Forget everything (e.g. after a key rotation)."""
        with self._lock:
            self._values.clear()


def cached(db: Session, key: Any, ttl_s: float, make: Callable[[], T]) -> T:
    """``make()`` through the application's cache when the session has one."""
    cache = db.info.get(CACHE_KEY)
    if isinstance(cache, TimedCache):
        return cache.get_or_make(key, ttl_s, make)
    return make()
