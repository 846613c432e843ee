"""The administration's answer when the database cannot serve or a page fails (issue 14): a
page that says to try again (503, Retry-After) or that the error is logged (500), in Danish
and English; under ``/api/`` the API's JSON error shape. Never a bare traceback."""

from __future__ import annotations

import sqlite3

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.routing import Mount

from carekey.config import Settings
from carekey.server.app import create_app


def _down() -> None:
    raise OperationalError("SELECT 1", {}, sqlite3.OperationalError("the database went away"))


def _integrity() -> None:
    raise IntegrityError("INSERT", {}, sqlite3.IntegrityError("a bug of ours"))


def _bug() -> None:
    raise RuntimeError("a bug of ours")


@pytest.fixture
def client(engine: Engine) -> TestClient:
    app = create_app(Settings(), engine=engine)
    ui = next(r.app for r in app.routes if isinstance(r, Mount) and r.path == "")
    assert isinstance(ui, FastAPI)
    for path, endpoint in (("down", _down), ("integrity", _integrity), ("bug", _bug)):
        ui.add_api_route(f"/test-{path}", endpoint)
        ui.add_api_route(f"/api/test-{path}", endpoint)
    return TestClient(app, raise_server_exceptions=False)


@pytest.mark.parametrize(("path", "status"), [("down", 503), ("integrity", 500), ("bug", 500)])
def test_a_page_that_fails_says_what_to_do(client: TestClient, path: str, status: int) -> None:
    with client:
        page = client.get(f"/test-{path}")
    assert page.status_code == status
    assert page.headers["content-type"].startswith("text/html")
    assert "Traceback" not in page.text
    if status == 503:
        assert "Prøv igen om lidt" in page.text
        assert int(page.headers["retry-after"]) > 0
    else:
        assert "retry-after" not in page.headers


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("down", 503, "server.database_unavailable"),
        ("integrity", 500, "server.internal_error"),
        ("bug", 500, "server.internal_error"),
    ],
)
def test_under_api_the_same_failures_answer_json(
    client: TestClient, path: str, status: int, code: str
) -> None:
    with client:
        answer = client.get(f"/api/test-{path}")
    assert answer.status_code == status
    assert answer.json()["error"]["code"] == code


def test_the_english_page_for_a_database_that_is_down(client: TestClient) -> None:
    with client:
        client.get("/lang/en", follow_redirects=False)
        page = client.get("/test-down")
    assert page.status_code == 503
    assert "Try again shortly" in page.text
