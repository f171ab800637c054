"""Query planning and execution against real Strawberry subgraphs over HTTP."""

from __future__ import annotations

from typing import Any

import httpx

from supergraph.runtime import RouterRuntime
from tests.supergraph.subgraph_apps import MUTATION_LOG, SEEN_BODIES, SEEN_HEADERS

Router = tuple[httpx.AsyncClient, RouterRuntime]


async def gql(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None, **headers: str
) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
    return response.json()


async def gql_with_plan(client: httpx.AsyncClient, query: str) -> dict[str, Any]:
    """The response with `extensions.queryPlan` (the router fixture runs with ROUTER_DEBUG)."""
    response = await client.post("/graphql", json={"query": query}, headers={"X-Debug-Query-Plan": "1"})
    return response.json()


def fetches(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [group for phase in result["extensions"]["queryPlan"] for group in phase]


async def test_entity_jumps_three_levels_deep_merge_into_one_answer(router: Router) -> None:
    client, _ = router
    result = await gql(
        client,
        '{ user(id: "u1") { name reviews { body product { name shippingEstimate '
        "reviews { author { email } } } } } }",
    )
    assert "errors" not in result
    user = result["data"]["user"]
    assert user["name"] == "Ada"
    kettle = user["reviews"][0]["product"]
    assert kettle == {
        "name": "Kettle",
        "shippingEstimate": "18.00",
        "reviews": [{"author": {"email": "ada@example.test"}}],
    }


async def test_requires_fields_are_fetched_first_and_passed_in_representations(router: Router) -> None:
    client, _ = router
    body = await gql_with_plan(client, "{ topProducts { upc shippingEstimate } }")
    assert body["data"]["topProducts"] == [
        {"upc": "p1", "shippingEstimate": "18.00"},
        {"upc": "p2", "shippingEstimate": "50.00"},
    ]
    products_fetch = fetches(body)[0]
    assert "price" in products_fetch["operation"] and "weight" in products_fetch["operation"]


async def test_provides_lets_the_providing_subgraph_answer_without_a_jump(router: Router) -> None:
    client, _ = router
    body = await gql_with_plan(client, "{ latestReview { author { name } } }")
    assert body["data"] == {"latestReview": {"author": {"name": "Ada (provided)"}}}
    assert [f["subgraph"] for f in fetches(body)] == ["REVIEWS"]


async def test_a_field_outside_provides_still_jumps_to_the_owner(router: Router) -> None:
    client, _ = router
    body = await gql(client, "{ latestReview { author { name email } } }")
    assert body["data"]["latestReview"]["author"]["email"] == "ada@example.test"


async def test_interfaces_and_unions_resolve_concrete_types_and_typenames(router: Router) -> None:
    client, _ = router
    body = await gql(
        client,
        """{ catalogue { __typename title ... on Book { pages } ... on Film { minutes } }
             search(term: "x") { __typename ...F ... on Book { pages } } }
           fragment F on Film { minutes title }""",
    )
    assert "errors" not in body
    assert body["data"]["catalogue"] == [
        {"__typename": "Book", "title": "Dune", "pages": 412},
        {"__typename": "Film", "title": "Heat", "minutes": 170},
    ]
    assert body["data"]["search"] == [
        {"__typename": "Film", "minutes": 170, "title": "Heat"},
        {"__typename": "Book", "pages": 412},
    ]


async def test_aliases_variables_and_skip_include_shape_the_answer(router: Router) -> None:
    client, _ = router
    body = await gql(
        client,
        """query Q($id: ID!, $withMail: Boolean!, $noName: Boolean!) {
             who: user(id: $id) { handle: name @skip(if: $noName) mail: email @include(if: $withMail) }
             also: user(id: "u2") { name }
           }""",
        {"id": "u1", "withMail": True, "noName": False},
    )
    assert body == {"data": {"who": {"handle": "Ada", "mail": "ada@example.test"}, "also": {"name": "Grace"}}}
    body = await gql(
        client,
        "query Q($id: ID!, $withMail: Boolean!) { user(id: $id) { name email @include(if: $withMail) } }",
        {"id": "u1", "withMail": False},
    )
    assert body == {"data": {"user": {"name": "Ada"}}}


async def test_subgraph_errors_keep_their_code_and_get_the_client_path(router: Router) -> None:
    client, _ = router
    body = await gql(client, '{ user(id: "u1") { reviews { id flaky product { name } } } }')
    assert body["data"]["user"]["reviews"][1] == {"id": "r3", "flaky": "ok", "product": {"name": "Teapot"}}
    body = await gql(client, "{ topProducts { reviews { id flaky } } }")
    errors = body["errors"]
    assert errors[0]["extensions"]["code"] == "NOT_FOUND"
    assert errors[0]["path"] == ["topProducts", 1, "reviews", 0, "flaky"]
    assert body["data"]["topProducts"][1]["reviews"][0] == {"id": "r2", "flaky": None}


async def test_entity_error_paths_are_rewritten_from_entities_to_the_client_path(router: Router) -> None:
    client, _ = router
    body = await gql(client, "{ latestReview { id author { secret } } }")
    assert body["data"] == {"latestReview": {"id": "r3", "author": {"secret": None}}}
    assert body["errors"][0]["path"] == ["latestReview", "author", "secret"]
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_non_null_field_error_nulls_the_nearest_nullable_parent(router: Router) -> None:
    client, _ = router
    body = await gql(client, '{ user(id: "u1") { name mustHave } users { id } }')
    assert body["data"] == {"user": None, "users": [{"id": "u1"}, {"id": "u2"}]}
    assert body["errors"][0]["path"] == ["user", "mustHave"]


async def test_mutations_run_in_document_order_across_subgraphs(router: Router) -> None:
    client, _ = router
    MUTATION_LOG.clear()
    body = await gql(
        client,
        'mutation { a: logAccount(entry: "1") b: logReview(entry: "2") c: logAccount(entry: "3") }',
    )
    assert "errors" not in body
    assert MUTATION_LOG == ["accounts:1", "reviews:2", "accounts:3"]
    assert body["data"]["c"] == ["accounts:1", "reviews:2", "accounts:3"]


async def test_authorization_and_request_id_reach_the_subgraphs(router: Router) -> None:
    client, _ = router
    SEEN_HEADERS.clear()
    response = await client.post(
        "/graphql",
        json={"query": "{ me { name } requestId }"},
        headers={"Authorization": "Bearer u2", "X-Request-ID": "req-42"},
    )
    assert response.json() == {"data": {"me": {"name": "Grace"}, "requestId": "req-42"}}
    assert response.headers["x-request-id"] == "req-42"
    assert SEEN_HEADERS[-1]["authorization"] == "Bearer u2"


async def test_a_missing_token_comes_back_as_unauthenticated_from_the_subgraph(router: Router) -> None:
    client, _ = router
    body = await gql(client, "{ me { name } }")
    assert body["data"] == {"me": None}
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert body["errors"][0]["path"] == ["me"]


async def test_typename_and_introspection_are_answered_by_the_router(router: Router) -> None:
    client, _ = router
    body = await gql(
        client, '{ __typename __type(name: "User") { fields { name } } user(id: "u1") { __typename } }'
    )
    names = {f["name"] for f in body["data"]["__type"]["fields"]}
    assert body["data"]["__typename"] == "Query"
    assert body["data"]["user"] == {"__typename": "User"}
    assert names == {"id", "name", "email", "secret", "mustHave", "reviews"}


async def test_inaccessible_mutations_are_hidden_from_clients(router: Router) -> None:
    client, _ = router
    body = await gql(client, "mutation { internalReset }")
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    body = await gql(client, '{ __type(name: "Mutation") { fields { name } } }')
    assert {f["name"] for f in body["data"]["__type"]["fields"]} == {
        "logAccount",
        "slowLogAccount",
        "touchUser",
        "logReview",
    }


async def test_client_errors_carry_parse_validation_and_variable_codes(router: Router) -> None:
    client, _ = router
    assert (await gql(client, "{ user("))["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    assert (await gql(client, "{ nope }"))["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    body = await gql(client, "query Q($id: ID!) { user(id: $id) { name } }", {"id": {"bad": 1}})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_representations_are_batched_into_one_fetch_and_deduplicated(router: Router) -> None:
    client, _ = router
    SEEN_BODIES.clear()
    body = await gql(client, "{ topProducts { reviews { author { email } } } }")
    authors = [r["author"]["email"] for p in body["data"]["topProducts"] for r in p["reviews"]]
    assert authors == ["ada@example.test", "grace@example.test", "ada@example.test"]
    (accounts_call,) = SEEN_BODIES["accounts"]
    representations = accounts_call["variables"]["representations"]
    assert sorted(r["id"] for r in representations) == ["u1", "u2"]
    assert len(SEEN_BODIES["reviews"]) == 1


async def test_independent_entity_fetches_depend_only_on_their_parent(router: Router) -> None:
    client, _ = router
    groups = fetches(await gql_with_plan(client, "{ topProducts { shippingEstimate reviews { body } } }"))
    assert [g["subgraph"] for g in groups] == ["PRODUCTS", "SHIPPING", "REVIEWS"]
    assert groups[1]["dependsOn"] == [0] and groups[2]["dependsOn"] == [0]


async def test_a_subgraph_error_without_a_code_reaches_the_client_with_one(router: Router) -> None:
    client, _ = router
    body = await gql(client, "{ topProducts { reviews { id uncoded } } }")
    assert body["errors"], body
    assert {error["extensions"]["code"] for error in body["errors"]} == {"SUBGRAPH_ERROR"}
    assert {error["message"] for error in body["errors"]} == {"no code given"}
