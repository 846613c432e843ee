"""The authorisation matrix: every route of the application × every actor, against the policy
table in ``tests.access.matrix``.

``test_every_route_has_a_line`` keeps the table complete: a new route fails it until the table
(and ``tests.access.recipes``) say who may use it. ``test_route_role`` then makes each route's
request as each actor in a fresh copy of the world and checks the outcome; for a change it
checks the database: a refused change left every table as it was (the logs aside: a refusal may
be logged), an allowed one made its change.
"""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import urlsplit

import pytest
from openpyxl import load_workbook  # type: ignore[import-untyped]
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from carekey.store.models import Base
from tests.access.conftest import Server
from tests.access.matrix import MATRIX, Outcome
from tests.access.recipes import RECIPES, Ctx, Req
from tests.access.routes import app_routes
from tests.access.world import ACTORS, ActorName

CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# The title of the page a failed CSRF check answers with (403, like a refusal by the policy):
# a signed-in actor's form carries the session's token, so a refusal must come from the policy.
CSRF_REFUSAL = "Forespørgslen blev afvist"
# Tables a refused request may still write to: logging a refusal is fine.
LOG_TABLES = frozenset({"admin_action", "audit_event"})
Snapshot = dict[str, list[tuple[Any, ...]]]


def test_every_route_has_a_line() -> None:
    served = app_routes()
    missing = sorted(served - MATRIX.keys())
    stale = sorted(MATRIX.keys() - served)
    assert not missing, "routes without a line in tests/access/matrix.py: " + ", ".join(
        f"{method} {path}" for method, path in missing
    )
    assert not stale, "lines of tests/access/matrix.py without a route: " + ", ".join(
        f"{method} {path}" for method, path in stale
    )
    no_recipe = sorted(MATRIX.keys() - RECIPES.keys())
    assert not no_recipe, "lines without a recipe in tests/access/recipes.py: " + ", ".join(
        f"{method} {path}" for method, path in no_recipe
    )
    assert not RECIPES.keys() - MATRIX.keys(), "recipes for routes the table does not have"


def snapshot(engine: Engine) -> Snapshot:
    """Every row of every table but the logs, in primary-key order."""
    with engine.connect() as connection:
        return {
            table.name: [
                tuple(row)
                for row in connection.execute(select(table).order_by(*table.primary_key.columns))
            ]
            for table in Base.metadata.sorted_tables
            if table.name not in LOG_TABLES
        }


def changes(before: Snapshot, after: Snapshot) -> list[str]:
    """What differs, table by table, briefly."""
    found = []
    for name, rows in before.items():
        if rows != after[name]:
            gone = [r for r in rows if r not in after[name]]
            new = [r for r in after[name] if r not in rows]
            found.append(f"{name}: -{gone[:2]} +{new[:2]}")
    return found


def body_text(response: Any) -> str:
    """The answer as text; a workbook's cells joined."""
    if "spreadsheetml" in response.headers.get("content-type", ""):
        book = load_workbook(io.BytesIO(response.content), read_only=True)
        return "\n".join(
            " ".join(str(cell) for cell in row if cell is not None)
            for sheet in book.worksheets
            for row in sheet.iter_rows(values_only=True)
        )
    return str(response.text)


def send(ctx: Ctx, req: Req) -> Any:
    """Make ``req`` with the actor's credentials: the bearer token on the API, the session
    cookie (and the CSRF token in the form) on the web; both on the key-app routes, to show
    they confer nothing there."""
    if req.done is not None:
        return req.done
    headers: dict[str, str] = {}
    data = dict(req.data) if req.data is not None else None
    if req.credentials:
        creds = ctx.creds
        ctx.use_web(creds)
        if req.url.startswith("/api/"):
            headers.update(creds.api)
        elif req.method in CHANGING and creds.web is not None:
            data = {**(data or {}), "csrf_token": creds.web.csrf}
    return ctx.client.request(
        req.method,
        req.url,
        json=req.json,
        data=data,
        files=req.files,
        params=req.params,
        headers=headers,
    )


