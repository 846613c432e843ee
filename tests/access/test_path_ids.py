"""Ids in a path are ASCII digits only: every route with an id, called by the administrator (or,
on a route that is not the municipality's, the first actor the matrix allows there: the
association's user on its portal) with the probe's id written in other Unicode digits, must
refuse it (400, 404 or 422), never answer it as if it were the id, never fail with a server
error, and never change anything.

``"٣١".isdigit()`` is true and ``int("٣١") == 31`` in Python, while ``int("²")`` raises: an id
parsed with ``str.isdigit`` and ``int`` takes an Arabic-Indic "31" for employee 31 and fails on
a superscript two.
"""

from __future__ import annotations

import pytest

from tests.access.conftest import Server
from tests.access.matrix import MATRIX, Outcome
from tests.access.recipes import RECIPES, Ctx
from tests.access.test_matrix import CHANGING, changes, send, snapshot
from tests.access.world import ACTORS, ActorName

DIGITS = {
    "arabic-indic": "٠١٢٣٤٥٦٧٨٩",
    "fullwidth": "０１２３４５６７８９",
    "superscript": "⁰¹²³⁴⁵⁶⁷⁸⁹",
}
ID_ROUTES = sorted(route for route in MATRIX if "_id}" in route[1])


def _caller(route: tuple[str, str]) -> ActorName:
    """Who may use the route: the administrator, or else the first actor allowed there."""
    line = MATRIX[route]
    if line["admin"] is Outcome.ALLOW:
        return "admin"
    return next(actor for actor in ACTORS if line[actor] is Outcome.ALLOW)


def _rewrite(template: str, url: str, digits: str) -> str:
    """``url`` with the id segments (where ``template`` has ``{..._id}``) in other digits."""
    parts = url.split("/")
    for index, segment in enumerate(template.split("/")):
        if segment.startswith("{") and segment.endswith("_id}"):
            parts[index] = "".join(digits[int(c)] for c in parts[index])
    return "/".join(parts)


@pytest.mark.parametrize("digits", sorted(DIGITS))
@pytest.mark.parametrize("route", ID_ROUTES, ids=[f"{m} {p}" for m, p in ID_ROUTES])
def test_unicode_digits_are_not_an_id(fresh: Server, route: tuple[str, str], digits: str) -> None:
    ctx = Ctx(fresh.template, _caller(route), fresh.client, fresh.clock, fresh.engine)
    (req,) = RECIPES[route](ctx)
    req.url = _rewrite(route[1], req.url, DIGITS[digits])
    assert req.url.isascii() is False, "no id was rewritten"
    before = snapshot(fresh.engine) if req.method in CHANGING else None
    response = send(ctx, req)
    changed = changes(before, snapshot(fresh.engine)) if before is not None else []
    assert response.status_code in (400, 404, 422), (
        f"{req.method} {req.url}: {response.status_code} {response.headers.get('location', '')}"
    )
    assert not changed, f"{req.method} {req.url} changed: {changed}"
