"""TokenVerifier and the Context guards: every forged, stale or misdirected token is refused."""

from __future__ import annotations

import datetime

import jwt
import pytest

from shared.context import Context
from shared.errors import AppError
from shared.security import build_authenticator, build_verifier
from shared.settings import get_settings
from shared.tokens import TokenVerifier
from tests.shared import forgery
from tests.support.tokens import service_token


@pytest.fixture(scope="module")
def verifier() -> TokenVerifier:
    return build_verifier(get_settings())


def context_for(token: str | None) -> Context[None]:
    return Context(
        deps=None,
        authenticator=build_authenticator(get_settings()),
        authorization=f"Bearer {token}" if token else None,
        request_id="test",
    )


def test_a_token_issued_with_our_key_verifies_as_that_user(verifier: TokenVerifier) -> None:
    principal = verifier.verify(forgery.user_token(user_id="u-42", role="ADMIN"))
    assert (principal.kind, principal.subject, principal.role) == ("user", "u-42", "ADMIN")
    assert principal.is_admin


def test_a_service_token_verifies_as_that_service_with_its_scopes(verifier: TokenVerifier) -> None:
    principal = verifier.verify(service_token("wallet:debit", "wallet:read", service="tx"))
    assert (principal.kind, principal.subject) == ("service", "service:tx")
    assert principal.scopes == frozenset({"wallet:debit", "wallet:read"})


@pytest.mark.parametrize("name", sorted(forgery.FORGERIES))
def test_a_forged_or_invalid_token_is_unauthenticated(verifier: TokenVerifier, name: str) -> None:
    token = forgery.FORGERIES[name]()
    with pytest.raises(AppError) as caught:
        verifier.verify(token)
    assert caught.value.code == "UNAUTHENTICATED"


def test_the_hs256_forgery_really_is_signed_with_the_public_key() -> None:
    """Guards the test above: the token is a valid HS256 token for anyone holding the PEM."""
    token = forgery.hs256_with_public_key_as_secret()
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "HS256"
    signing_input, _, signature = token.rpartition(".")
    import hashlib
    import hmac

    pem = get_settings().public_key_path.read_bytes()
    expected = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    assert forgery.b64url(expected) == signature


def test_the_other_key_forgery_carries_our_kid(verifier: TokenVerifier) -> None:
    token = forgery.other_key_with_our_kid()
    assert jwt.get_unverified_header(token)["kid"] == forgery.user_key().kid
    assert verifier.kid_is_known(token)


def test_an_untampered_token_of_the_same_shape_verifies(verifier: TokenVerifier) -> None:
    """The tampering test changes only the payload; the original signature is otherwise good."""
    header, payload, signature = forgery.user_token().split(".")
    assert verifier.verify(f"{header}.{payload}.{signature}").role == "USER"


async def test_a_service_token_is_forbidden_where_a_user_is_required() -> None:
    with pytest.raises(AppError) as caught:
        await context_for(service_token("wallet:read")).require_user()
    assert caught.value.code == "FORBIDDEN"


async def test_a_user_token_is_forbidden_where_a_service_is_required() -> None:
    with pytest.raises(AppError) as caught:
        await context_for(forgery.user_token(role="ADMIN")).require_service("wallet:debit")
    assert caught.value.code == "FORBIDDEN"


async def test_a_service_token_without_the_scope_is_forbidden() -> None:
    with pytest.raises(AppError) as caught:
        await context_for(service_token("wallet:read")).require_service("wallet:debit")
    assert caught.value.code == "FORBIDDEN"


async def test_no_token_is_unauthenticated_where_a_user_or_service_is_required() -> None:
    for guard in (context_for(None).require_user(), context_for(None).require_service("x:y")):
        with pytest.raises(AppError) as caught:
            await guard
        assert caught.value.code == "UNAUTHENTICATED"


@pytest.mark.parametrize("header", ["Basic abc", "Bearer", "Bearer   ", "token-without-scheme"])
async def test_a_malformed_authorization_header_is_unauthenticated(header: str) -> None:
    context = Context(
        deps=None,
        authenticator=build_authenticator(get_settings()),
        authorization=header,
        request_id="test",
    )
    with pytest.raises(AppError) as caught:
        await context.require_user()
    assert caught.value.code == "UNAUTHENTICATED"


def _counting_decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = jwt.decode

    def counting(token: str, *args: object, **kwargs: object) -> object:
        calls.append(token)
        return real(token, *args, **kwargs)

    monkeypatch.setattr(jwt, "decode", counting)
    return calls


def test_a_token_verified_once_is_not_verified_again_until_it_expires(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    verifier = build_verifier(get_settings())
    calls = _counting_decodes(monkeypatch)
    token = service_token("wallet:credit")
    first = verifier.verify(token)
    assert verifier.verify(token) == first
    assert len(calls) == 1


def test_a_cached_token_is_refused_once_it_has_expired(monkeypatch: pytest.MonkeyPatch) -> None:
    import shared.tokens as tokens_module

    verifier = build_verifier(get_settings())
    token = forgery.user_token(user_id="u-7")
    principal = verifier.verify(token)
    later = float(principal.claims["exp"]) + verifier.leeway_s + 1
    monkeypatch.setattr(tokens_module.time, "time", lambda: later)

    class Later(datetime.datetime):
        """What PyJWT's `exp` check sees as now: after the token's expiry and leeway."""

        @classmethod
        def now(cls, tz: datetime.tzinfo | None = None) -> datetime.datetime:  # type: ignore[override]
            return datetime.datetime.fromtimestamp(later, tz=tz)

    monkeypatch.setattr(jwt.api_jwt, "datetime", Later)
    with pytest.raises(AppError) as caught:
        verifier.verify(token)
    assert caught.value.code == "UNAUTHENTICATED"


def test_a_token_that_failed_is_never_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    verifier = build_verifier(get_settings())
    forged = forgery.FORGERIES["tampered payload"]()
    for _ in range(2):
        with pytest.raises(AppError):
            verifier.verify(forged)
    assert verifier.cached(forged) is None
