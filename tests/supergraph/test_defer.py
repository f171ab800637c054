"""`@defer` at the router: multipart/mixed framing, parts that merge into the non-deferred answer,
deferred fetches of their own (sent when they are done), errors per incremental item, Accept rules."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from graphql import print_schema

from supergraph.config import RouterSettings
from supergraph.defer import accepts_multipart
from supergraph.runtime import RouterRuntime
from supergraph.server import create_app
from tests.supergraph.conftest import ServedApp

Router = tuple[httpx.AsyncClient, RouterRuntime]
MULTIPART = {"accept": "multipart/mixed;deferSpec=20220824, application/json"}
PREFLIGHTED = {"apollo-require-preflight": "true"}
CONTENT_TYPE = 'multipart/mixed; boundary="-"; deferSpec=20220824'
PART_HEAD = "\r\ncontent-type: application/json; charset=utf-8"
CLOSE = "\r\n-----\r\n"


def parse_multipart(body: str) -> list[dict[str, Any]]:
    """The JSON parts of a `boundary="-"` multipart body, checking its framing on the way."""
    assert body.startswith("\r\n---\r\n"), body[:40]
    assert body.endswith(CLOSE), body[-40:]
    chunks = body[: -len(CLOSE)].split("\r\n---")
    assert chunks[0] == ""
    parts = []
    for chunk in chunks[1:]:
        head, separator, payload = chunk.partition("\r\n\r\n")
        assert separator and head == PART_HEAD, repr(chunk[:80])
        parts.append(json.loads(payload))
    assert all(part["hasNext"] is True for part in parts[:-1])
    assert parts[-1]["hasNext"] is False
    return parts


def _merge(target: Any, source: Any) -> Any:
    if isinstance(target, dict) and isinstance(source, dict):
        for key, value in source.items():
            target[key] = _merge(target[key], value) if key in target else value
        return target
    if isinstance(target, list) and isinstance(source, list) and len(target) == len(source):
        return [_merge(a, b) for a, b in zip(target, source, strict=True)]
    return source


def merged(parts: list[dict[str, Any]]) -> tuple[Any, list[dict[str, Any]]]:
    """Apply every incremental item's data at its path to the initial data; all errors."""
    data = copy.deepcopy(parts[0]["data"])
    errors = list(parts[0].get("errors", []))
    for part in parts[1:]:
        assert "data" not in part
        for item in part.get("incremental", []):
            assert item["data"] is not None, item
            target = data
            for segment in item["path"]:
                target = target[segment]
            _merge(target, item["data"])
            errors.extend(item.get("errors", []))
        errors.extend(part.get("errors", []))
    return data, errors


async def deferred(client: httpx.AsyncClient, query: str, **extra: Any) -> list[dict[str, Any]]:
    response = await client.post("/graphql", json={"query": query, **extra}, headers=MULTIPART)
    assert response.status_code == 200
    assert response.headers["content-type"] == CONTENT_TYPE
    return parse_multipart(response.text)


async def plain(client: httpx.AsyncClient, query: str, **extra: Any) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": query, **extra})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    return response.json()  # type: ignore[no-any-return]


def _error_key(error: dict[str, Any]) -> str:
    return json.dumps(error, sort_keys=True)


SHAPES = {
    "root fragment": "{ topProducts { name } ... @defer { users { name } latestReview { body } } }",
    "entities from another subgraph": "{ topProducts { name ... @defer { reviews { author { id } } } } }",
    "label": '{ topProducts { upc ... @defer(label: "prices") { price shippingEstimate } } }',
    "nested": """{ topProducts { ... @defer(label: "outer") { name ... @defer(label: "inner") {
        shippingEstimate reviews { body ... @defer { author { email } } } } } } }""",
    "same subgraph": "{ users { id ... @defer { email } } }",
    "named fragment spread": """{ latestReview { id ...Details @defer(label: "details") } }
        fragment Details on Review { body product { upc name } author { id } }""",
    "abstract type condition": "{ catalogue { id ... on Book @defer { pages } ... on Film { minutes } } }",
    "overlapping fields": "{ topProducts { upc name ... @defer { name price reviews { id } } } }",
    "null parent": '{ user(id: "nobody") { id ... @defer { email } } topProducts { upc } }',
    "fragment spread twice": """{ me: user(id: "u1") { ...Person } other: user(id: "u2") { ...Person } }
        fragment Person on User { id ... @defer { name reviews { body } } }""",
    "typename and introspection": "{ __typename topProducts { ... @defer { __typename name } } }",
}


@pytest.mark.parametrize("query", list(SHAPES.values()), ids=list(SHAPES))
async def test_the_parts_merge_into_the_same_data_as_without_defer(router: Router, query: str) -> None:
    client, _ = router
    parts = await deferred(client, query)
    expected = await plain(client, query)
    data, errors = merged(parts)
    assert data == expected["data"]
    assert sorted(map(_error_key, errors)) == sorted(map(_error_key, expected.get("errors", [])))


