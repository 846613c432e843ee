"""Where a benchmark phase's CPU went: the server's processes, the database's, the load
generator's, and how busy the whole machine was.

Read from Linux's ``/proc`` before and after a phase, so the figures per request do not depend
on how much of the machine other programs took (the throughput does). A process's time
includes its children that have ended (``cutime``/``cstime``), so PostgreSQL backends that came
and went are counted with the postmaster. Off Linux, :meth:`CpuMeter.sample` gives None and the
benchmark reports no CPU figures.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final

PROC: Final = Path("/proc")


@dataclass(frozen=True, slots=True)
class CpuSample:
    """Cumulative CPU seconds at one moment."""

    server: float
    database: float
    load: float
    machine_busy: float
    machine_total: float


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds including ended children) of ``pid``, or None if it is gone."""
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    # after the command: state, ppid, ..., utime (14th field overall), stime, cutime, cstime
    return int(fields[1]), sum(int(f) for f in fields[11:15]) / ticks


def _comm(pid: int) -> str:
    try:
        return (PROC / str(pid) / "comm").read_text().strip()
    except OSError:
        return ""


class CpuMeter:
    """Samples the CPU of the server process tree rooted at ``server_pid``, of the processes
    named ``postgres*`` (when ``database`` is ``"postgresql"``: the local server), of this
    process, and of the machine."""

    def __init__(self, server_pid: int | None, *, database: str) -> None:
        self.server_pid = server_pid
        self.count_postgres = database == "postgresql"

    @staticmethod
    def available() -> bool:
        return (PROC / "stat").exists() and (PROC / "self" / "stat").exists()

    def sample(self) -> CpuSample | None:
        if not self.available():
            return None
        stats: dict[int, tuple[int, float]] = {}
        for entry in PROC.iterdir():
            if entry.name.isdigit():
                found = _stat(int(entry.name))
                if found is not None:
                    stats[int(entry.name)] = found
        server = 0.0
        if self.server_pid is not None:
            tree = {self.server_pid}
            changed = True
            while changed:  # descendants: workers and their helpers
                changed = False
                for pid, (ppid, _) in stats.items():
                    if ppid in tree and pid not in tree:
                        tree.add(pid)
                        changed = True
            server = sum(stats[pid][1] for pid in tree if pid in stats)
        database = 0.0
        if self.count_postgres:
            database = sum(
                cpu for pid, (_, cpu) in stats.items() if _comm(pid).startswith("postgres")
            )
        load = stats.get(os.getpid(), (0, 0.0))[1]
        values = [int(v) for v in (PROC / "stat").read_text().split("\n", 1)[0].split()[1:]]
        ticks = os.sysconf("SC_CLK_TCK")
        idle = values[3] + (values[4] if len(values) > 4 else 0)
        return CpuSample(server, database, load, (sum(values) - idle) / ticks, sum(values) / ticks)


def per_unit(
    before: CpuSample | None,
    after: CpuSample | None,
    units: int,
    *,
    scale: float,
    suffix: str,
    phase: str,
) -> dict[str, float]:
    """CPU per unit of work between two samples (``scale`` 1e3: ms, 1e6: µs) and the machine's
    busy cores during ``phase``; empty when either sample is missing or there was no work."""
    if before is None or after is None or units <= 0:
        return {}
    cores = os.cpu_count() or 1
    elapsed_cores = (after.machine_total - before.machine_total) / cores
    figures = {
        f"server_cpu_{suffix}": round((after.server - before.server) * scale / units, 3),
        f"loadgen_cpu_{suffix}": round((after.load - before.load) * scale / units, 3),
    }
    if after.database or before.database:
        figures[f"postgres_cpu_{suffix}"] = round(
            (after.database - before.database) * scale / units, 3
        )
    if elapsed_cores > 0:
        figures[f"busy_cores_{phase}"] = round(
            (after.machine_busy - before.machine_busy) / elapsed_cores, 2
        )
    return figures
