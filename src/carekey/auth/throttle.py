"""Sign-in throttling by backoff, never by a hard lock that an outsider could trigger.

Three counters of failed attempts, each in a sliding window:

- **account and address**: the first ``free`` failures are free; each further one doubles the
  wait before the next attempt from that address for that account (1 s, 2 s, 4 s … at most
  ``max_wait``). This slows a guesser at their own address only.
- **address**, over all accounts: the same backoff once an address has failed ``per_address``
  times (spraying one password over many accounts).
- **account**, from addresses that have never signed in to it: backoff once the account has
  failed ``per_account`` times (a guesser with many addresses). An address that signed in to the
  account before is exempt, so the owner at the office is never locked out by an outsider.

The counters live in the process (bounded); behind several instances each has its own, which
multiplies an attacker's rate by the number of processes but never locks anyone out.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict, deque
from dataclasses import dataclass

_MAX_KEYS = 100_000  # bound on memory: the oldest counters are forgotten first


@dataclass(frozen=True)
class _Rule:
    free: int
    max_wait: dt.timedelta


class SignInThrottle:
    """Failed sign-ins, and how long the next attempt must wait."""

    def __init__(
        self,
        *,
        free: int = 3,
        per_address: int = 30,
        per_account: int = 20,
        window: dt.timedelta = dt.timedelta(minutes=15),
        max_wait: dt.timedelta = dt.timedelta(minutes=15),
        known_for: dt.timedelta = dt.timedelta(days=30),
    ) -> None:
        self.window = window
        self.known_for = known_for
        self._rules = {
            "p": _Rule(free, max_wait),
            "i": _Rule(per_address, max_wait),
            "a": _Rule(per_account, max_wait),
        }
        self._failures: OrderedDict[str, deque[dt.datetime]] = OrderedDict()
        self._known: OrderedDict[str, dt.datetime] = OrderedDict()
        self._lock = threading.Lock()

    def _recent(self, key: str, now: dt.datetime) -> deque[dt.datetime]:
        failures = self._failures.get(key)
        if failures is None:
            failures = self._failures[key] = deque()
            while len(self._failures) > _MAX_KEYS:
                self._failures.popitem(last=False)
        while failures and now - failures[0] > self.window:
            failures.popleft()
        return failures

    def _keys(self, account: str, address: str, now: dt.datetime) -> list[str]:
        keys = [f"p:{account}|{address}", f"i:{address}"]
        seen = self._known.get(f"{account}|{address}")
        if seen is None or now - seen > self.known_for:
            keys.append(f"a:{account}")
        return keys

    def retry_after(self, *, account: str, address: str, now: dt.datetime) -> dt.timedelta | None:
        """How long until another attempt is allowed, or None if it is allowed now."""
        with self._lock:
            waits = []
            for key in self._keys(account, address, now):
                rule = self._rules[key[0]]
                failures = self._recent(key, now)
                over = len(failures) - rule.free
                if over >= 0:
                    wait = min(dt.timedelta(seconds=2 ** min(over, 20)), rule.max_wait)
                    until = failures[-1] + wait
                    if until > now:
                        waits.append(until - now)
            return max(waits) if waits else None

    def failed(self, *, account: str, address: str, now: dt.datetime) -> None:
        """Count a failed attempt."""
        with self._lock:
            for key in (f"p:{account}|{address}", f"i:{address}", f"a:{account}"):
                self._recent(key, now).append(now)

    def succeeded(self, *, account: str, address: str, now: dt.datetime) -> None:
        """A right password and code: this address is known for the account from now on."""
        with self._lock:
            self._failures.pop(f"p:{account}|{address}", None)
            self._known[f"{account}|{address}"] = now
            self._known.move_to_end(f"{account}|{address}")
            while len(self._known) > _MAX_KEYS:
                self._known.popitem(last=False)
