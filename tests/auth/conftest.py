"""The API tests' seeded world (two municipalities, a frozen clock) for the sign-in tests."""

from tests.api.conftest import client, clock, tenants  # noqa: F401 - fixtures
