"""Issuing and verifying JWTs: RS256 only, `kid` required, `iss`/`aud`/`exp`/`nbf` checked with leeway.

Users' access tokens and services' tokens use different key pairs and audiences, so neither can
ever stand in for the other. PyJWT is used (python-jose is unmaintained and had
algorithm-confusion CVEs); the algorithm list is fixed to RS256, which rules out `alg: none` and an
HS256 token "signed" with the public key.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

import jwt

from shared.errors import AppError, ErrorCode
from shared.keys import KeySet, SigningKey

ALGORITHM = "RS256"
VERIFIED_CACHE_MAX = 10_000
ROUTER_SUBJECT = "service:router"
ROUTER_SCOPE = "federation"
USER_CLAIMS = ("exp", "iat", "nbf", "iss", "aud", "sub", "jti")


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user (with a role) or a service (with scopes)."""

    kind: Literal["user", "service"]
    subject: str
    role: str | None = None
    username: str | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)
    claims: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def is_admin(self) -> bool:
        return self.kind == "user" and self.role == "ADMIN"

    @property
    def user_id(self) -> str:
        return self.subject


def issue_access_token(
    key: SigningKey,
    *,
    user_id: str,
    role: str,
    username: str,
    issuer: str,
    audience: str,
    ttl_s: int,
    now: float | None = None,
) -> str:
    """A user's access token; only the auth subgraph holds the key that signs these."""
    claims = {"sub": user_id, "role": role, "username": username}
    return _signed(key, claims, "access", issuer=issuer, audience=audience, ttl_s=ttl_s, now=now)


def issue_service_token(
    key: SigningKey,
    *,
    service: str,
    scopes: frozenset[str] | set[str] | tuple[str, ...],
    issuer: str,
    audience: str,
    ttl_s: int,
    now: float | None = None,
) -> str:
    """A short-lived service credential naming the calling service and the scopes it may use."""
    claims = {"sub": f"service:{service}", "scope": " ".join(sorted(scopes))}
    return _signed(key, claims, "service", issuer=issuer, audience=audience, ttl_s=ttl_s, now=now)


def _signed(
    key: SigningKey,
    claims: dict[str, Any],
    typ: str,
    *,
    issuer: str,
    audience: str,
    ttl_s: int,
    now: float | None,
) -> str:
    """`claims` plus what every token carries (issuer, audience, lifetime, a unique id, its `typ`),
    signed with `key` and naming its `kid`."""
    issued = int(now if now is not None else time.time())
    claims = {
        **claims,
        "iss": issuer,
        "aud": audience,
        "iat": issued,
        "nbf": issued,
        "exp": issued + ttl_s,
        "jti": uuid.uuid4().hex,
        "typ": typ,
    }
    return jwt.encode(claims, key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid})


def _reject(reason: str) -> AppError:
    return AppError(ErrorCode.UNAUTHENTICATED, f"Invalid token: {reason}")


