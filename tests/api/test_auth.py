"""Signing in to the administration API."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.api.conftest import Tenants, sign_in, totp_code_for


def test_admin_signs_in_and_a_wrong_password_is_refused(
    client: TestClient, tenants: Tenants, engine: Engine
) -> None:
    headers = sign_in(client, tenants.admin, engine)
    assert headers["Authorization"].startswith("Bearer ")
    code = totp_code_for(client, tenants.admin, engine)
    response = client.post(
        "/api/v1/auth/token",
        json={
            "municipality": "0101",
            "employee_number": "E00001",
            "password": "forkert",
            "totp_code": code,
        },
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "auth.bad_credentials"
    assert response.json()["error"]["message"].startswith("Forkert")


def test_care_workers_cannot_use_the_administration(
    client: TestClient, tenants: Tenants, engine: Engine
) -> None:
    response = client.post(
        "/api/v1/auth/token",
        json={
            "municipality": "0101",
            "employee_number": f"E{tenants.worker:05d}",
            "password": "hjemmepleje",
            "totp_code": "123456",
        },
    )
    # The same answer as a wrong password: the answer does not tell a care worker's right
    # password from a wrong one.
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "auth.bad_credentials"


def test_missing_or_forged_tokens_are_refused(client: TestClient, tenants: Tenants) -> None:
    response = client.post("/api/v1/admin/phones/1/block", json={"reason": "x"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "auth.missing_token"
    response = client.post(
        "/api/v1/admin/phones/1/block",
        json={"reason": "x"},
        headers={"Authorization": "Bearer eyJmYWtlIjoxfQ.AAAA"},
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "auth.invalid_token"
