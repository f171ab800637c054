"""Which client an HTTP request comes from, believing X-Forwarded-For only from trusted proxies.

The router appends the address it saw to X-Forwarded-For, so when the peer is a trusted proxy the
last entry is the client; anything further left was written by the client itself and may be
forged, so it is never used. (One trusted hop: the router is the edge.)
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection
from typing import Any

CLIENT_KEY_MAX_LEN = 64


def client_address(request: Any, trusted_proxies: Collection[str]) -> str | None:
    """The caller's IP for throttling; None when the transport does not say."""
    if request is None:
        return None
    peer = request.client.host if getattr(request, "client", None) else None
    forwarded = request.headers.get("x-forwarded-for")
    if peer is None or peer not in trusted_proxies or not forwarded:
        return peer[:CLIENT_KEY_MAX_LEN] if peer else None
    # The last hop is the one our trusted router appended: the address it saw. Everything to its
    # left came from the client and may be forged.
    last = forwarded.split(",")[-1].strip()
    return _as_ip(last) or peer[:CLIENT_KEY_MAX_LEN]


def _as_ip(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None
