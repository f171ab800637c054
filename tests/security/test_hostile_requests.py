"""Hostile requests at the real processes (router and every subgraph port): each is refused with a
status and a code, and nothing changes."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from shared.settings import SUBGRAPHS
from tests.e2e.flows import create_wallet, data_of, error_codes, register_and_login
from tests.security.conftest import INVOICE_RATE_LIMIT, LOGIN_CLIENT_MAX_FAILURES, LOGIN_WINDOW_S
from tests.support.stack import Stack
from tests.support.tokens import as_router

LOGIN = "mutation ($e: String!, $p: String!) { loginUser(email: $e, password: $p) { access_token } }"


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def user(stack: Stack) -> dict[str, str]:
    """Signed in before any test trips the login throttle of 127.0.0.1."""
    found = register_and_login(stack, "sec")
    found["wallet"] = create_wallet(stack, found["token"], "Dompet Utama")
    return found


def codes(response: httpx.Response) -> list[str]:
    return error_codes(response.json())


def wallet_names(stack: Stack, token: str) -> list[str]:
    return [
        w["walletName"] for w in data_of(stack.gql("{ myWallets { walletName } }", token=token))["myWallets"]
    ]


# ---- 1. CSRF at the router -----------------------------------------------------------------------


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_a_cross_site_simple_post_creates_no_wallet(
    stack: Stack, user: dict[str, str], http: httpx.Client, content_type: str
) -> None:
    before = wallet_names(stack, user["token"])
    body = json.dumps({"query": 'mutation { createWallet(walletName: "csrf") { walletId } }'})
    response = http.post(
        stack.router_url,
        content=body,
        headers={"content-type": content_type, "authorization": f"Bearer {user['token']}"},
    )
    assert response.status_code == 400
    assert codes(response) == ["CSRF_PREVENTED"]
    assert wallet_names(stack, user["token"]) == before


def test_a_get_query_runs_only_with_a_preflight_header(stack: Stack, http: httpx.Client) -> None:
    refused = http.get(stack.router_url, params={"query": "{ __typename }"})
    assert refused.status_code == 400 and codes(refused) == ["CSRF_PREVENTED"]
    allowed = http.get(
        stack.router_url, params={"query": "{ __typename }"}, headers={"apollo-require-preflight": "1"}
    )
    assert allowed.json() == {"data": {"__typename": "Query"}}


# ---- 3. bad bytes ------------------------------------------------------------------------------


@pytest.mark.parametrize("target", [*SUBGRAPHS, "router"])
def test_invalid_utf8_is_a_400_with_a_code_at_every_process(
    stack: Stack, http: httpx.Client, target: str
) -> None:
    url = stack.router_url if target == "router" else stack.subgraph_url(target)
    response = http.post(
        url, content=b'{"query":"{ __typename \xff\xfe }"}', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert codes(response) == ["BAD_REQUEST"]


# ---- 4. subgraphs defend themselves ------------------------------------------------------------


def nested_wallet_query(cycles: int) -> str:
    """myWallets { owner { wallets { owner { wallets ... { walletId } } } } }: 2 levels per cycle."""
    inner = "walletId"
    for _ in range(cycles):
        inner = f"walletId owner {{ wallets {{ {inner} }} }}"
    return "{ myWallets { " + inner + " } }"


@pytest.mark.parametrize("target", SUBGRAPHS)
def test_every_subgraph_refuses_more_aliases_than_its_limit(
    stack: Stack, http: httpx.Client, target: str
) -> None:
    query = "query { " + "".join(f"f{i}: __typename " for i in range(61)) + "}"
    response = http.post(stack.subgraph_url(target), json={"query": query})
    assert response.status_code == 400
    assert codes(response) == ["MAX_ALIASES_EXCEEDED"]


def test_the_wallet_subgraph_refuses_deep_nesting_and_answers_the_same_query_shallow(
    stack: Stack, http: httpx.Client, user: dict[str, str]
) -> None:
    auth = {"authorization": f"Bearer {user['token']}"}
    deep = http.post(stack.subgraph_url("wallet"), json={"query": nested_wallet_query(12)}, headers=auth)
    assert deep.status_code == 400 and codes(deep) == ["MAX_DEPTH_EXCEEDED"]
    shallow = http.post(stack.subgraph_url("wallet"), json={"query": nested_wallet_query(2)}, headers=auth)
    assert shallow.json()["data"]["myWallets"][0]["walletId"] == user["wallet"]


@pytest.mark.parametrize("target", SUBGRAPHS)
def test_a_ten_megabyte_body_is_refused_unread(stack: Stack, http: httpx.Client, target: str) -> None:
    body = b'{"query":"{ __typename }","variables":{"pad":"' + b"x" * 10_000_000 + b'"}}'
    response = http.post(
        stack.subgraph_url(target), content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert codes(response) == ["BODY_TOO_LARGE"]


def entities_of_user(user_id: str) -> dict[str, Any]:
    return {
        "query": "query ($r: [_Any!]!) { _entities(representations: $r) { ... on User { username role } } }",
        "variables": {"r": [{"__typename": "User", "id": user_id}]},
    }


def test_anonymous_entities_and_introspection_are_refused_and_the_router_is_answered(
    stack: Stack, http: httpx.Client, user: dict[str, str]
) -> None:
    auth_url = stack.subgraph_url("auth")
    anonymous = http.post(auth_url, json=entities_of_user(user["id"]))
    assert codes(anonymous) == ["FORBIDDEN"]
    assert user["username"] not in anonymous.text
    for query in ("{ __schema { queryType { name } } }", "{ _service { sdl } }"):
        for target in SUBGRAPHS:
            refused = http.post(stack.subgraph_url(target), json={"query": query})
            assert codes(refused) == ["FORBIDDEN"], (target, query)
    as_the_router = http.post(auth_url, json=entities_of_user(user["id"]), headers=as_router())
    assert as_the_router.json()["data"]["_entities"][0]["username"] == user["username"]


def test_a_thousand_anonymous_entity_lookups_in_one_request_are_refused(
    stack: Stack, http: httpx.Client, user: dict[str, str]
) -> None:
    body = entities_of_user(user["id"])
    body["variables"]["r"] = body["variables"]["r"] * 2000
    response = http.post(stack.subgraph_url("auth"), json=body)
    assert codes(response) == ["FORBIDDEN"]
    assert user["username"] not in response.text


# ---- 6. every error has a code, and only one per cause -------------------------------------------


def test_a_bad_money_variable_through_the_router_is_one_coded_error_and_moves_nothing(
    stack: Stack, user: dict[str, str]
) -> None:
    mutation = (
        "mutation ($input: CreateTransactionInput!) "
        "{ createTransaction(input: $input) { transactionId status } }"
    )
    for amount in ("12.345", "-5", "abc", 1e30):
        body = stack.gql(
            mutation,
            {"input": {"walletId": user["wallet"], "amount": amount, "type": "DEPOSIT"}},
            token=user["token"],
        )
        assert error_codes(body) == ["BAD_USER_INPUT"], body
        assert not (body.get("data") or {}).get("createTransaction")
    by_scalar = (
        "mutation ($w: ID!, $a: Money!) "
        "{ createTransaction(input: {walletId: $w, amount: $a, type: DEPOSIT}) { transactionId } }"
    )
    for amount in ("12.345", "abc", -1, True):
        body = stack.gql(by_scalar, {"w": user["wallet"], "a": amount}, token=user["token"])
        assert error_codes(body) == ["BAD_USER_INPUT"], body
    for literal in ('"12.345"', '"abc"', "-1", "1e30"):
        inline = (
            f'mutation {{ createTransaction(input: {{walletId: "{user["wallet"]}", amount: {literal}, '
            "type: DEPOSIT}) { transactionId } }"
        )
        body = stack.gql(inline, token=user["token"])
        assert len(body["errors"]) == 1 and all(error_codes(body)), body
        assert error_codes(body)[0] in ("BAD_USER_INPUT", "GRAPHQL_VALIDATION_FAILED"), body
    mine = data_of(stack.gql("{ myTransactions { transactionId } }", token=user["token"]))
    assert mine["myTransactions"] == []


# ---- 2. spoofed client addresses (these trip 127.0.0.1's login throttle: they run last) ----------


def _wait_for_a_fresh_login_window() -> None:
    time.sleep(LOGIN_WINDOW_S + 0.5)


def _spray(post: Any) -> list[str | None]:
    found = []
    for i in range(25):
        response = post(i)
        found.append((error_codes(response.json()) or [None])[0])
    return found


def _expected() -> list[str]:
    return ["UNAUTHENTICATED"] * LOGIN_CLIENT_MAX_FAILURES + ["RATE_LIMITED"] * (
        25 - LOGIN_CLIENT_MAX_FAILURES
    )


def test_spoofed_forwarded_for_at_auth_directly_does_not_escape_the_client_throttle(
    stack: Stack, http: httpx.Client
) -> None:
    _wait_for_a_fresh_login_window()

    def post(i: int) -> httpx.Response:
        variables = {"e": f"direct{i}@example.test", "p": "wrong-password"}
        return http.post(
            stack.subgraph_url("auth"),
            json={"query": LOGIN, "variables": variables},
            headers={"x-forwarded-for": f"198.51.100.{i}", "x-real-ip": f"198.51.100.{i}"},
        )

    assert _spray(post) == _expected()


def test_spoofed_forwarded_for_through_the_router_does_not_escape_the_client_throttle(
    stack: Stack, http: httpx.Client
) -> None:
    _wait_for_a_fresh_login_window()

    def post(i: int) -> httpx.Response:
        variables = {"e": f"routed{i}@example.test", "p": "wrong-password"}
        return http.post(
            stack.router_url,
            json={"query": LOGIN, "variables": variables},
            headers={"x-forwarded-for": f"203.0.113.{i}, 198.51.100.{i}"},
        )

    assert _spray(post) == _expected()


def test_spoofed_forwarded_for_at_transactions_does_not_escape_the_invoice_throttle(
    stack: Stack, http: httpx.Client
) -> None:
    answers = []
    for i in range(INVOICE_RATE_LIMIT + 3):
        response = http.post(
            stack.subgraph_url("transactions"),
            json={"query": "mutation { generateInvoiceVA(amount: 1000) }"},
            headers={"x-forwarded-for": f"198.51.100.{i}"},
        )
        answers.append((error_codes(response.json()) or [None])[0])
    assert answers.count("RATE_LIMITED") == 3, answers
    assert answers[-1] == "RATE_LIMITED"
