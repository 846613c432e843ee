"""Stand-in worker processes for the supervisor tests (``carekey.server.serve._Supervisor``).

The supervisor spawns its workers, which pickles the target by reference: these live in a
module of their own that imports next to nothing, so a spawned one starts quickly."""

from __future__ import annotations

import sys
import time
from multiprocessing.synchronize import Event
from typing import Any


def fail_before_ready(settings: Any, host: str, port: int, keep_alive_s: int, ready: Event) -> None:
    """A worker that starts slowly and dies before it says it is ready (exit 7)."""
    time.sleep(0.5)
    sys.exit(7)


def ready_then_crash(settings: Any, host: str, port: int, keep_alive_s: int, ready: Event) -> None:
    """A worker that says it is ready and dies at once (exit 3): a crash loop."""
    ready.set()
    sys.exit(3)
