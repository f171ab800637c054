"""What the router passes on to subgraphs about the client: the configured headers, the request id,
and the one client address it decided on (shared.clientip's rule)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from starlette.requests import Request

from shared.clientip import TrustedProxies, client_from
from supergraph.logs import request_id_var

NO_PROXIES = TrustedProxies("")


def headers_for_subgraphs(
    raw_headers: Iterable[tuple[bytes, bytes]],
    peer: str | None,
    forward: frozenset[str],
    request_id: str,
    trusted: TrustedProxies = NO_PROXIES,
) -> dict[str, str]:
    """What subgraphs receive: the configured client headers, the request id, and X-Forwarded-For
    holding only the client this router decided on (shared.clientip's rule with
    ROUTER_TRUSTED_PROXIES: the router is the edge, so by default whatever a client wrote in the
    header is dropped, and a client cannot pick the key of a subgraph's per-client throttle)."""
    headers: dict[str, str] = {}
    forwarded = None
    for raw_name, raw_value in raw_headers:
        name = raw_name.decode("latin-1").lower()
        if name in forward:
            value = raw_value.decode("latin-1")
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        elif name == "x-forwarded-for":
            value = raw_value.decode("latin-1")
            forwarded = f"{forwarded}, {value}" if forwarded else value
    headers["x-request-id"] = request_id
    client = client_from(peer, forwarded, trusted)
    if client is not None:
        headers["x-forwarded-for"] = client
    return headers


def subgraph_headers(
    request: Request, forward: frozenset[str], trusted: TrustedProxies = NO_PROXIES
) -> dict[str, str]:
    """`headers_for_subgraphs` for a Starlette request (the request id from the log context)."""
    peer = request.client.host if request.client is not None else None
    return headers_for_subgraphs(
        request.scope.get("headers", ()), peer, forward, request_id_var.get() or uuid.uuid4().hex, trusted
    )
