"""Fixtures of the online controllers' tests: the real Mosquitto on this machine, and the
seeded municipality over HTTP with the server's MQTT bridge running (``tests.api.conftest``).

Without a broker at ``CAREKEY_TEST_MQTT_URL`` (default ``mqtt://127.0.0.1:1883``) the broker
tests are skipped, except under ``CI=true``, where they fail."""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from carekey.clock import FrozenClock
from carekey.config import Settings
from carekey.server.app import create_app
from tests.api.conftest import (  # noqa: F401 - fixtures
    SECRET,
    Tenants,
    clock,
    scene,
    tenants,
)

DEFAULT_MQTT_URL = "mqtt://127.0.0.1:1883"


@pytest.fixture(scope="session")
def mqtt_url() -> str:
    url = os.environ.get("CAREKEY_TEST_MQTT_URL", DEFAULT_MQTT_URL)
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "", parts.port or 1883), timeout=2):
            pass
    except OSError as exc:
        reason = f"no MQTT broker at {url}: {type(exc).__name__}"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{reason} (CI=true requires Mosquitto)", pytrace=False)
        pytest.skip(reason)
    return url


@pytest.fixture
def topic_prefix() -> str:
    """A prefix of this test's own, so parallel tests on one broker never meet."""
    return f"test/{uuid.uuid4().hex[:12]}"


@pytest.fixture
def client(
    engine: Engine,
    clock: FrozenClock,  # noqa: F811 - the fixture imported above
    tenants: Tenants,  # noqa: F811
    mqtt_url: str,
    topic_prefix: str,
) -> Iterator[TestClient]:
    """The server with its MQTT bridge (the lifespan starts it) on the real broker."""
    settings = Settings(
        secret_key=SECRET,
        mqtt_url=mqtt_url,
        mqtt_topic_prefix=topic_prefix,
        webhooks_enabled=False,
    )
    with TestClient(create_app(settings, engine=engine, clock=clock)) as test_client:
        yield test_client


@pytest.fixture(autouse=True)
def _connections_returned(engine: Engine) -> Iterator[None]:
    """After each test, wait until every connection of the test's engine is back in its pool
    before the engine is disposed: the server's bridge and dispatchers work in threads, and a
    connection a thread still held at ``dispose()`` would be closed only by the garbage
    collector, later, as a ResourceWarning in some other test."""
    yield
    deadline = time.monotonic() + 15
    while engine.pool.checkedout() > 0:  # type: ignore[attr-defined]
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{engine.pool.checkedout()} database connection(s) still checked out"  # type: ignore[attr-defined]
                " 15 s after the test"
            )
        time.sleep(0.05)
