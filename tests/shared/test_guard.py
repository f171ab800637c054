"""Every subgraph defends itself: hostile requests sent straight to each real subgraph process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shared.settings import SUBGRAPHS
from tests.support.procs import Process, start_subgraph
from tests.support.tokens import bearer, router_token, service_token, user_token

SECRET = "guard-test-shared-secret"


@pytest.fixture(scope="module")
def subgraph_urls(
    tmp_path_factory: pytest.TempPathFactory, base_env: dict[str, str]
) -> Iterator[dict[str, str]]:
    root = tmp_path_factory.mktemp("guarded")
    env = {
        **base_env,
        "ROUTER_SHARED_SECRET": SECRET,
        "SUBGRAPH_MAX_DEPTH": "6",
        "SUBGRAPH_MAX_ALIASES": "3",
        "SUBGRAPH_MAX_BODY_BYTES": "20000",
        **{f"{name.upper()}_DATABASE_URL": f"sqlite+aiosqlite:///{root / name}.db" for name in SUBGRAPHS},
    }
    started: list[Process] = []
    urls = {}
    try:
        for name in SUBGRAPHS:
            process, port = start_subgraph(name, env, root / "logs")
            started.append(process)
            urls[name] = f"http://127.0.0.1:{port}/graphql"
        yield urls
    finally:
        for process in started:
            process.stop()


def post(url: str, content: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(
        url, content=content, headers={"content-type": "application/json", **(headers or {})}, timeout=10
    )


def code(response: httpx.Response) -> str:
    return response.json()["errors"][0]["extensions"]["code"]


@pytest.mark.parametrize("name", SUBGRAPHS)
def test_invalid_utf8_is_a_400_with_a_code_at_every_subgraph(
    subgraph_urls: dict[str, str], name: str
) -> None:
    response = post(subgraph_urls[name], b'{"query":"{ __typename \xff\xfe }"}')
    assert response.status_code == 400 and code(response) == "BAD_REQUEST"


@pytest.mark.parametrize("name", SUBGRAPHS)
def test_a_body_over_the_limit_is_refused_before_it_is_read_whole(
    subgraph_urls: dict[str, str], name: str
) -> None:
    body = b'{"query":"{ __typename }","variables":{"pad":"' + b"x" * 30_000 + b'"}}'
    response = post(subgraph_urls[name], body)
    assert response.status_code == 413 and code(response) == "BODY_TOO_LARGE"


def test_depth_and_alias_limits_hold_at_a_subgraph(subgraph_urls: dict[str, str]) -> None:
    deep = "{ myWallets { owner { wallets { owner { wallets { owner { wallets { walletId } } } } } } } }"
    response = post(
        subgraph_urls["wallet"],
        httpx.Request("POST", "/", json={"query": deep}).content,
        bearer(user_token("u-deep")),
    )
    assert response.status_code == 400 and code(response) == "MAX_DEPTH_EXCEEDED"
    aliases = "{ a: __typename b: __typename c: __typename d: __typename }"
    response = post(subgraph_urls["wallet"], httpx.Request("POST", "/", json={"query": aliases}).content)
    assert response.status_code == 400 and code(response) == "MAX_ALIASES_EXCEEDED"


FEDERATION = {
    "_entities": '{ _entities(representations: [{__typename: "User", id: "u-1"}]) { __typename } }',
    "_service": "{ _service { sdl } }",
    "introspection": "{ __schema { queryType { name } } }",
}


@pytest.mark.parametrize("name", SUBGRAPHS)
@pytest.mark.parametrize("kind", sorted(FEDERATION))
def test_federation_and_introspection_answer_only_the_router_or_a_service(
    subgraph_urls: dict[str, str], name: str, kind: str
) -> None:
    url, body = subgraph_urls[name], httpx.Request("POST", "/", json={"query": FEDERATION[kind]}).content
    for refused in (
        {},
        bearer(user_token("u-1")),
        bearer(user_token("root", role="ADMIN")),
        {"X-Router-Secret": "guess"},
    ):
        response = post(url, body, refused)
        assert code(response) == "FORBIDDEN" and response.json()["data"] is None, (refused, response.text)
    for allowed in (
        {"X-Router-Token": router_token()},
        {"X-Router-Secret": SECRET},
        bearer(service_token("wallet:read")),
    ):
        response = post(url, body, allowed)
        codes = [e["extensions"]["code"] for e in response.json().get("errors", [])]
        assert "FORBIDDEN" not in codes and response.json()["data"] is not None, (allowed, response.text)


def test_a_router_key_token_claiming_more_than_federation_is_refused(subgraph_urls: dict[str, str]) -> None:
    from shared.keys import load_signing_key
    from shared.settings import get_settings
    from shared.tokens import issue_service_token

    settings = get_settings()
    forged = issue_service_token(
        load_signing_key(settings.router_private_key_path),
        service="router",
        scopes=frozenset({"federation", "wallet:debit"}),
        issuer=settings.service_issuer,
        audience=settings.service_audience,
        ttl_s=60,
    )
    body = httpx.Request("POST", "/", json={"query": FEDERATION["_service"]}).content
    assert code(post(subgraph_urls["wallet"], body, {"X-Router-Token": forged})) == "FORBIDDEN"


def test_a_users_own_operations_need_no_router_credential(subgraph_urls: dict[str, str]) -> None:
    body = httpx.Request("POST", "/", json={"query": "{ myWallets { walletId } }"}).content
    response = post(subgraph_urls["wallet"], body, bearer(user_token("u-own")))
    assert response.json() == {"data": {"myWallets": []}}


def test_with_federation_auth_off_anyone_may_introspect(tmp_path: Path, base_env: dict[str, str]) -> None:
    env = {
        **base_env,
        "SUBGRAPH_FEDERATION_AUTH": "off",
        "FRAUD_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/f.db",
    }
    process, port = start_subgraph("fraud", env, tmp_path / "logs")
    try:
        body = httpx.Request("POST", "/", json={"query": FEDERATION["_service"]}).content
        assert "sdl" in post(f"http://127.0.0.1:{port}/graphql", body).json()["data"]["_service"]
    finally:
        process.stop()


def test_a_representation_of_a_type_the_subgraph_does_not_own_is_bad_user_input(
    subgraph_urls: dict[str, str],
) -> None:
    query = '{ _entities(representations: [{__typename: "HistoryEntry", historyId: "h-1"}]) { __typename } }'
    body = httpx.Request("POST", "/", json={"query": query}).content
    response = post(subgraph_urls["fraud"], body, {"X-Router-Token": router_token()})
    assert response.json()["data"] == {"_entities": [None]}
    assert code(response) == "BAD_USER_INPUT"
