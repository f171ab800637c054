"""The router's own credential, sent to every subgraph: what lets it ask `_entities`, `_service`
and introspection, which subgraphs refuse to anyone else (shared/guard.py).

A short-lived token (SERVICE token format, `sub: service:router`, scope `federation` only, signed
with keys/router_private.pem and reused until a quarter of ROUTER_TOKEN_TTL_S is left) in
`X-Router-Token`; plus `X-Router-Secret` when ROUTER_SHARED_SECRET is set (the option a drop-in
gateway can use too). Without the key file and the secret the router sends nothing, and subgraphs
that require the credential will refuse its federation requests (the log says why at start).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from shared.security import ServiceTokenMinter
from shared.settings import Settings, get_settings
from shared.tokens import ROUTER_SCOPE

log = logging.getLogger("supergraph.credential")


def router_minter(settings: Settings) -> ServiceTokenMinter | None:
    """The minter of the router's tokens, or None without keys/router_private.pem."""
    if not settings.router_private_key_path.exists():
        return None
    return ServiceTokenMinter(
        "router", settings, key_path=settings.router_private_key_path, ttl_s=settings.router_token_ttl_s
    )


def router_credential(settings: Settings | None = None) -> Callable[[], Mapping[str, str]]:
    """A function giving the headers to send now (tokens are renewed as they age)."""
    settings = settings or get_settings()
    secret = settings.router_shared_secret
    minter = router_minter(settings)
    if minter is None and not secret:
        log.warning(
            "no %s and no ROUTER_SHARED_SECRET: subgraphs that require the router's credential will "
            "refuse _entities and _service (run scripts/keygen)",
            settings.router_private_key_path,
        )

    def headers() -> Mapping[str, str]:
        sent: dict[str, str] = {}
        if minter is not None:
            sent["x-router-token"] = minter.token([ROUTER_SCOPE])
        if secret:
            sent["x-router-secret"] = secret
        return sent

    return headers
