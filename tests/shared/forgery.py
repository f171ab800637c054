"""Hand-made bad tokens: each one is a way an attacker might try to get past TokenVerifier."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from shared.keys import SigningKey, generate_private_key, kid_of, load_signing_key
from shared.settings import get_settings
from shared.tokens import issue_access_token, issue_service_token


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_json(value: dict[str, Any]) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def user_key() -> SigningKey:
    return load_signing_key(get_settings().private_key_path)


def service_key() -> SigningKey:
    return load_signing_key(get_settings().service_private_key_path)


def good_claims(user_id: str = "user-1", role: str = "USER") -> dict[str, Any]:
    settings = get_settings()
    now = int(time.time())
    return {
        "sub": user_id,
        "role": role,
        "username": "forger",
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "jti": "f" * 32,
        "typ": "access",
    }


def user_token(key: SigningKey | None = None, **overrides: Any) -> str:
    settings = get_settings()
    params: dict[str, Any] = {
        "user_id": "user-1",
        "role": "USER",
        "username": "forger",
        "issuer": settings.jwt_issuer,
        "audience": settings.jwt_audience,
        "ttl_s": 600,
    }
    params.update(overrides)
    return issue_access_token(key or user_key(), **params)


def alg_none() -> str:
    header = {"alg": "none", "typ": "JWT", "kid": user_key().kid}
    return f"{b64url_json(header)}.{b64url_json(good_claims(role='ADMIN'))}."


def hs256_with_public_key_as_secret() -> str:
    """The classic algorithm-confusion attack; PyJWT refuses to make it, so it is built by hand."""
    public_pem = get_settings().public_key_path.read_bytes()
    header = {"alg": "HS256", "typ": "JWT", "kid": user_key().kid}
    signing_input = f"{b64url_json(header)}.{b64url_json(good_claims(role='ADMIN'))}"
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def expired() -> str:
    # Well past the verifier's leeway.
    return user_token(now=time.time() - 3600, ttl_s=60)


def not_yet_valid() -> str:
    return user_token(now=time.time() + 3600)


def wrong_issuer() -> str:
    return user_token(issuer="someone-else")


def wrong_audience() -> str:
    return user_token(audience="another-app")


@lru_cache(maxsize=1)
def foreign_key() -> Any:
    """Another RSA key (made once): not ours, whatever kid it claims."""
    return generate_private_key()


def unknown_kid() -> str:
    other = foreign_key()
    return user_token(SigningKey(kid=kid_of(other.public_key()), private_key=other))


def other_key_with_our_kid() -> str:
    return user_token(SigningKey(kid=user_key().kid, private_key=foreign_key()))


def tampered_payload() -> str:
    header, _payload, signature = user_token().split(".")
    return f"{header}.{b64url_json(good_claims(role='ADMIN'))}.{signature}"


def missing_kid() -> str:
    header = {"alg": "RS256", "typ": "JWT"}
    return f"{b64url_json(header)}.{b64url_json(good_claims())}.{b64url(b'x' * 256)}"


def user_claims_signed_by_service_key() -> str:
    return user_token(service_key())


def service_claims_signed_by_user_key() -> str:
    settings = get_settings()
    return issue_service_token(
        user_key(),
        service="forger",
        scopes=frozenset({"wallet:debit"}),
        issuer=settings.service_issuer,
        audience=settings.service_audience,
        ttl_s=60,
    )


def garbage() -> str:
    return "not.a.jwt"


FORGERIES: dict[str, Callable[[], str]] = {
    "alg none": alg_none,
    "HS256 signed with the public key": hs256_with_public_key_as_secret,
    "expired": expired,
    "not yet valid": not_yet_valid,
    "wrong issuer": wrong_issuer,
    "wrong audience": wrong_audience,
    "unknown kid": unknown_kid,
    "another RSA key with our kid": other_key_with_our_kid,
    "tampered payload": tampered_payload,
    "missing kid": missing_kid,
    "user claims signed by the service key": user_claims_signed_by_service_key,
    "service claims signed by the user key": service_claims_signed_by_user_key,
    "garbage": garbage,
}
