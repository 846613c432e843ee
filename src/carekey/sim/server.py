"""The CareKey server as a subprocess on loopback, for benchmarks, screenshots and browser
tests: the same ``carekey serve`` an operator runs, started on a free port and stopped after."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def running_server(
    database_url: str,
    *,
    secret: str,
    log_path: Path,
    workers: int = 1,
    startup_s: float = 60.0,
    keep_alive_s: int | None = None,
    module: str = "carekey",
    extra_env: dict[str, str] | None = None,
) -> Iterator[tuple[str, int]]:
    """``carekey serve`` on loopback as a subprocess (``workers`` processes, see
    ``carekey.server.serve``); once ``/healthz`` answers, yields its base URL and process id (the
    workers are its children: a benchmark accounts for their CPU), and stops it afterwards
    (terminate, then kill if it does not stop). ``module`` is what ``python -m`` runs (a
    benchmark's own launcher of the same CLI); ``extra_env`` is added to the environment."""
    port = free_port()
    env = {
        **os.environ,
        "CAREKEY_DATABASE_URL": database_url,
        "CAREKEY_SECRET_KEY": secret,
        "CAREKEY_ENVIRONMENT": "development",
        "CAREKEY_LOG_LEVEL": "warning",
        **(extra_env or {}),
    }
    command = [
        sys.executable,
        "-m",
        module,
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    if keep_alive_s is not None:
        command += ["--keep-alive", str(keep_alive_s)]
    base_url = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603 - our own interpreter and fixed arguments
        try:
            deadline = time.monotonic() + startup_s
            with httpx.Client(timeout=2) as probe:
                while True:
                    if process.poll() is not None:
                        raise RuntimeError(
                            f"the server stopped at start (exit {process.returncode}): "
                            + log_path.read_text(errors="replace")[-2000:]
                        )
                    with contextlib.suppress(httpx.HTTPError):
                        if probe.get(f"{base_url}/healthz").status_code == 200:
                            break
                    if time.monotonic() > deadline:
                        raise RuntimeError("the server did not answer /healthz in time")
                    time.sleep(0.1)
            yield base_url, process.pid
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
