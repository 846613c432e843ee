"""The accounts' tests: the seeded municipality over HTTP (``tests.api.conftest``)."""

from __future__ import annotations

from tests.api.conftest import (  # noqa: F401 - fixtures
    Tenants,
    client,
    clock,
    scene,
    tenants,
)