class TokenVerifier:
    """Verifies bearer tokens locally against known public keys (no call to auth per request)."""

    def __init__(
        self,
        *,
        user_keys: KeySet,
        service_keys: KeySet,
        issuer: str,
        audience: str,
        service_issuer: str,
        service_audience: str,
        leeway_s: int,
        router_keys: KeySet | None = None,
    ) -> None:
        self.user_keys = user_keys
        self.service_keys = service_keys
        # The router's own key signs only its federation credential (scope `federation`).
        self.router_keys = router_keys or KeySet()
        self.issuer = issuer
        self.audience = audience
        self.service_issuer = service_issuer
        self.service_audience = service_audience
        self.leeway_s = leeway_s
        self._verified: dict[str, tuple[Principal, float]] = {}

    def cached(self, token: str) -> Principal | None:
        """The principal of a token verified before and not yet expired, without verifying again.

        Keyed by the whole token text: the signature covers header and claims, so the same text is
        the same verified token. An entry is dropped at the token's `exp` (no leeway: after that,
        `verify` decides again, leeway included)."""
        entry = self._verified.get(token)
        if entry is None:
            return None
        if time.time() >= entry[1]:
            self._verified.pop(token, None)
            return None
        return entry[0]

    def _remember(self, token: str, principal: Principal) -> Principal:
        expires = principal.claims.get("exp")
        if isinstance(expires, int | float) and not isinstance(expires, bool):
            if len(self._verified) >= VERIFIED_CACHE_MAX:
                # bounded: drop the oldest entries (dicts keep insertion order)
                for stale in list(self._verified)[: VERIFIED_CACHE_MAX // 10]:
                    del self._verified[stale]
            self._verified[token] = (principal, float(expires))
        return principal

    def kid_is_known(self, token: str) -> bool:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError:
            return False
        return isinstance(kid, str) and (
            kid in self.user_keys or kid in self.service_keys or kid in self.router_keys
        )

    def verify(self, token: str) -> Principal:
        """The principal a token proves; raises AppError(UNAUTHENTICATED) for any defect.

        A token verified before is answered from memory until its `exp` (an RSA verification costs
        more than the rest of a small internal request)."""
        known = self.cached(token)
        if known is not None:
            return known
        return self._remember(token, self._verify(token))

    def _verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise _reject("malformed") from None
        if header.get("alg") != ALGORITHM:
            raise _reject("algorithm not allowed")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise _reject("missing kid")
        if kid in self.service_keys:
            return self._verify_service(token, kid)
        if kid in self.router_keys:
            return self._verify_router(token, kid)
        if kid in self.user_keys:
            return self._verify_user(token, kid)
        raise _reject("unknown kid")

    def _decode(self, token: str, key: Any, *, issuer: str, audience: str) -> dict[str, Any]:
        try:
            return jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=audience,
                issuer=issuer,
                leeway=self.leeway_s,
                options={"require": list(USER_CLAIMS)},
            )
        except jwt.ExpiredSignatureError:
            raise _reject("expired") from None
        except jwt.InvalidAudienceError:
            raise _reject("wrong audience") from None
        except jwt.InvalidIssuerError:
            raise _reject("wrong issuer") from None
        except jwt.ImmatureSignatureError:
            raise _reject("not yet valid") from None
        except jwt.PyJWTError:
            raise _reject("signature or claims invalid") from None

    def _verify_user(self, token: str, kid: str) -> Principal:
        claims = self._decode(token, self.user_keys.get(kid), issuer=self.issuer, audience=self.audience)
        role = claims.get("role")
        if claims.get("typ", "access") != "access" or role not in ("USER", "ADMIN"):
            raise _reject("not an access token")
        return Principal(
            kind="user",
            subject=str(claims["sub"]),
            role=str(role),
            username=claims.get("username"),
            claims=claims,
        )

    def _verify_router(self, token: str, kid: str) -> Principal:
        """The router's credential: a service token of the router key, scope `federation` only."""
        claims = self._decode(
            token, self.router_keys.get(kid), issuer=self.service_issuer, audience=self.service_audience
        )
        scopes = frozenset(str(claims.get("scope", "")).split())
        if claims.get("typ") != "service" or claims.get("sub") != ROUTER_SUBJECT or scopes != {ROUTER_SCOPE}:
            raise _reject("not a router credential")
        return Principal(kind="service", subject=ROUTER_SUBJECT, scopes=scopes, claims=claims)

    def _verify_service(self, token: str, kid: str) -> Principal:
        claims = self._decode(
            token,
            self.service_keys.get(kid),
            issuer=self.service_issuer,
            audience=self.service_audience,
        )
        subject = str(claims["sub"])
        if claims.get("typ") != "service" or not subject.startswith("service:"):
            raise _reject("not a service token")
        scopes = frozenset(str(claims.get("scope", "")).split())
        return Principal(kind="service", subject=subject, scopes=scopes, claims=claims)
