"""Does a request come from the router? Its credential says so, not its address.

The router sends `X-Router-Token` (a short-lived token signed with the router key, verified like
service tokens) and, when ROUTER_SHARED_SECRET is set, `X-Router-Secret`. The subgraph guard asks
this before answering `_entities`, `_service` and introspection; the client-address rule asks it
before believing `X-Forwarded-For`.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable

from shared.errors import AppError
from shared.security import Authenticator
from shared.tokens import ROUTER_SCOPE, ROUTER_SUBJECT


class RouterCheck:
    """Verifies the router's credential in a request's raw headers."""

    def __init__(self, authenticator: Authenticator, shared_secret: str | None) -> None:
        self.authenticator = authenticator
        self.shared_secret = (shared_secret or "").encode() or None

    async def carried_by(self, headers: Iterable[tuple[bytes, bytes]]) -> bool:
        token = secret = None
        for name, value in headers:
            if name == b"x-router-token":
                token = value.decode("latin-1").strip()
            elif name == b"x-router-secret":
                secret = value
        if self.shared_secret is not None and secret is not None:
            if hmac.compare_digest(secret, self.shared_secret):
                return True
        if not token:
            return False
        try:
            principal = await self.authenticator.principal_from_token(token)
        except AppError:
            return False
        return principal.subject == ROUTER_SUBJECT and ROUTER_SCOPE in principal.scopes

    async def router_or_service(self, headers: Iterable[tuple[bytes, bytes]]) -> bool:
        """The router, or any service token (services may resolve entities of one another)."""
        headers = list(headers)
        if await self.carried_by(headers):
            return True
        authorization = next((v.decode("latin-1") for k, v in headers if k == b"authorization"), None)
        if not authorization:
            return False
        try:
            principal = await self.authenticator.principal_from_header(authorization)
        except AppError:
            return False
        return principal is not None and principal.kind == "service"
