"""``sim.cpumeter``: CPU of a server process tree, of this process and of the machine."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from carekey.sim.cpumeter import CpuMeter, per_unit

pytestmark = pytest.mark.skipif(not CpuMeter.available(), reason="needs Linux /proc")

BURN = "import time\nend = time.process_time() + {s}\nwhile time.process_time() < end: pass\n"


def _burn(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_this_process_counts_as_the_load_generator() -> None:
    meter = CpuMeter(None, database="sqlite")
    before = meter.sample()
    _burn(0.2)
    after = meter.sample()
    assert before is not None
    assert after is not None
    assert after.load - before.load >= 0.15
    assert after.server == 0.0  # no server given
    assert after.database == 0.0  # no database counted for SQLite
    assert after.machine_busy - before.machine_busy >= 0.15


def test_cpu_of_a_live_tree_includes_its_ended_children() -> None:
    parent = subprocess.Popen(  # noqa: S603 - our own interpreter and fixed arguments
        [
            sys.executable,
            "-c",
            "import subprocess, sys, time\n"
            f"subprocess.run([sys.executable, '-c', {BURN.format(s=0.3)!r}], check=True)\n"
            "time.sleep(30)\n",
        ]
    )
    try:
        meter = CpuMeter(parent.pid, database="sqlite")
        before = meter.sample()
        time.sleep(1.5)  # the child burns 0.3 s and ends; the parent sleeps
        after = meter.sample()
    finally:
        parent.kill()
        parent.wait(timeout=10)
    assert before is not None
    assert after is not None
    figures = per_unit(before, after, 100, scale=1e3, suffix="ms_per_x", phase="test")
    assert figures["server_cpu_ms_per_x"] >= 2.0  # ≥ 0.3 s over 100 units, minus start-up
    assert 0 < figures["busy_cores_test"] <= 2.5


def test_no_samples_or_no_work_gives_no_figures() -> None:
    meter = CpuMeter(None, database="postgresql")
    sample = meter.sample()
    assert per_unit(None, sample, 10, scale=1e3, suffix="x", phase="p") == {}
    assert per_unit(sample, sample, 0, scale=1e3, suffix="x", phase="p") == {}
