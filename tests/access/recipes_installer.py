"""How the routes of carekey.installer (issue 16) are called in the route x role matrix.

Each recipe registers itself with ``tests.access.recipes.recipe``; the objects a route acts on
are made on demand from the world's probes (the side's citizen, door, property)."""

from __future__ import annotations

import base64

from tests.access.recipes import simple

APP = "/api/v1/app/installer"
_B64 = base64.b64encode(bytes(32)).decode()

# The installer's key-app routes: authenticated by the phone's app session and device key, so
# every office credential is refused (``device``); they need no object of the world.
simple("GET", f"{APP}/orders")
simple(
    "POST",
    f"{APP}/credential",
    json={"order_id": 1, "door_serial": "S-1", "challenge": "x", "signature": _B64},
)
simple(
    "POST",
    f"{APP}/commissioned",
    json={"order_id": 1, "door_serial": "S-1", "public_key": _B64, "test_receipts": [_B64]},
)
simple(
    "POST",
    f"{APP}/decommissioned",
    json={"order_id": 1, "receipt": _B64, "disposition": "stock"},
)
simple(
    "POST",
    f"{APP}/time-token",
    json={"order_id": 1, "door_serial": "S-1", "nonce": _B64},
)