def verdict(outcome: Outcome, req: Req, response: Any, ctx: Ctx, changed: list[str]) -> list[str]:
    """What is wrong with ``response`` for ``outcome``; empty when it is right."""
    status = response.status_code
    location = response.headers.get("location")
    to_login = location is not None and urlsplit(location).path == "/login"
    success = 200 <= status < 300 or (300 <= status < 400 and not to_login)
    api = req.url.startswith("/api/")
    unauth = status == 401 if api else status == 401 or (300 <= status < 400 and to_login)
    deny = status in (403, 404)
    text = body_text(response) if req.marker else ""

    def text_of() -> str:
        return text or body_text(response)

    shown = req.marker is not None and req.marker in text
    problems: list[str] = []
    if status >= 500:
        return [f"server error {status}"]
    effect = None
    if req.effect is not None and req.method in CHANGING:
        with Session(ctx.engine) as db:
            effect = req.effect(db)

    if outcome is Outcome.PUBLIC and not 200 <= status < 400:
        problems.append(f"public route answered {status}")
    if outcome is Outcome.ALLOW:
        if not success:
            problems.append(f"not allowed: {status} {location or ''}".strip())
        elif req.marker and not shown:
            problems.append(f"allowed, but {req.marker!r} is not in the answer")
        elif effect is False:
            problems.append(f"answered {status}, but the change was not made")
    if outcome is Outcome.HIDDEN:
        if not 200 <= status < 300:
            problems.append(f"expected an answer without the object, got {status}")
        elif shown:
            problems.append(f"{req.marker!r} is shown to someone who may not see it")
    if outcome is Outcome.DENY and not deny:
        problems.append(f"expected 403/404, got {status} {location or ''}".strip())
    if outcome is Outcome.UNAUTH and not unauth:
        problems.append(f"expected 401 or a redirect to /login, got {status} {location or ''}")
    if outcome is Outcome.REFUSED and not (deny or unauth):
        problems.append(f"expected a refusal (401/403/404 or /login), got {status}")
    if outcome is Outcome.DEVICE and not 400 <= status < 500:
        problems.append(f"a key-app route gave {status} without a device proof")
    signed_in_form = req.credentials and ctx.creds.web is not None and not api
    if signed_in_form and req.method in CHANGING and status == 403 and CSRF_REFUSAL in text_of():
        problems.append("refused by the CSRF check, not by the access policy")
    if outcome in (Outcome.DENY, Outcome.UNAUTH, Outcome.REFUSED) and shown:
        problems.append(f"the refusal shows {req.marker!r}")
    refusal = outcome not in (Outcome.ALLOW, Outcome.PUBLIC)
    if refusal and req.method in CHANGING and changed:
        problems.append("the database changed: " + "; ".join(changed))
    if refusal and effect:
        problems.append("the change was made")
    return problems


CASES = [
    pytest.param(route, actor, outcome, id=f"{route[0]} {route[1]} {actor}")
    for route, line in MATRIX.items()
    for actor, outcome in line.items()
]


@pytest.mark.parametrize(("route", "actor", "outcome"), CASES)
def test_route_role(
    fresh: Server, route: tuple[str, str], actor: ActorName, outcome: Outcome
) -> None:
    assert actor in ACTORS
    ctx = Ctx(fresh.template, actor, fresh.client, fresh.clock, fresh.engine)
    problems: list[str] = []
    for req in RECIPES[route](ctx):
        changing = req.method in CHANGING and req.done is None
        before = snapshot(fresh.engine) if changing else None
        response = send(ctx, req)
        after = snapshot(fresh.engine) if before is not None else None
        changed = changes(before, after) if before is not None and after is not None else []
        for problem in verdict(outcome, req, response, ctx, changed):
            problems.append(f"{req.method} {req.url} ({req.what or 'as given'}): {problem}")
    assert not problems, f"{route[0]} {route[1]} as {actor}, expected {outcome}:\n" + "\n".join(
        problems
    )
