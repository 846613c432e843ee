"""SQLite on a full disk (issue 14): writes answer a clean, retryable 503, readiness says "can
read, cannot write", nothing acknowledged is lost, and the server writes again as soon as a
little space is back (the WAL is bounded, so it does not swallow what was freed).

The database lives on a tiny tmpfs mounted for the test (we run as root here, as CI does); a
filler file takes the rest of the space."""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from carekey.config import Settings
from carekey.server.app import create_app
from carekey.store import models as m
from carekey.store.db import create_db_engine
from carekey.store.migrate import upgrade
from tests.faults.test_kill_mid_upload import SECRET, _body, _fleet

DISK_BYTES = 6 * 1024 * 1024


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(  # noqa: S603 - fixed arguments
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_BYTES}", "tmpfs", str(mount)],  # noqa: S607
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        reason = f"cannot mount a tmpfs: {done.stderr.decode().strip()}"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(reason + " (CI=true requires it)")
        pytest.skip(reason)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)  # noqa: S603, S607


def _fill(path: Path) -> None:
    """Write zeros until the disk is full."""
    chunk = bytes(64 * 1024)
    with path.open("wb") as filler:
        while True:
            try:
                filler.write(chunk)
                filler.flush()
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                return


def test_a_full_disk_answers_503_loses_nothing_and_recovers(tiny_disk: Path) -> None:
    url = f"sqlite:///{tiny_disk / 'carekey.db'}"
    engine = create_db_engine(url)
    upgrade(engine)
    fleet = _fleet(engine, 2)
    headers = {"Authorization": f"Bearer {fleet.token}"}
    app = create_app(Settings(secret_key=SECRET, database_url=url), engine=engine)
    with TestClient(app, raise_server_exceptions=False) as client:
        first = client.post(
            "/api/v1/app/events", json=_body(fleet.attempts[0][:1]), headers=headers
        )
        assert first.status_code == 200, first.text  # acknowledged before the disk fills
        filler = tiny_disk / "filler"
        _fill(filler)

        refused = client.post("/api/v1/app/events", json=_body(fleet.attempts[1]), headers=headers)
        assert refused.status_code == 503, refused.text
        assert refused.headers["retry-after"]
        assert refused.json()["error"]["code"] in ("database.full", "server.database_unavailable")
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["read"] is True
        assert ready.json()["checks"]["write"] is False
        assert client.get("/healthz").status_code == 200  # alive, only not writable

        with contextlib.suppress(FileNotFoundError):
            filler.unlink()  # space is back
        assert client.get("/readyz").status_code == 200
        again = client.post("/api/v1/app/events", json=_body(fleet.attempts[1]), headers=headers)
        assert again.status_code == 200, again.text

    with engine.connect() as connection:
        stored = connection.execute(select(func.count()).select_from(m.AuditEvent)).scalar_one()
    per_door = len(fleet.attempts[0][0][2])
    assert stored == per_door * (1 + len(fleet.attempts[1]))  # the first upload, and the retry
    engine.dispose()