async def test_the_multipart_framing_follows_the_incremental_delivery_format(router: Router) -> None:
    client, _ = router
    query = '{ topProducts { name ... @defer(label: "r") { reviews { body } } } }'
    response = await client.post("/graphql", json={"query": query}, headers=MULTIPART)
    assert response.headers["content-type"] == CONTENT_TYPE
    assert response.text == (
        '\r\n---\r\ncontent-type: application/json; charset=utf-8\r\n\r\n{"data":{"topProducts":'
        '[{"name":"Kettle"},{"name":"Teapot"}]},"hasNext":true}'
        '\r\n---\r\ncontent-type: application/json; charset=utf-8\r\n\r\n{"hasNext":false,"incremental":['
        '{"data":{"reviews":[{"body":"Boils fast"}]},"path":["topProducts",0],"label":"r"},'
        '{"data":{"reviews":[{"body":"Pretty"},{"body":"Leaks"}]},"path":["topProducts",1],"label":"r"}]}'
        "\r\n-----\r\n"
    )


async def test_a_deferred_fragment_is_fetched_on_its_own_after_the_initial_fetches(router: Router) -> None:
    client, _ = router
    query = "{ topProducts { name ... @defer { reviews { body } } } }"
    response = await client.post(
        "/graphql", json={"query": query}, headers={**MULTIPART, "x-debug-query-plan": "1"}
    )
    first = parse_multipart(response.text)[0]
    primary = [group for phase in first["extensions"]["queryPlan"] for group in phase]
    assert [group["subgraph"] for group in primary] == ["PRODUCTS"]
    assert "reviews" not in primary[0]["operation"] and "upc" in primary[0]["operation"]
    (fragment,) = first["extensions"]["deferred"]
    assert fragment["mode"] == "entity" and fragment["path"] == ["topProducts", "@"]
    (group,) = fragment["plan"][0]
    assert group["subgraph"] == "REVIEWS" and "_entities" in group["operation"]


async def test_the_initial_payload_is_sent_before_a_slow_deferred_part(
    rover_config: Any,
) -> None:
    settings = RouterSettings(SUPERGRAPH_CONFIG=str(rover_config), ROUTER_POLL_INTERVAL_S=0)
    runtime = RouterRuntime(settings)
    await runtime.refresh()
    served = ServedApp("router", create_app(settings, runtime))
    await served.start()
    try:
        query = "{ topProducts { name ... @defer { slowScore } } }"
        arrivals: list[tuple[float, str]] = []
        async with httpx.AsyncClient(timeout=10) as client:
            started = time.perf_counter()
            async with client.stream(
                "POST", served.url, json={"query": query}, headers=MULTIPART
            ) as response:
                assert response.headers["content-type"] == CONTENT_TYPE
                chunks: AsyncIterator[bytes] = response.aiter_raw()
                async for chunk in chunks:
                    arrivals.append((time.perf_counter() - started, chunk.decode()))
        body = "".join(text for _, text in arrivals)
        parts = parse_multipart(body)
        assert parts[0] == {
            "data": {"topProducts": [{"name": "Kettle"}, {"name": "Teapot"}]},
            "hasNext": True,
        }
        initial_at = next(at for at, text in arrivals if '"hasNext":true' in text)
        deferred_at = next(at for at, text in arrivals if "slowScore" in text)
        assert deferred_at >= 0.5  # the subgraph sleeps 0.5 s
        assert initial_at < deferred_at - 0.3
    finally:
        await served.stop()
        await runtime.stop()


async def test_errors_of_a_deferred_fetch_land_in_its_incremental_item(router: Router) -> None:
    client, _ = router
    parts = await deferred(client, '{ users { id ... @defer(label: "secret") { secret } } }')
    assert "errors" not in parts[0]
    items = [item for part in parts[1:] for item in part.get("incremental", [])]
    assert [item["path"] for item in items] == [["users", 0], ["users", 1]]
    for index, item in enumerate(items):
        assert item["label"] == "secret"
        assert item["data"] == {"secret": None}
        (error,) = item["errors"]
        assert error["path"] == ["users", index, "secret"]
        assert error["extensions"]["code"] == "FORBIDDEN"


async def test_an_error_inside_a_list_of_entities_goes_to_the_item_at_its_path(router: Router) -> None:
    client, _ = router
    parts = await deferred(client, "{ topProducts { reviews { id ... @defer { flaky } } } }")
    items = {tuple(item["path"]): item for part in parts[1:] for item in part.get("incremental", [])}
    broken = items[("topProducts", 1, "reviews", 0)]
    assert broken["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert all(
        "errors" not in item for path, item in items.items() if path != ("topProducts", 1, "reviews", 0)
    )


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ("{ topProducts { name ... @defer(if: false) { reviews { body } } } }", None),
        (
            "query ($d: Boolean!) { topProducts { name ... @defer(if: $d) { reviews { body } } } }",
            {"d": False},
        ),
    ],
)
async def test_if_false_answers_one_ordinary_response(router: Router, query: str, variables: Any) -> None:
    client, _ = router
    response = await client.post("/graphql", json={"query": query, "variables": variables}, headers=MULTIPART)
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "data": {
            "topProducts": [
                {"name": "Kettle", "reviews": [{"body": "Boils fast"}]},
                {"name": "Teapot", "reviews": [{"body": "Pretty"}, {"body": "Leaks"}]},
            ]
        }
    }


