"""The auth subgraph as a real process: seed operations verbatim, a full round trip, and its JWKS."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest

from shared.keys import KeySet
from shared.settings import get_settings
from shared.tokens import TokenVerifier
from subgraphs.auth.config import get_auth_config
from tests.e2e.flows import seed
from tests.support.procs import start_subgraph

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def auth_url(tmp_path_factory: pytest.TempPathFactory, base_env: dict[str, str]) -> Iterator[str]:
    work = tmp_path_factory.mktemp("auth-proc")
    env = {**base_env, "AUTH_DATABASE_URL": f"sqlite+aiosqlite:///{work / 'users.db'}"}
    proc, port = start_subgraph("auth", env, work)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.stop()


def gql(url: str, query: str, headers: dict[str, str] | None = None, **variables: Any) -> Any:
    response = httpx.post(
        f"{url}/graphql", json={"query": query, "variables": variables}, headers=headers, timeout=10
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_the_seed_operations_work_verbatim_against_the_auth_subgraph(auth_url: str) -> None:
    registered = gql(auth_url, seed("01_register"))
    assert "errors" not in registered, registered
    user_id = registered["data"]["registerUser"]
    assert isinstance(user_id, str) and user_id

    logged_in = gql(auth_url, seed("02_login"))
    assert "errors" not in logged_in, logged_in
    assert logged_in["data"]["loginUser"]["user"] == {"username": "narto", "role": "USER"}
    token = logged_in["data"]["loginUser"]["access_token"]

    expected = {
        "username": "narto",
        "fullname": "Naruto Uzumaki",
        "email": "naruto@gmail.com",
        "role": "USER",
    }
    profile_op = seed("09_my_profile")
    assert "PASTE_ACCESS_TOKEN" in profile_op
    by_argument = gql(auth_url, profile_op.replace("PASTE_ACCESS_TOKEN", token))
    assert by_argument == {"data": {"myProfile": expected}}

    without_argument = profile_op.replace('(token: "PASTE_ACCESS_TOKEN")', "")
    assert "token" not in without_argument.split("query", 1)[1]
    by_header = gql(auth_url, without_argument, headers={"Authorization": f"Bearer {token}"})
    assert by_header == {"data": {"myProfile": expected}}

    again = gql(auth_url, seed("01_register"))
    assert again["errors"][0]["extensions"]["code"] == "CONFLICT"


def test_register_login_me_round_trip_and_the_token_verifies_with_the_published_jwks(
    auth_url: str,
) -> None:
    register = (
        "mutation($u: String!, $f: String!, $e: String!, $p: String!) "
        "{ registerUser(username: $u, fullname: $f, email: $e, password: $p) }"
    )
    body = gql(auth_url, register, u="proc_user", f="Proc User", e="proc@example.com", p="s3cret-pass")
    user_id = body["data"]["registerUser"]
    login = (
        "mutation($e: String!, $p: String!) { loginUser(email: $e, password: $p) "
        "{ access_token token_type expires_in user { id email } } }"
    )
    payload = gql(auth_url, login, e="PROC@example.com", p="s3cret-pass")["data"]["loginUser"]
    assert payload["token_type"] == "Bearer"
    assert payload["user"] == {"id": user_id, "email": "proc@example.com"}
    token = payload["access_token"]

    me = gql(auth_url, "{ me { id username } }", headers={"Authorization": f"Bearer {token}"})
    assert me == {"data": {"me": {"id": user_id, "username": "proc_user"}}}

    response = httpx.get(f"{auth_url}/.well-known/jwks.json", timeout=10)
    assert response.status_code == 200
    document = response.json()
    assert all("d" not in key and "p" not in key for key in document["keys"])
    keys = KeySet()
    assert keys.add_jwks(document) >= 1
    kid = jwt.get_unverified_header(token)["kid"]
    assert kid in keys
    settings = get_settings()
    verifier = TokenVerifier(
        user_keys=keys,
        service_keys=KeySet(),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        service_issuer=settings.service_issuer,
        service_audience=settings.service_audience,
        leeway_s=0,
    )
    principal = verifier.verify(token)
    assert (principal.subject, principal.role, principal.username) == (user_id, "USER", "proc_user")


def test_the_process_seeds_the_admin_and_serves_health(auth_url: str) -> None:
    assert httpx.get(f"{auth_url}/health", timeout=10).json() == {"status": "ok", "service": "auth"}
    config = get_auth_config()
    login = "mutation($e: String!, $p: String!) { loginUser(email: $e, password: $p) { user { role } } }"
    body = gql(auth_url, login, e=config.admin_email, p=config.admin_password)
    assert body == {"data": {"loginUser": {"user": {"role": "ADMIN"}}}}


def test_the_process_answers_bad_input_with_codes_never_a_500(auth_url: str) -> None:
    body = gql(
        auth_url,
        'mutation { registerUser(username: "x", fullname: "X", email: "x@x.io", password: "password123") }',
    )
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "username"}
    body = gql(auth_url, "{ me { id } }", headers={"Authorization": "Bearer junk"})
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
