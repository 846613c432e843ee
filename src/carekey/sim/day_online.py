"""The day's online entrances (issue 17): a share of the entrances and gates are online.

The chosen controllers run the real online side (:class:`carekey.devices.online.OnlineController`)
around their firmware. The server runs its real bridge (:class:`carekey.online.bridge.OnlineBridge`:
every report verified, the after-commit push of each new denylist version, catch-up pieces,
time, events through ingest). An in-memory broker (:class:`carekey.sim.bus.MemoryBus`) connects
the two, and it delivers a message when the simulation has finished the step that published it.
The simulated clock does not move between a block's commit and the controllers' answers, so an
online door's reach here is the protocol's own delay: zero simulated seconds. The real broker's
seconds are measured by ``carekey bench online``. The simulation also delivers nothing to a door
while a phone is at it.

Every other door learns from phones as before. The day's report gives the revocation reach for
online and offline doors separately, from the same evidence (the door's own flash and signed
log: when it first held the version that carries the revocation).
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any, Final

from sqlalchemy import Engine

from carekey.clock import FrozenClock
from carekey.devices.online import OnlineController
from carekey.online.bridge import OnlineBridge
from carekey.online.service import Context, Outgoing
from carekey.protocol import online as wire
from carekey.protocol.events import EventKind
from carekey.sim.bus import MemoryBus
from carekey.sim.day_doors import DoorRun, Learned
from carekey.store.cache import CACHE_KEY, TimedCache
from carekey.store.db import session_factory

PREFIX: Final = "carekey/v1"
DEFAULT_ONLINE_FRACTION: Final = 0.25
"""The share of the day's entrances and gates that are online (the rest learn from phones)."""
_CONTROLLERS: Final = frozenset({"entrance_controller", "gate_controller"})


class OnlineDoors:
    """The online controllers of one simulated day and the server's bridge to them."""

    def __init__(
        self, *, engine: Engine, clock: FrozenClock, secret: str, code: str, fraction: float
    ) -> None:
        if not 0.0 <= fraction <= 1.0:
            raise ValueError("the online fraction is between 0 and 1")
        self.fraction = fraction
        self.code = code
        self.bus = MemoryBus(queued=True)
        ctx = Context(prefix=PREFIX, secret=secret, offline_after=dt.timedelta(seconds=90))
        sessions = session_factory(engine, info={CACHE_KEY: TimedCache()})
        self.bridge = OnlineBridge(
            sessions=sessions, clock=clock, ctx=ctx, url="mqtt://simulated.invalid"
        )
        self.clock = clock
        self.controllers: dict[str, OnlineController] = {}
        self.runs: dict[str, DoorRun] = {}
        self.pushes = 0
        self._delivering = False
        self._inbox: list[tuple[str, bytes]] = []

    # --- set-up ---

    def start(
        self, doors: Iterable[tuple[str, str]], run_door: Callable[[str], DoorRun], *, seed: int
    ) -> None:
        """Bring the chosen share of ``doors`` ((serial, kind); entrances and gates) online,
        starting each one's firmware with ``run_door``."""
        for topic in wire.server_filters(PREFIX, share="carekey"):
            self.bus.subscribe(topic, self._to_server)
        candidates = sorted(serial for serial, kind in doors if kind in _CONTROLLERS)
        rng = random.Random(seed * 7919 + 17)  # noqa: S311 - a reproducible choice, own stream
        chosen = sorted(rng.sample(candidates, round(len(candidates) * self.fraction)))
        for serial in chosen:
            run = run_door(serial)
            controller = OnlineController(
                run.firmware,
                issuer=self.code,
                serial=serial,
                prefix=PREFIX,
                publish=self.bus.publish,
            )
            self.controllers[serial] = controller
            self.runs[serial] = run
            for topic in controller.subscriptions():
                self.bus.subscribe(topic, partial(self._to_door, serial))
            topic, will = controller.will()
            self.bus.will(controller, topic, will)
            controller.on_connect()
        self.deliver()

    # --- the broker ---

    def _publish(self, outgoing: Iterable[Outgoing]) -> None:
        for out in outgoing:
            self.bus.publish(out.topic, out.payload, out.retain)

    def _to_server(self, topic: str, payload: bytes) -> None:
        # Collected, and handled as one batch per round of deliveries (as the real bridge
        # batches what arrives together): one transaction for a heartbeat of every door.
        self._inbox.append((topic, payload))

    def _to_door(self, serial: str, topic: str, payload: bytes) -> None:
        run = self.runs[serial]
        door = run.firmware
        before = door.flash.denylist.version
        self.controllers[serial].handle(topic, payload)
        if run.withdrawn_at is None and door.flash.denylist.blocks_door(door.door_id):
            run.withdrawn_at = self.clock.now()
        version = door.flash.denylist.version
        if version != before:
            seq = max(
                (
                    s.event.seq
                    for s in door.flash.ring
                    if s.event.kind is EventKind.DENYLIST_UPDATED
                ),
                default=door.flash.chain.next_seq - 1,
            )
            run.learned.append(Learned(self.clock.now(), version, seq))

    def deliver(self) -> None:
        """Deliver everything published so far, and what the deliveries publish in turn."""
        if self._delivering:
            return  # the outer delivery loop takes it
        self._delivering = True
        try:
            while True:
                self.bus.deliver_pending()
                if not self._inbox:
                    break
                batch, self._inbox = self._inbox, []
                self._publish(self.bridge.handle_batch(batch))
        finally:
            self._delivering = False

    def notify(self, changed: set[tuple[int, int]]) -> None:
        """The server committed new denylist versions (``online.signals``): push them now."""
        self.pushes += len(changed)
        self._publish(self.bridge.push(changed))
        self.deliver()

    def heartbeat(self) -> None:
        """Every controller reports its state (and any events); the server answers."""
        for controller in self.controllers.values():
            controller.report_state()
        self.deliver()

    # --- the report ---

    def figures(self, exposures: list[dict[str, Any]]) -> dict[str, Any]:
        """The revocation reach for online and offline doors separately (same evidence)."""
        out: dict[str, Any] = {
            "online_fraction": self.fraction,
            "online_doors": len(self.controllers),
            "online_pushes": self.pushes,
            "online_messages_refused": self.bridge.refused,
        }
        for label, online in (("online", True), ("offline", False)):
            mine = [x for x in exposures if (x["door"] in self.controllers) is online]
            reached = [x["exposure_s"] for x in mine if x["reached"]]
            out[f"revocation_doors_{label}"] = len(mine)
            out[f"revocation_doors_{label}_reached"] = len(reached)
            out[f"max_revocation_reach_{label}_s"] = round(max(reached, default=0.0), 1)
            out[f"median_revocation_reach_{label}_s"] = (
                round(statistics.median(reached), 1) if reached else None
            )
        return out
