"""loginUser: tokens, one error for every bad credential, argon2id off the event loop, rehashing."""

from __future__ import annotations

import threading
from typing import Any

import jwt
import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from shared.security import build_verifier
from shared.settings import get_settings
from subgraphs.auth.config import get_auth_config
from subgraphs.auth.models import User
from tests.auth.conftest import LOGIN, Api, code_of, login, register


async def test_login_returns_a_bearer_token_that_verifies_as_the_user(api: Api) -> None:
    user_id = await register(api, "login_ok")
    body = await login(api, "LOGIN_OK@example.com ", "password123")
    payload = body["data"]["loginUser"]
    assert payload["token_type"] == "Bearer"
    assert payload["expires_in"] == get_auth_config().access_token_ttl_s
    assert payload["user"]["id"] == user_id
    assert payload["user"]["email"] == "login_ok@example.com"
    assert payload["user"]["fullname"] == "login_ok Full"
    assert payload["user"]["role"] == "USER"
    principal = build_verifier(get_settings()).verify(payload["access_token"])
    assert (principal.kind, principal.subject, principal.role, principal.username) == (
        "user",
        user_id,
        "USER",
        "login_ok",
    )
    claims = jwt.decode(payload["access_token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == get_auth_config().access_token_ttl_s
    assert {"sub", "role", "username", "iss", "aud", "iat", "nbf", "exp", "jti"} <= set(claims)


async def test_unknown_email_and_wrong_password_give_the_same_error(api: Api) -> None:
    await register(api, "same_error")
    wrong_password = await login(api, "same_error@example.com", "password124")
    unknown_email = await login(api, "nobody_here@example.com", "password123")
    assert wrong_password["errors"] == unknown_email["errors"]
    error = wrong_password["errors"][0]
    assert error["message"] == "Invalid email or password"
    assert error["extensions"] == {"code": "UNAUTHENTICATED"}
    assert wrong_password["data"] is None


async def test_an_unknown_email_still_costs_one_argon2_verification(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    await register(api, "timing_user")
    service = api.service
    verified: list[str] = []
    real = service._verify_sync

    def counting(password_hash: str, password: str) -> bool:
        verified.append(password_hash)
        return real(password_hash, password)

    monkeypatch.setattr(service, "_verify_sync", counting)
    await login(api, "ghost_account@example.com", "password123")
    await login(api, "timing_user@example.com", "wrong-password")
    assert len(verified) == 2
    assert all(h.startswith("$argon2id$") for h in verified)


async def test_hashing_and_verifying_run_in_worker_threads_not_on_the_event_loop(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    loop_thread = threading.get_ident()
    seen: list[tuple[str, int]] = []
    config = get_auth_config()

    class SpyHasher(PasswordHasher):
        def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
            seen.append(("hash", threading.get_ident()))
            return super().hash(password, salt=salt)

        def verify(self, hash: str | bytes, password: str | bytes) -> bool:  # noqa: A002
            seen.append(("verify", threading.get_ident()))
            return super().verify(hash, password)

    monkeypatch.setattr(
        api.service,
        "hasher",
        SpyHasher(
            time_cost=config.argon2_time_cost,
            memory_cost=config.argon2_memory_kib,
            parallelism=config.argon2_parallelism,
        ),
    )
    await register(api, "thread_user")
    assert code_of(await login(api, "thread_user@example.com", "password123")) is None
    assert {kind for kind, _ in seen} == {"hash", "verify"}
    assert all(thread != loop_thread for _, thread in seen)


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        ({"email": "", "password": "password123"}, "email"),
        ({"email": "no-at-sign", "password": "password123"}, "email"),
        ({"email": "x" * 250 + "@example.com", "password": "password123"}, "email"),
        ({"email": "someone@example.com", "password": ""}, "password"),
        ({"email": "someone@example.com", "password": "p" * 129}, "password"),
    ],
)
async def test_bad_login_input_is_bad_user_input_and_changes_nothing(
    api: Api, variables: dict[str, Any], field: str
) -> None:
    before = await api.count_users()
    body = await api.gql(LOGIN, variables)
    assert code_of(body) == "BAD_USER_INPUT", body
    assert body["errors"][0]["extensions"]["field"] == field
    assert await api.count_users() == before


async def test_a_missing_argument_is_rejected_before_any_resolver_runs(api: Api) -> None:
    body = await api.gql('mutation { loginUser(email: "a@example.com") { access_token } }')
    assert code_of(body) == "GRAPHQL_VALIDATION_FAILED"
    body = await api.gql('mutation { registerUser(username: "abc", fullname: "A", email: 5, password: "x") }')
    assert code_of(body) in ("BAD_USER_INPUT", "GRAPHQL_VALIDATION_FAILED")
    assert body.get("data") is None


async def test_a_login_after_the_argon2_cost_was_raised_rehashes_the_password(
    fresh_api: Any,
) -> None:
    async with fresh_api() as api:
        user_id = await register(api, "rehash_me")
        old_hash = (await api.service.db.read(lambda session: session.get(User, user_id))).password_hash
    cost = get_auth_config().argon2_time_cost + 1
    async with fresh_api(argon2_time_cost=cost) as api:
        assert code_of(await login(api, "rehash_me@example.com", "password123")) is None
        new_hash = (await api.service.db.read(lambda session: session.get(User, user_id))).password_hash
        assert new_hash != old_hash
        assert f"t={cost}," in new_hash
        assert not api.service.hasher.check_needs_rehash(new_hash)
        # The new hash still proves the same password, and a second login keeps it.
        assert code_of(await login(api, "rehash_me@example.com", "password123")) is None
        query = select(User.password_hash).where(User.id == user_id)
        rows = await api.service.db.read(lambda session: session.execute(query).all())
        assert rows == [(new_hash,)]


async def test_a_login_with_unchanged_parameters_keeps_the_stored_hash(api: Api) -> None:
    user_id = await register(api, "keep_hash")
    before = (await api.service.db.read(lambda session: session.get(User, user_id))).password_hash
    assert code_of(await login(api, "keep_hash@example.com", "password123")) is None
    assert (await api.service.db.read(lambda session: session.get(User, user_id))).password_hash == before
