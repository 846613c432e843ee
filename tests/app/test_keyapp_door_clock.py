"""A door that took a wrong time (a server clock error after a power loss) refuses every key as
expired; the key app sees the door's clock in its signed receipt and brings the issuer's
correction, bound to that door's challenge, and the door opens."""

from __future__ import annotations

import datetime as dt

from tests.app.conftest import DOORS, World

DOOR = DOORS[0]


def test_the_app_corrects_a_door_that_took_a_wrong_time(world: World) -> None:
    app = world.logged_in()
    lock = world.server.doors[DOOR]
    # The door took a wrong time from a faulty server: 400 days ahead.
    wrong_time = world.bed.clock.now() + dt.timedelta(days=400)
    lock.clock.set(wrong_time)
    lock.flash.last_token_time = wrong_time

    outcome = app.open(DOOR)
    assert outcome.ok, outcome.message()
    assert lock.clock.now() is not None
    assert abs(lock.clock.now() - world.bed.clock.now()) < dt.timedelta(seconds=5)
    assert lock.flash.last_token_time is not None
    assert lock.flash.last_token_time <= world.bed.clock.now()
