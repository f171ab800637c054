"""Which client an HTTP request comes from, believing X-Forwarded-For only from trusted proxies.

The router appends the address it saw to X-Forwarded-For. Walking that list from the right and
stopping at the first address that is not a trusted proxy gives the real client; anything further
left was written by the client itself and may be forged, so it is never used.
"""

from __future__ import annotations

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
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):
        if hop not in trusted_proxies:
            return hop[:CLIENT_KEY_MAX_LEN]
    return (hops[0] if hops else peer)[:CLIENT_KEY_MAX_LEN]
