"""The route listing the matrix is built on also reads mounted sub-applications (the web UI may
become one, mounted at "/"), routers included in them, and leaves out HEAD and static files."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from tests.access.routes import walk


def test_mounted_applications_and_included_routers_are_walked(tmp_path: Path) -> None:
    pages = APIRouter(prefix="/people")

    @pages.get("/{person_id}")
    def person(person_id: int) -> None: ...

    @pages.post("/{person_id}/block")
    def block(person_id: int) -> None: ...

    web = FastAPI()
    web.include_router(pages)

    @web.get("/")
    def home() -> None: ...

    admin = FastAPI()

    @admin.get("/things")
    def things() -> None: ...

    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.include_router(APIRouter(prefix="/api"), prefix="/v1")
    app.mount("/static", StaticFiles(directory=str(tmp_path)), name="static")
    app.mount("/admin", admin)
    app.mount("/", web)

    found = {(method, path) for method, path, _name in walk(app.routes)}
    assert {
        ("GET", "/people/{person_id}"),
        ("POST", "/people/{person_id}/block"),
        ("GET", "/"),
        ("GET", "/admin/things"),
    } <= found
    assert not any(method == "HEAD" for method, _path in found)
    assert not any(path.startswith("/static") for _method, path in found)
