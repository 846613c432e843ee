"""How much of the door's radio a peer may use: the backoff after failed sessions
(:class:`FailureLimiter`) and how long one session may last (:class:`SessionLimits`).

Both count in uptime seconds (the door's crystal); :class:`~carekey.devices.firmware.
DoorFirmware` applies them before any cryptography.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class FailureLimiter:
    """Exponential backoff on failed sessions, measured in uptime seconds.

    The first ``free_failures`` failures cost nothing. Each further failure locks the door's
    radio protocol for ``base_lockout_s * 2**k`` seconds (k = 0, 1, 2, ...), at most
    ``max_lockout_s``; during a lockout a CLIENT_HELLO gets a clear-text ALERT ``rate_limited``
    with the seconds left, before any cryptography (so a flood cannot drain the battery either).
    A successful session, or ``decay_s`` without failures, forgives everything. Because the
    lockout is capped, the legitimate phone always gets in at most ``max_lockout_s`` after a
    flood stops.
    """

    free_failures: int = 5
    base_lockout_s: float = 2.0
    max_lockout_s: float = 60.0
    decay_s: float = 600.0
    failures: int = 0
    last_failure_s: float = float("-inf")
    locked_until_s: float = float("-inf")
    suppressed: int = 0

    def retry_after(self, uptime_s: float) -> float:
        """Seconds until a new session is allowed (0: allowed now)."""
        return max(0.0, self.locked_until_s - uptime_s)

    def record_failure(self, uptime_s: float) -> bool:
        """Count a failure; True if it started a lockout."""
        if uptime_s - self.last_failure_s > self.decay_s:
            self.failures = 0
        self.failures += 1
        self.last_failure_s = uptime_s
        excess = self.failures - self.free_failures
        if excess <= 0:
            return False
        lockout = min(self.base_lockout_s * 2 ** min(excess - 1, 30), self.max_lockout_s)
        self.locked_until_s = uptime_s + lockout
        return True

    def record_success(self) -> None:
        """A phone authenticated: forget past failures."""
        self.failures = 0
        self.locked_until_s = float("-inf")

    def reset(self) -> None:
        """Power loss clears the volatile counters."""
        self.record_success()
        self.last_failure_s = float("-inf")


@dataclass(frozen=True, slots=True)
class SessionLimits:
    """How long one radio session may last, in uptime seconds from its CLIENT_HELLO.

    ``handshake_s``: a peer that has not shown a valid key this long after its hello loses the
    session (one ``session_timeout`` refusal, a failed attempt for the limiter), so a silent or
    trickling peer cannot hold the door's only session. ``session_s``: no session, even an
    authenticated one, lasts longer; the longest legitimate one, a denylist catch-up of 150
    pieces after the answer, takes about 14 s of modelled air time.
    """

    handshake_s: float = 10.0
    session_s: float = 60.0
