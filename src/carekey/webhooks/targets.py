"""Where a webhook may be sent: in production only to public addresses.

A subscription's URL is typed by an administrator of a municipality or a housing association.
Delivered as is, it could make the server call its own database, the broker, a cloud metadata
service or anything else on the municipality's internal network (server-side request forgery).
In production (``CAREKEY_ENVIRONMENT=production``, unless
``CAREKEY_WEBHOOKS_ALLOW_PRIVATE_TARGETS=true``) the dispatcher therefore resolves the host
just before each delivery. It refuses the delivery (``private_target``) when any address is not
global: loopback, private, link-local, shared, reserved or multicast. Checking every attempt,
not only the stored URL, also covers a name that later resolves inward (DNS rebinding, within
the resolver's cache time). Development and tests deliver to 127.0.0.1.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit


def refusal(url: str) -> str | None:
    """Why ``url`` may not be delivered to from production (None: it may)."""
    parts = urlsplit(url)
    host = parts.hostname
    if parts.scheme != "https":
        return "https_required"
    if not host:
        return "bad_url"
    try:
        infos = socket.getaddrinfo(host, parts.port or 443, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return "unresolvable_target"
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global or address.is_multicast:
            return "private_target"
    return None
