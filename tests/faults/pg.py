"""A PostgreSQL of the fault tests' own: initdb into a temporary folder, on a free port, run as
an unprivileged user (PostgreSQL refuses root), which is created if missing. The tests may
freeze it (SIGSTOP of the postmaster and all its children), thaw it, restart it and kill it:
never the shared PostgreSQL on port 5432."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import time
from pathlib import Path

from carekey.sim.server import free_port

PG_USER = "carekey-pg"


class PostgresMissingError(RuntimeError):
    """No PostgreSQL server binaries here."""


def bindir() -> Path:
    """Where ``initdb`` and ``postgres`` are: ``pg_config --bindir``, else the newest
    ``/usr/lib/postgresql/*/bin``."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)  # noqa: S603 - found on PATH
        candidates.append(Path(out.stdout.strip()))
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for folder in candidates:
        if (folder / "initdb").exists() and (folder / "postgres").exists():
            return folder
    raise PostgresMissingError("no PostgreSQL server binaries (initdb, postgres) found")


def _ensure_user() -> str | None:
    """The user to run PostgreSQL as: ourselves unless root, else ``carekey-pg``."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(PG_USER)
    except KeyError:
        subprocess.run(  # noqa: S603 - fixed arguments
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_USER],  # noqa: S607
            check=True,
            capture_output=True,
        )
    return PG_USER


class OwnPostgres:
    """One PostgreSQL cluster in ``folder``; :meth:`start` before use, :meth:`stop` after."""

    def __init__(self, folder: Path) -> None:
        self.bin = bindir()
        self.user = _ensure_user()
        self.folder = folder
        self.data = folder / "data"
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o777)
        if self.user:
            entry = pwd.getpwnam(self.user)
            os.chown(folder, entry.pw_uid, entry.pw_gid)
        subprocess.run(  # noqa: S603 - the found binaries, fixed arguments
            [
                str(self.bin / "initdb"),
                "-D",
                str(self.data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ],
            check=True,
            capture_output=True,
            user=self.user,
        )

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        log = (self.folder / "postgres.log").open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - the found binary, fixed arguments
            [
                str(self.bin / "postgres"),
                "-D",
                str(self.data),
                "-p",
                str(self.port),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                f"unix_socket_directories={self.folder}",
                "-c",
                "fsync=off",
                "-c",
                "max_connections=100",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            user=self.user,
        )
        log.close()
        deadline = time.monotonic() + 30
        while True:
            ready = subprocess.run(  # noqa: S603 - the found binary, fixed arguments
                [str(self.bin / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)],
                check=False,
            )
            if ready.returncode == 0:
                return
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((self.folder / "postgres.log").read_text()[-2000:])
            time.sleep(0.1)

    def _pids(self) -> list[int]:
        """The postmaster and its children."""
        assert self.process is not None
        root = self.process.pid
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == root:
                    children.append(int(stat.parent.name))
        return [root, *children]

    def _signal(self, sig: signal.Signals) -> None:
        for pid in self._pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)

    def freeze(self) -> None:
        """SIGSTOP the whole server: the kernel still accepts and acknowledges, nothing answers."""
        self._signal(signal.SIGSTOP)

    def thaw(self) -> None:
        """SIGCONT: the server runs again where it stopped."""
        self._signal(signal.SIGCONT)

    def restart(self) -> None:
        """Fast shutdown (SIGINT: sessions are ended, transactions rolled back), then start."""
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=30)
        self.start()

    def kill(self) -> None:
        """SIGKILL the postmaster and its children: a crash; :meth:`start` recovers."""
        assert self.process is not None
        self._signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        """Stop it, thawed first, killed if it does not stop."""
        if self.process is None or self.process.poll() is not None:
            return
        self.thaw()
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()
