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
