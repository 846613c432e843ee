"""The server's heap setting (issue 14): after password checks on many threads, a process keeps
about one check's Argon2 memory, not one per malloc arena."""

from __future__ import annotations

import platform
import subprocess
import sys
import textwrap

import pytest

from carekey.server.memory import pin_mmap_threshold

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"

# Eight password checks on eight live threads (glibc gives each its own malloc arena), each
# followed by small allocations that outlive it, as a request's do; prints the growth of the
# resident set in MB. Unpinned, this grows by about 8 x 19 MiB.
PROBE = textwrap.dedent(
    """
    import sys, threading
    from carekey.server.memory import pin_mmap_threshold
    from carekey.auth.passwords import hash_password, verify_password

    def rss():
        for line in open("/proc/self/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024

    if sys.argv[1] == "pin":
        assert pin_mmap_threshold()
    stored = hash_password("x")
    before = rss()
    kept = []

    done = threading.Barrier(9)

    def check():
        verify_password(stored, "x")
        kept.append([bytes(200) for _ in range(50)])
        done.wait()  # alive until all have checked: eight threads, eight arenas
        done.wait()

    threads = [threading.Thread(target=check) for _ in range(8)]
    for thread in threads:
        thread.start()
    done.wait()
    print(rss() - before)
    done.wait()
    for thread in threads:
        thread.join()
    """
)


def _growth_mb(mode: str) -> float:
    done = subprocess.run(  # noqa: S603 - our own interpreter and a fixed script
        [sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True
    )
    return float(done.stdout.strip())


@pytest.mark.skipif(not GLIBC, reason="the setting is glibc's")
def test_pinned_threshold_returns_the_argon2_memory() -> None:
    assert _growth_mb("pin") < 30  # at most about one 19 MiB check stays resident


@pytest.mark.skipif(not GLIBC, reason="the setting is glibc's")
def test_pin_succeeds_on_glibc_and_is_repeatable() -> None:
    assert pin_mmap_threshold()
    assert pin_mmap_threshold()
