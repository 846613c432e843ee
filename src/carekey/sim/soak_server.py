"""``python -m carekey.sim.soak_server serve …``: ``carekey serve`` with a memory probe in each
worker, for finding what grows during ``carekey bench soak`` (a benchmark tool, not product code).

Without ``CAREKEY_SOAK_TRACE_DIR`` this is exactly ``carekey serve``. With it, every worker (each
imports this module as ``__mp_main__`` when ``multiprocessing`` spawns it) starts ``tracemalloc``
30 s after its start, then writes every ``CAREKEY_SOAK_TRACE_S`` seconds (default 60) a snapshot
``<dir>/<pid>-<n>.snap`` and the 40 most numerous object types (``<pid>-<n>.types``). Compare two
snapshots with ``python -m carekey.sim.soak_server diff A.snap B.snap``: the lines of code whose
allocations still alive grew the most. Tracing costs CPU and memory of its own: figures of a
traced run are for finding the cause, not for the report.
"""

from __future__ import annotations

import collections
import gc
import os
import runpy
import sys
import threading
import time
import tracemalloc
from pathlib import Path

TRACE_DIR_ENV = "CAREKEY_SOAK_TRACE_DIR"
TRACE_S_ENV = "CAREKEY_SOAK_TRACE_S"


def _probe(folder: Path, every_s: float) -> None:
    """Start tracing once the worker has had time to start (tracing from the first import makes
    the start too slow), then write a snapshot and the object counts every ``every_s`` seconds,
    forever."""
    time.sleep(30)
    tracemalloc.start(10)
    n = 0
    while True:
        time.sleep(every_s)
        n += 1
        stem = folder / f"{os.getpid()}-{n:03d}"
        tracemalloc.take_snapshot().dump(str(stem.with_suffix(".snap")))
        counts = collections.Counter(type(o).__qualname__ for o in gc.get_objects())
        lines = [f"{count}\t{name}" for name, count in counts.most_common(40)]
        stem.with_suffix(".types").write_text("\n".join(lines) + "\n")


def start_probe() -> None:
    """Start tracing and the probe thread when ``CAREKEY_SOAK_TRACE_DIR`` is set."""
    folder = os.environ.get(TRACE_DIR_ENV)
    if not folder:
        return
    every_s = float(os.environ.get(TRACE_S_ENV, "60"))
    threading.Thread(target=_probe, args=(Path(folder), every_s), daemon=True).start()


def diff(before: str, after: str, *, top: int = 25) -> None:
    """Print the ``top`` call sites whose live allocations grew most between two snapshots."""
    old = tracemalloc.Snapshot.load(before)
    new = tracemalloc.Snapshot.load(after)
    for stat in new.compare_to(old, "traceback")[:top]:
        print(f"{stat.size_diff / 1024:+10.0f} KiB {stat.count_diff:+8d} blocks")
        for line in stat.traceback.format()[-12:]:
            print("    " + line)


if __name__ == "__mp_main__":  # a worker spawned by the server's supervisor
    start_probe()
elif __name__ == "__main__":
    if sys.argv[1:2] == ["diff"]:
        diff(sys.argv[2], sys.argv[3])
    else:  # the ``carekey`` command line, run as ``python -m carekey`` would
        runpy.run_module("carekey", run_name="__main__")  # __main__ stays this module
