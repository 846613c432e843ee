"""The bench most door tests start from: a testbed at a Monday morning, one home lock, and a
care worker's phone with a key to it."""

from __future__ import annotations

import datetime as dt

import pytest

from carekey.devices.homelock import HomeLock
from carekey.sim.testbed import Phone, Testbed

START = dt.datetime(2026, 3, 2, 7, 10, tzinfo=dt.UTC)  # Monday, 08:10 in Copenhagen


@pytest.fixture
def bed() -> Testbed:
    return Testbed(start=START)


@pytest.fixture
def lock(bed: Testbed) -> HomeLock:
    return bed.home_lock()


@pytest.fixture
def phone(bed: Testbed, lock: HomeLock) -> Phone:
    phone = bed.phone("mette")
    bed.credential(phone, lock.door_id)
    return phone
