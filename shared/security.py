"""Process-wide security objects built from settings: the token verifier and the service-token minter.

Public keys come from keys/ (PEM) and, when `JWKS_URL` is set, from auth's JWKS document, which is
fetched again (at most every `refresh_interval_s`) when a token names a `kid` not seen yet, so a key
rotation at auth needs no restart elsewhere.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from pathlib import Path

import httpx

from shared.errors import AppError, ErrorCode, unauthenticated
from shared.keys import KeySet, SigningKey, load_signing_key
from shared.settings import Settings, get_settings
from shared.tokens import Principal, TokenVerifier, issue_service_token

log = logging.getLogger(__name__)


class Authenticator:
    """Turns an `Authorization` header into a Principal, consuming JWKS when configured."""

    def __init__(
        self, verifier: TokenVerifier, jwks_url: str | None, refresh_interval_s: float = 30.0
    ) -> None:
        self.verifier = verifier
        self.jwks_url = jwks_url
        self.refresh_interval_s = refresh_interval_s
        self._last_refresh = 0.0
        self._lock = asyncio.Lock()

    async def refresh_jwks(self) -> int:
        """Fetch auth's JWKS document into the user key set; returns how many keys it held."""
        if not self.jwks_url:
            return 0
        async with httpx.AsyncClient(timeout=5.0) as client:
            response = await client.get(self.jwks_url)
            response.raise_for_status()
            return self.verifier.user_keys.add_jwks(response.json())

    async def _maybe_refresh(self) -> None:
        if not self.jwks_url:
            return
        async with self._lock:
            if time.monotonic() - self._last_refresh < self.refresh_interval_s:
                return
            self._last_refresh = time.monotonic()
            try:
                await self.refresh_jwks()
            except (httpx.HTTPError, ValueError) as exc:
                log.warning("jwks refresh from %s failed: %s", self.jwks_url, exc)

    async def principal_from_header(self, authorization: str | None) -> Principal | None:
        """None when no credential was sent; AppError(UNAUTHENTICATED) when one was sent but is bad."""
        if not authorization:
            return None
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthenticated("Authorization header must be 'Bearer <token>'")
        return await self.principal_from_token(token.strip())

    async def principal_from_token(self, token: str) -> Principal:
        known = self.verifier.cached(token)
        if known is not None:
            return known
        if not self.verifier.kid_is_known(token):
            await self._maybe_refresh()
        return self.verifier.verify(token)


def build_verifier(settings: Settings) -> TokenVerifier:
    """The verifier of every token kind, with the public keys in keys/ (JWKS keys join it later)."""
    return TokenVerifier(
        user_keys=KeySet.from_pem_files(settings.public_key_path),
        service_keys=KeySet.from_pem_files(settings.service_public_key_path),
        router_keys=KeySet.from_pem_files(settings.router_public_key_path),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        service_issuer=settings.service_issuer,
        service_audience=settings.service_audience,
        leeway_s=settings.jwt_leeway_s,
    )


def build_authenticator(settings: Settings | None = None) -> Authenticator:
    settings = settings or get_settings()
    return Authenticator(build_verifier(settings), settings.jwks_url)


class ServiceTokenMinter:
    """Mints this service's own short-lived tokens, reusing one until shortly before it expires."""

    def __init__(
        self,
        service: str,
        settings: Settings | None = None,
        *,
        key_path: Path | None = None,
        ttl_s: int | None = None,
    ) -> None:
        """`key_path`: another key than keys/service_private.pem (the router signs with its own)."""
        self.settings = settings or get_settings()
        self.service = service
        self.key_path = key_path or self.settings.service_private_key_path
        self.ttl_s = ttl_s or self.settings.service_token_ttl_s
        self._key: SigningKey | None = None
        self._cache: dict[frozenset[str], tuple[str, float]] = {}

    def _signing_key(self) -> SigningKey:
        if self._key is None:
            path = self.key_path
            if not path.exists():
                raise AppError(ErrorCode.INTERNAL, "Service key missing; run scripts/keygen")
            self._key = load_signing_key(path)
        return self._key

    def token(self, scopes: Iterable[str]) -> str:
        wanted = frozenset(scopes)
        now = time.time()
        cached = self._cache.get(wanted)
        if cached and cached[1] - now > self.ttl_s / 4:
            return cached[0]
        ttl = self.ttl_s
        token = issue_service_token(
            self._signing_key(),
            service=self.service,
            scopes=wanted,
            issuer=self.settings.service_issuer,
            audience=self.settings.service_audience,
            ttl_s=ttl,
            now=now,
        )
        self._cache[wanted] = (token, now + ttl)
        return token
