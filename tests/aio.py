"""Run a coroutine to completion from a test, whatever the test's thread is doing.

``asyncio.run`` refuses to start in a thread whose event loop is running, and a session-wide
Playwright browser (the browser tests, sync API) keeps one running in the pytest worker's main
thread for the rest of the session. A coroutine therefore runs in a fresh thread of its own,
with its own loop."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(coroutine)`` in a thread of its own; its result or its exception."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="test-asyncio") as pool:
        return pool.submit(asyncio.run, coroutine).result()