async def test_a_variable_if_true_defers_and_the_split_is_cached_per_value(router: Router) -> None:
    client, _ = router
    query = "query ($d: Boolean!) { topProducts { name ... @defer(if: $d) { reviews { body } } } }"
    on = await deferred(client, query, variables={"d": True})
    assert len(on) == 2
    off = await client.post("/graphql", json={"query": query, "variables": {"d": False}}, headers=MULTIPART)
    assert off.headers["content-type"] == "application/json"
    assert merged(on)[0] == off.json()["data"]


@pytest.mark.parametrize("accept", [None, "application/json", "multipart/mixed;deferSpec=20990101"])
async def test_without_multipart_in_accept_the_deferred_fields_are_merged_in(
    router: Router, accept: str | None
) -> None:
    client, _ = router
    query = '{ topProducts { name ... @defer(label: "r") { reviews { body } } } }'
    headers = {"accept": accept} if accept else {}
    response = await client.post("/graphql", json={"query": query}, headers=headers)
    assert response.headers["content-type"] == "application/json"
    without = await plain(client, "{ topProducts { name reviews { body } } }")
    assert response.json() == without


async def test_an_operation_without_defer_is_unchanged_when_multipart_is_accepted(router: Router) -> None:
    client, _ = router
    query = "{ topProducts { name reviews { body } } }"
    response = await client.post("/graphql", json={"query": query}, headers=MULTIPART)
    assert response.headers["content-type"] == "application/json"
    assert response.json() == await plain(client, query)


async def test_get_follows_the_same_accept_rules(router: Router) -> None:
    client, _ = router
    query = "{ topProducts { name ... @defer { reviews { body } } } }"
    streamed = await client.get("/graphql", params={"query": query}, headers={**MULTIPART, **PREFLIGHTED})
    assert streamed.headers["content-type"] == CONTENT_TYPE
    single = await client.get("/graphql", params={"query": query}, headers=PREFLIGHTED)
    assert single.headers["content-type"] == "application/json"
    assert merged(parse_multipart(streamed.text))[0] == single.json()["data"]


async def test_csrf_prevention_still_applies_to_deferred_operations(router: Router) -> None:
    client, _ = router
    body = json.dumps({"query": "{ topProducts { name ... @defer { reviews { body } } } }"})
    response = await client.post(
        "/graphql", content=body, headers={**MULTIPART, "content-type": "text/plain"}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "CSRF_PREVENTED"
    by_get = await client.get(
        "/graphql", params={"query": "{ topProducts { ... @defer { name } } }"}, headers=MULTIPART
    )
    assert by_get.json()["errors"][0]["extensions"]["code"] == "CSRF_PREVENTED"


async def test_a_mutation_runs_as_usual_and_its_result_is_split(router: Router) -> None:
    client, _ = router
    query = (
        'mutation { touchUser(id: "u1") { id ... @defer(label: "more") { name secret reviews { body } } } }'
    )
    parts = await deferred(client, query)
    assert parts[0]["data"] == {"touchUser": {"id": "u1"}} and "errors" not in parts[0]
    (item,) = parts[1]["incremental"]
    assert item["path"] == ["touchUser"] and item["label"] == "more"
    assert item["data"] == {
        "name": "Ada",
        "secret": None,
        "reviews": [{"body": "Boils fast"}, {"body": "Leaks"}],
    }
    assert item["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    data, errors = merged(parts)
    expected = await plain(client, query)
    assert data == expected["data"] and errors == expected["errors"]


async def test_defer_on_a_mutation_root_field_is_a_validation_error(router: Router) -> None:
    client, _ = router
    query = 'mutation { ... @defer { logAccount(entry: "deferred") } }'
    response = await client.post("/graphql", json={"query": query}, headers=MULTIPART)
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_the_api_schema_declares_defer(router: Router) -> None:
    _, runtime = router
    assert runtime.gateway is not None
    printed = print_schema(runtime.gateway.supergraph.api_schema)
    assert (
        "directive @defer(label: String, if: Boolean! = true) on FRAGMENT_SPREAD | INLINE_FRAGMENT" in printed
    )


@pytest.mark.parametrize(
    ("accept", "allowed"),
    [
        ("multipart/mixed;deferSpec=20220824, application/json", True),
        ("multipart/mixed; deferSpec=20220824", True),
        ('multipart/mixed; deferSpec="20220824"', True),
        ("application/json, multipart/mixed", True),
        ("multipart/mixed;deferSpec=20220824;q=0, application/json", False),
        ("multipart/mixed;subscriptionSpec=1.0;deferSpec=19990101", False),
        ("application/json", False),
        ("*/*", False),
    ],
)
def test_accept_header_rules(accept: str, allowed: bool) -> None:
    assert (
        accepts_multipart([(b"content-type", b"application/json"), (b"accept", accept.encode())]) is allowed
    )
