"""Every (method, path template) the application serves, read from the application itself.

FastAPI 0.165 keeps an included router as a wrapper in ``app.routes`` (``original_router`` and
``include_context.prefix``); Starlette keeps a mounted sub-application as a ``Mount`` whose
routes sit in ``Mount.routes`` (or ``Mount.app.routes``). Both are walked, prefixes added, so the
matrix keeps working when the web UI becomes a sub-application mounted at ``/``. HEAD (added
automatically beside GET) and the static files are left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from fastapi import FastAPI
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from carekey.config import Settings
from carekey.server.app import create_app

IGNORED_METHODS = frozenset({"HEAD", "OPTIONS"})
Route = tuple[str, str]  # (method, path template), e.g. ("GET", "/api/v1/admin/employees")


def _join(prefix: str, path: str) -> str:
    joined = prefix.rstrip("/") + "/" + path.lstrip("/") if path else prefix
    return joined or "/"


def walk(routes: Iterable[Any], prefix: str = "") -> Iterator[tuple[str, str, str]]:
    """(method, full path, endpoint name) for every route below ``routes``."""
    for route in routes:
        if hasattr(route, "original_router"):  # FastAPI's wrapper of an included router
            context = getattr(route, "include_context", None)
            inner = getattr(context, "prefix", "") or ""
            yield from walk(route.original_router.routes, _join(prefix, inner) if inner else prefix)
            continue
        if isinstance(route, Mount):
            if isinstance(route.app, StaticFiles) or route.name == "static":
                continue
            inner_routes = getattr(route, "routes", None) or getattr(route.app, "routes", None)
            if not inner_routes:
                raise AssertionError(
                    f"a mount at {route.path!r} has no routes to read: give the matrix a way "
                    "to enumerate it"
                )
            yield from walk(inner_routes, _join(prefix, route.path) if route.path else prefix)
            continue
        if not hasattr(route, "path"):
            raise AssertionError(f"unknown kind of route: {route!r}")
        path = _join(prefix, route.path) if prefix else route.path
        for method in sorted(getattr(route, "methods", None) or ()):
            if method not in IGNORED_METHODS:
                yield method, path, getattr(route, "name", "")


def app_routes(app: FastAPI | None = None) -> set[Route]:
    """The (method, path template) pairs of ``app`` (by default a freshly built application)."""
    app = app or create_app(Settings(secret_key="route-listing-only-" + "x" * 24))
    found = {(method, path) for method, path, _name in walk(app.routes)}
    if not any(path.startswith("/api/v1/admin/") for _method, path in found):
        raise AssertionError("no administration routes found: has FastAPI changed how it lists?")
    return found
