"""Ids no database can hold (2**70 in a path or a body) are refused with 422 and a stable code,
on every route with an id in its path, not answered with a server error."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.api.conftest import Tenants, sign_in

HUGE = 2**70
BIG = 2**40  # beyond PostgreSQL's INTEGER, within SQLite's 64 bits


def _id_routes(client: TestClient) -> list[tuple[str, str]]:
    """Every administration route with an id in its path (``iter_route_contexts`` flattens the
    included routers)."""
    routes: list[tuple[str, str]] = []
    for route in iter_route_contexts(client.app.routes):  # type: ignore[attr-defined]
        path, methods = route.path or "", route.methods or set()
        if path.startswith("/api/v1/admin/") and re.search(r"\{\w+_id\}", path):
            routes += [(m, path) for m in sorted(methods) if m not in {"HEAD", "OPTIONS"}]
    return routes


@pytest.mark.parametrize("value", [HUGE, BIG])
def test_admin_routes_refuse_ids_out_of_range(
    client: TestClient, tenants: Tenants, engine: Engine, value: int
) -> None:
    headers = sign_in(client, tenants.admin, engine)
    routes = _id_routes(client)
    assert len(routes) >= 5, routes
    for method, path in routes:
        url = re.sub(r"\{\w+_id\}", str(value), path)
        response = client.request(method, url, headers=headers, json={"reason": "test"})
        assert response.status_code < 500, (method, url, response.text)
        if response.status_code == 422:
            code = response.json()["error"]["code"]
            assert code in {"request.out_of_range", "request.invalid"}, (url, code)


def test_key_app_login_with_a_phone_id_out_of_range(client: TestClient) -> None:
    challenge = client.post("/api/v1/app/challenge", json={"phone_id": HUGE})
    assert challenge.status_code < 500
    response = client.post(
        "/api/v1/app/login",
        json={
            "municipality": "0101",
            "employee_number": "E00001",
            "password": "x",
            "phone_id": HUGE,
            "challenge": "x",
            "signature": "AAAA",
        },
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "request.out_of_range"
