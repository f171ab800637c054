"""Real tokens for tests, signed with the test keys (and with foreign keys, to prove rejection)."""

from __future__ import annotations

from pathlib import Path

from shared.keys import load_signing_key
from shared.settings import get_settings
from shared.tokens import issue_access_token, issue_service_token


def user_token(user_id: str, role: str = "USER", username: str = "tester", ttl_s: int = 600) -> str:
    settings = get_settings()
    return issue_access_token(
        load_signing_key(settings.private_key_path),
        user_id=user_id,
        role=role,
        username=username,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        ttl_s=ttl_s,
    )


def service_token(*scopes: str, service: str = "tests", key_path: Path | None = None) -> str:
    settings = get_settings()
    return issue_service_token(
        load_signing_key(key_path or settings.service_private_key_path),
        service=service,
        scopes=frozenset(scopes),
        issuer=settings.service_issuer,
        audience=settings.service_audience,
        ttl_s=settings.service_token_ttl_s,
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def router_token() -> str:
    """The router's federation credential (X-Router-Token), signed with the test router key."""
    settings = get_settings()
    return issue_service_token(
        load_signing_key(settings.router_private_key_path),
        service="router",
        scopes=frozenset({"federation"}),
        issuer=settings.service_issuer,
        audience=settings.service_audience,
        ttl_s=settings.router_token_ttl_s,
    )


def as_router(headers: dict[str, str] | None = None) -> dict[str, str]:
    """`headers` plus the router's credential, as the router sends every subgraph request."""
    return {**(headers or {}), "X-Router-Token": router_token()}


FEDERATION_FIELDS = ("_entities", "_service", "__schema", "__type")


def as_router_if_federation(query: str, headers: dict[str, str] | None = None) -> dict[str, str]:
    """The headers a test sends a subgraph: a federation or introspection query goes as the router
    sends it (with its credential, next to the caller's Authorization); anything else unchanged.
    (The guard's own tests, tests/shared/test_guard.py, send exactly what they mean.)"""
    if any(field in query for field in FEDERATION_FIELDS):
        return as_router(headers)
    return dict(headers or {})
