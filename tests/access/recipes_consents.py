"""How the routes of carekey.consents (issue 16) are called in the route x role matrix.

Each recipe registers itself with ``tests.access.recipes.recipe``; the objects a route acts on
are made on demand from the world's probes (the side's citizen, door, property)."""

from __future__ import annotations
