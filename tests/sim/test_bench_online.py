"""``carekey bench online`` end to end on the real broker, small: the block reaches every
simulated controller and each acknowledgement is verified and timed by the server's bridge."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from carekey.sim import bench_online
from tests.online.conftest import mqtt_url  # noqa: F401 - the fixture


def test_a_small_fleet_acknowledges_every_block(mqtt_url: str) -> None:  # noqa: F811
    with ThreadPoolExecutor(1) as pool:  # its own thread: asyncio.run inside
        result = pool.submit(
            bench_online.run, controllers=6, rounds=2, url=mqtt_url, echo=lambda _line: None
        ).result()
    assert result["controllers"] == 6
    assert result["missing_acks"] == 0
    assert result["server_messages_refused"] == 0
    assert 0 < result["revocation_ack_p50_s"] <= result["revocation_ack_p99_s"]
    assert result["revocation_ack_p99_s"] <= result["revocation_ack_max_s"]
    assert result["broker_echo_ms_p50"] > 0
