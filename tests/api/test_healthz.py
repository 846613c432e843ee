"""``/healthz`` tells an operator whether the server can serve."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from carekey.config import Settings
from carekey.server.app import create_app
from carekey.store.db import create_db_engine


def test_healthz_answers_on_a_migrated_database(engine: Engine) -> None:
    with TestClient(create_app(Settings(), engine=engine)) as client:
        response = client.get("/healthz")
        assert response.status_code == 200
        assert response.json()["status"] == "ok"
        assert response.json()["database"] == engine.dialect.name
        assert client.get("/").status_code == 200
        assert "/healthz" in client.get("/openapi.json").json()["paths"]


def test_healthz_reports_an_unmigrated_database(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    with TestClient(create_app(Settings(), engine=engine)) as client:
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["schema"] == "needs upgrade"
    engine.dispose()
