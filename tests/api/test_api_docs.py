"""Issue 18: the API documentation is complete about errors and works offline.

- Every API operation in ``/openapi.json`` lists 400, 401, 403, 404, 409, 422 and 503 with a
  ``$ref`` to CareKey's error schema, and the answers the application really gives validate
  against those schemas (the 422 is CareKey's own shape, not FastAPI's ``HTTPValidationError``).
- ``/docs`` and ``/redoc`` are served from the package's own files, under a CSP without
  ``'unsafe-inline'`` or ``'unsafe-eval'`` for scripts; ``/favicon.ico`` answers.
- The vendored files are the ones the vendor README names (sha256).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from carekey.config import Settings
from carekey.http.openapi import ErrorResponse, ValidationErrorResponse
from carekey.server.app import create_app

ERROR_STATUSES = ("400", "401", "403", "404", "409", "422", "503")
STATIC = Path(__file__).parents[2] / "src" / "carekey" / "adminui" / "static"
VENDOR = STATIC / "vendor"
METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def offline() -> TestClient:
    """The application without a database: enough for the documents and the static files."""
    return TestClient(create_app(Settings(secret_key="api-docs-test-" + "x" * 30)))


@pytest.fixture(scope="module")
def document(offline: TestClient) -> dict[str, Any]:
    response = offline.get("/openapi.json")
    assert response.status_code == 200
    return dict(response.json())


def test_every_api_operation_lists_the_error_answers(document: dict[str, Any]) -> None:
    operations = [
        (path, method, operation)
        for path, item in document["paths"].items()
        if path.startswith("/api/")
        for method, operation in item.items()
        if method in METHODS
    ]
    assert len(operations) > 50
    missing = []
    for path, method, operation in operations:
        for status in ERROR_STATUSES:
            answer = operation["responses"].get(status)
            wanted = "ValidationErrorResponse" if status == "422" else "ErrorResponse"
            ref = (answer or {}).get("content", {}).get("application/json", {}).get("schema", {})
            if ref != {"$ref": f"#/components/schemas/{wanted}"} or not answer.get("description"):
                missing.append(f"{method.upper()} {path} {status}")
    assert missing == []
    schemas = document["components"]["schemas"]
    assert {"ErrorResponse", "ErrorInfo", "ValidationErrorResponse", "FieldProblem"} <= set(schemas)
    # FastAPI's own 422 shape is never sent, so it is not described either.
    assert "HTTPValidationError" not in schemas
    assert "HTTPValidationError" not in str(document["paths"])
    info = schemas["ValidationErrorInfo"]
    assert {"code", "message", "message_en", "details"} <= set(info["properties"])


def test_the_answers_given_match_the_documented_shapes(client: TestClient) -> None:
    invalid = client.post("/api/v1/auth/token", json={"municipality": "0101"})
    assert invalid.status_code == 422
    body = ValidationErrorResponse.model_validate(invalid.json())
    assert body.error.code == "request.invalid"
    assert body.error.details
    assert any(problem.field == "body.employee_number" for problem in body.error.details)

    unauthenticated = client.get("/api/v1/admin/employees")
    assert unauthenticated.status_code == 401
    assert ErrorResponse.model_validate(unauthenticated.json()).error.code

    # FastAPI's shape would not pass: the model describes CareKey's, and only it.
    with pytest.raises(ValueError, match="error"):
        ValidationErrorResponse.model_validate({"detail": [{"loc": ["body"], "msg": "x"}]})


def _csp(response: Any) -> dict[str, list[str]]:
    policy = response.headers["content-security-policy"]
    directives = (part.split() for part in policy.split(";") if part.strip())
    return {words[0]: words[1:] for words in directives}


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_the_documentation_pages_come_from_the_package(offline: TestClient, path: str) -> None:
    page = offline.get(path)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    # Nothing from another site, and no inline script at all.
    assert not re.search(r"(src|href)=\"(https?:)?//", html)
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assets = re.findall(r"(?:src|href)=\"(/static/[^\"]+)\"", html)
    assert any(asset.startswith("/static/vendor/") for asset in assets)
    for asset in assets:
        assert offline.get(asset).status_code == 200, asset
    csp = _csp(page)
    assert csp["script-src"] == ["'self'"]
    assert csp["default-src"] == ["'self'"]
    assert "'unsafe-inline'" not in csp.get("style-src", [])
    if path == "/redoc":
        nonce = re.search(r"data-style-nonce=\"([^\"]+)\"", html)
        assert nonce is not None
        assert f"'nonce-{nonce.group(1)}'" in csp["style-src"]
        assert csp["worker-src"] == ["blob:"]
        assert offline.get(path).text != html  # a fresh nonce every time
    else:
        assert csp["style-src"] == ["'self'"]
        assert "worker-src" not in csp


def test_the_favicon_answers(offline: TestClient) -> None:
    icon = offline.get("/favicon.ico")
    assert icon.status_code == 200
    assert icon.headers["content-type"].startswith("image/svg+xml")
    assert icon.content == (STATIC / "favicon.svg").read_bytes()
    assert offline.get("/static/favicon.svg").status_code == 200
    assert 'rel="icon"' in (STATIC.parent / "templates" / "base.html").read_text()


def test_the_vendored_files_are_the_ones_the_readme_names() -> None:
    readme = (VENDOR / "README.md").read_text()
    listed = dict(re.findall(r"^\| `([^`]+)` \|.*\| `([0-9a-f]{64})` \|$", readme, re.M))
    on_disk = {
        str(path.relative_to(VENDOR))
        for path in VENDOR.rglob("*")
        if path.is_file() and path.name != "README.md"
    }
    assert set(listed) == on_disk
    for name, digest in listed.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name
