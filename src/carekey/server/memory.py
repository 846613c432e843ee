"""The server process's C heap: large blocks go back to the system when they are freed.

Each password check (Argon2id, :mod:`carekey.auth.passwords`) allocates 19 MiB with ``malloc``.
glibc serves a block that large with ``mmap`` and unmaps it on ``free``, but then raises its
*dynamic* mmap threshold to the freed block's size (up to 32 MiB): from the second check on, the
19 MiB come from the malloc arena of whichever thread-pool thread runs the check. A thread's arena
keeps that memory when small blocks allocated after it (a response, a row) sit above it, and with
a dozen threads over up to ``8 × cores`` arenas, a worker's resident set grew by one check's
19 MiB per arena touched: the tester's 161 MB → 371 MB in 5 minutes of load (issue 14).

:func:`pin_mmap_threshold` sets the threshold once, at the start of a server process, which also
turns glibc's dynamic adjustment off: blocks of 1 MiB and more (the Argon2 memory, large JSON
bodies) are always mapped and unmapped, and the arenas keep only small blocks. Smaller blocks
(a 70 KB key bundle) stay in the arenas, as before. Off glibc (musl, macOS) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import platform
from typing import Final

M_MMAP_THRESHOLD: Final = -3  # mallopt parameter, glibc's <malloc.h>
MMAP_THRESHOLD_BYTES: Final = 1 << 20


def pin_mmap_threshold(threshold: int = MMAP_THRESHOLD_BYTES) -> bool:
    """Fix glibc's mmap threshold at ``threshold`` bytes (no dynamic adjustment from now on);
    True if it was set, False off glibc or if ``mallopt`` refused."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, threshold))
