"""A minimal key app over real HTTP (``httpx.Client``, keep-alive) for the fault tests."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

import httpx

from carekey.protocol.deviceproof import proof_message
from carekey.protocol.events import EventChain, EventKind
from carekey.protocol.keys import DeviceKey
from carekey.sim.bench_login import BENCH_MUNICIPALITY_CODE, BENCH_PASSWORD, BENCH_SEED
from carekey.sim.loadgen import Worker, door_key

APP = "/api/v1/app"


class KeyApp:
    """One phone of the benchmark municipality, on its own keep-alive connection."""

    def __init__(self, base_url: str, worker: Worker, *, timeout: float = 30.0) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=timeout)
        self.worker = worker
        self.key = DeviceKey.from_scalar(worker.scalar)
        self.token = ""

    def close(self) -> None:
        self.http.close()

    def _proof(self, purpose: str) -> dict[str, str]:
        answer = self.http.post(f"{APP}/challenge", json={"phone_id": self.worker.phone_id})
        answer.raise_for_status()
        challenge = answer.json()["challenge"]
        signature = self.key.sign(proof_message(challenge, self.worker.phone_id, purpose))
        return {"challenge": challenge, "signature": base64.b64encode(signature).decode()}

    def login(self) -> httpx.Response:
        body = {
            "municipality": BENCH_MUNICIPALITY_CODE,
            "employee_number": self.worker.employee_number,
            "password": BENCH_PASSWORD,
            "phone_id": self.worker.phone_id,
            **self._proof("login"),
        }
        response = self.http.post(f"{APP}/login", json=body)
        if response.status_code == 200:
            self.token = response.json()["session_token"]
        return response

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def bundle(self) -> httpx.Response:
        return self.http.post(f"{APP}/bundle", json=self._proof("bundle"), headers=self._auth())

    def heartbeat(self) -> httpx.Response:
        return self.http.post(f"{APP}/heartbeat", headers=self._auth())

    def upload(self, body: dict[str, Any]) -> httpx.Response:
        return self.http.post(f"{APP}/events", json=body, headers=self._auth())

    def get(self, path: str) -> httpx.Response:
        return self.http.get(path)


def door_events(serial: str, count: int, *, start: int = 0) -> list[str]:
    """``count`` signed, chained events of door ``serial`` (a fresh chain each call)."""
    chain = EventChain(serial.encode())
    when = dt.datetime.now(dt.UTC).replace(microsecond=0)
    raws: list[str] = []
    for i in range(start + count):
        signed, chain = chain.append(
            door_key(BENCH_SEED, serial),
            kind=EventKind.UNLOCKED if i % 2 == 0 else EventKind.LOCKED,
            time=when + dt.timedelta(seconds=i),
        )
        if i >= start:
            raws.append(base64.b64encode(signed.raw).decode())
    return raws
