"""The per-request GraphQL context every subgraph uses: who is calling, the subgraph's deps, batched loads."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Generic, TypeVar

from strawberry.dataloader import DataLoader

from shared.errors import AppError, ErrorCode, forbidden, unauthenticated
from shared.security import Authenticator
from shared.tokens import Principal

DepsT = TypeVar("DepsT")
RowT = TypeVar("RowT")


class Context(Generic[DepsT]):
    """Verifies the caller lazily (once per request) and hands resolvers the subgraph's deps.

    `request` is the Starlette request (headers, client address), `response` the response
    Strawberry will send (resolvers may set headers or a status on it).
    """

    def __init__(
        self,
        *,
        deps: DepsT,
        authenticator: Authenticator,
        authorization: str | None,
        request_id: str,
        request: Any = None,
        response: Any = None,
        client_rule: Callable[[Any], Awaitable[str | None]] | None = None,
    ) -> None:
        self.request = request
        self._client_rule = client_rule
        self.response = response
        self.deps = deps
        self.authenticator = authenticator
        self.authorization = authorization
        self.request_id = request_id
        self._principal: Principal | None = None
        self._resolved = False
        self.extra: dict[str, Any] = {}

    @property
    def connection_params(self) -> dict[str, Any] | None:
        """A WebSocket's `connection_init` payload (Strawberry sets it); None over HTTP."""
        return self.extra.get("connection_params")

    @connection_params.setter
    def connection_params(self, payload: dict[str, Any]) -> None:
        """`{"Authorization": "Bearer ..."}` in the payload wins over the handshake's header: a
        browser cannot set headers on a WebSocket handshake, so the payload is how it sends a token.
        Checked by `principal()` exactly like an HTTP request's header."""
        self.extra["connection_params"] = payload
        token = payload.get("Authorization", payload.get("authorization")) if payload else None
        if isinstance(token, str) and token:
            self.authorization = token
            self._resolved = False

    async def client_address(self) -> str | None:
        """The caller's IP for per-client throttles (shared.clientip: X-Forwarded-For believed only
        from a trusted proxy carrying the router's credential); the peer without a rule."""
        if self._client_rule is not None:
            return await self._client_rule(self.request)
        client = getattr(self.request, "client", None)
        return client.host if client is not None else None

    def loader(
        self, key: str, fetch: Callable[[list[str]], Awaitable[Mapping[str, RowT]]]
    ) -> DataLoader[str, RowT | None]:
        """This request's one DataLoader named `key`: the ids its resolvers ask for together are
        fetched in one call of `fetch` (id -> row), so N entities cost one query, not N; an id
        `fetch` does not return loads as None."""
        found: DataLoader[str, RowT | None] | None = self.extra.get(key)
        if found is None:

            async def load(ids: list[str]) -> list[RowT | None]:
                rows = await fetch(ids)
                return [rows.get(row_id) for row_id in ids]

            found = self.extra[key] = DataLoader(load_fn=load)
        return found

    async def principal(self) -> Principal | None:
        if not self._resolved:
            self._principal = await self.authenticator.principal_from_header(self.authorization)
            self._resolved = True
        return self._principal

    async def require_user(self) -> Principal:
        """A signed-in user (USER or ADMIN); services never pass as users."""
        principal = await self.principal()
        if principal is None:
            raise unauthenticated()
        if principal.kind != "user":
            raise forbidden("This operation needs a user token")
        return principal

    async def require_admin(self) -> Principal:
        principal = await self.require_user()
        if not principal.is_admin:
            raise forbidden("Admin role required")
        return principal

    async def require_service(self, scope: str) -> Principal:
        """A service token carrying `scope`; a user token never authorizes internal operations."""
        principal = await self.principal()
        if principal is None:
            raise unauthenticated("Service credential required")
        if principal.kind != "service":
            raise forbidden("This operation is for internal services only")
        if scope not in principal.scopes:
            raise AppError(ErrorCode.FORBIDDEN, f"Service token lacks scope {scope}")
        return principal
