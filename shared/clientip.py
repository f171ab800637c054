"""Which client an HTTP request comes from: one rule for every process, the router included.

`X-Forwarded-For` is a list each proxy appends to, so only its right end can be trusted: walk it
from the right, past the hops that are our own proxies, and the first address that is not one is
the client. Anything further left was written by the client and may be forged.

A subgraph believes the header only from a peer in TRUSTED_PROXIES *that also carries the router's
credential* (X-Router-Token or X-Router-Secret, shared.router_auth): on one machine every caller
is 127.0.0.1, so an address alone cannot tell the router from an attacker on the same host. The
router is the edge: it believes the header only from ROUTER_TRUSTED_PROXIES (none by default, e.g.
a load balancer's address) and sends subgraphs only the client it decided on.

uvicorn runs with `proxy_headers=False` everywhere, so no earlier layer rewrites the peer address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

CLIENT_KEY_MAX_LEN = 64

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TrustedProxies:
    """Addresses and networks (`10.0.0.0/8`) whose X-Forwarded-For entries are our own hops."""

    def __init__(self, spec: str | Iterable[str]) -> None:
        parts = spec.split(",") if isinstance(spec, str) else list(spec)
        self.networks: tuple[Network, ...] = tuple(
            ipaddress.ip_network(part.strip(), strict=False) for part in parts if part.strip()
        )

    def __contains__(self, address: object) -> bool:
        if not isinstance(address, str) or not self.networks:
            return False
        ip = _as_ip(address)
        if ip is None:
            return False
        parsed = ipaddress.ip_address(ip)
        return any(parsed.version == net.version and parsed in net for net in self.networks)

    def __bool__(self) -> bool:
        return bool(self.networks)


def client_from(peer: str | None, forwarded: str | None, trusted: TrustedProxies) -> str | None:
    """The rule itself: the peer, unless it is a trusted proxy that forwarded a list; then the first
    entry from the right that is not a trusted proxy (or the last valid one, if all are)."""
    if peer is None:
        return None
    if not forwarded or peer not in trusted:
        return peer[:CLIENT_KEY_MAX_LEN]
    client = peer
    for hop in reversed(forwarded.split(",")):
        ip = _as_ip(hop.strip())
        if ip is None:
            break  # garbage where an address should be: nothing to its left can be trusted
        client = ip
        if ip not in trusted:
            break
    return client[:CLIENT_KEY_MAX_LEN]


async def client_of_request(
    request: Any,
    trusted: TrustedProxies,
    from_router: Callable[[Iterable[tuple[bytes, bytes]]], Awaitable[bool]],
) -> str | None:
    """A subgraph's view: `client_from`, with the header believed only when `from_router` says the
    request carries the router's credential."""
    if request is None or getattr(request, "client", None) is None:
        return None
    peer = request.client.host
    forwarded = request.headers.get("x-forwarded-for")
    if not forwarded or peer not in trusted or not await from_router(request.scope.get("headers", ())):
        return peer[:CLIENT_KEY_MAX_LEN] if peer else None
    return client_from(peer, forwarded, trusted)


def _as_ip(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None
