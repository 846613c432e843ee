"""``/healthz`` tells an operator whether the server can serve."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from carekey.config import Settings
from carekey.server.app import create_app
from carekey.store.db import create_db_engine
from carekey.store.migrate import upgrade


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


def test_readyz_tells_read_and_write_apart(tmp_path: Path) -> None:
    # A database of its own: the test breaks it (the shared test database must stay whole).
    engine = create_db_engine(f"sqlite:///{tmp_path / 'ready.db'}")
    upgrade(engine)
    with TestClient(create_app(Settings(), engine=engine)) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["checks"] == {"read": True, "write": True, "schema": "current"}
        with engine.begin() as connection:  # a database nobody may write to any more
            connection.execute(text("DROP TABLE alembic_version"))
        broken = client.get("/readyz")
    assert broken.status_code == 503
    assert broken.json()["checks"]["write"] is False
    assert broken.json()["error"]["code"] == "server.not_ready"
    assert broken.headers["retry-after"]
    engine.dispose()


def test_an_unexpected_error_answers_in_the_json_error_shape(engine: Engine) -> None:
    app = create_app(Settings(), engine=engine)

    def boom() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/api/v1/boom", boom)
    app.router.routes.insert(0, app.router.routes.pop())  # before the admin UI's mount

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/api/v1/boom")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "server.internal_error"
