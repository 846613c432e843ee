"""The lifecycle's end-to-end test: the seeded municipality over HTTP (``tests.api.conftest``)."""

from __future__ import annotations

from tests.api.conftest import (  # noqa: F401 - fixtures
    client,
    clock,
    scene,
    tenants,
)
