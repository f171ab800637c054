"""The HTTP surface: APQ, limits, health/readiness, GET, CORS, static files, metrics, re-composition."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from supergraph import gateway as gateway_module
from supergraph.config import RouterSettings
from supergraph.runtime import RouterRuntime
from supergraph.server import create_app
from tests.supergraph.conftest import ServedApp, free_socket, write_rover_config
from tests.supergraph.subgraph_apps import MUTATION_LOG, SCHEMAS, asgi_app

Router = tuple[httpx.AsyncClient, RouterRuntime]
QUERY = "{ users { id name } }"
PREFLIGHTED = {"apollo-require-preflight": "true"}


def code_of(response: httpx.Response) -> str:
    return response.json()["errors"][0]["extensions"]["code"]


async def test_a_repeated_operation_hits_the_plan_cache_and_skips_parsing_and_planning(
    router: Router, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, runtime = router
    assert runtime.gateway is not None
    first = await client.post("/graphql", json={"query": QUERY})
    calls = runtime.gateway.planner_calls

    def no_parse(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("a cache hit must not parse")

    monkeypatch.setattr(gateway_module, "parse", no_parse)
    second = await client.post("/graphql", json={"query": QUERY})
    assert second.json() == first.json()
    assert runtime.gateway.planner_calls == calls


async def test_the_plan_cache_is_bounded(make_router: Callable[..., Any]) -> None:
    async with make_router(ROUTER_PLAN_CACHE_SIZE=2) as (client, runtime):
        for field in ("id", "name", "email"):
            await client.post("/graphql", json={"query": f"{{ users {{ {field} }} }}"})
        assert len(runtime.gateway.cache) == 2


async def test_apq_registers_a_query_by_hash_and_runs_it_by_hash_alone(router: Router) -> None:
    client, _ = router
    query = "{ users { email } }"
    digest = hashlib.sha256(query.encode()).hexdigest()
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    missing = await client.post("/graphql", json={"extensions": extensions})
    assert code_of(missing) == "PERSISTED_QUERY_NOT_FOUND"
    registered = await client.post("/graphql", json={"query": query, "extensions": extensions})
    assert registered.json()["data"]["users"][0]["email"] == "ada@example.test"
    by_hash = await client.post("/graphql", json={"extensions": extensions})
    assert by_hash.json() == registered.json()
    by_get = await client.get("/graphql", params={"extensions": json.dumps(extensions)}, headers=PREFLIGHTED)
    assert by_get.json() == registered.json()


async def test_apq_refuses_a_query_whose_hash_does_not_match(router: Router) -> None:
    client, _ = router
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}
    response = await client.post("/graphql", json={"query": QUERY, "extensions": extensions})
    assert code_of(response) == "PERSISTED_QUERY_HASH_MISMATCH"


@pytest.mark.parametrize(
    ("setting", "query", "code"),
    [
        ("ROUTER_MAX_DEPTH", '{ user(id: "u1") { reviews { product { name } } } }', "MAX_DEPTH_EXCEEDED"),
        ("ROUTER_MAX_ALIASES", "{ a: users { b: id c: name } }", "MAX_ALIASES_EXCEEDED"),
        (
            "ROUTER_MAX_ROOT_FIELDS",
            "{ users { id } topProducts { upc } shippingZones }",
            "MAX_ROOT_FIELDS_EXCEEDED",
        ),
        ("ROUTER_MAX_TOKENS", "{ users { id name email secret } }", "MAX_TOKENS_EXCEEDED"),
    ],
)
async def test_each_operation_limit_refuses_with_its_own_code(
    make_router: Callable[..., Any], setting: str, query: str, code: str
) -> None:
    async with make_router(**{setting: 2 if setting != "ROUTER_MAX_TOKENS" else 6}) as (client, _):
        response = await client.post("/graphql", json={"query": query})
        assert response.status_code == 400
        assert code_of(response) == code
        assert (await client.post("/graphql", json={"query": "{ shippingZones }"})).status_code == 200


async def test_a_body_over_the_byte_limit_is_refused(make_router: Callable[..., Any]) -> None:
    async with make_router(ROUTER_MAX_BODY_BYTES=100) as (client, _):
        response = await client.post("/graphql", json={"query": QUERY, "variables": {"pad": "x" * 200}})
        assert response.status_code == 413
        assert code_of(response) == "BODY_TOO_LARGE"


async def test_get_runs_queries_refuses_mutations_and_serves_an_offline_page_to_browsers(
    router: Router,
) -> None:
    client, _ = router
    assert (await client.get("/graphql", params={"query": QUERY}, headers=PREFLIGHTED)).json()["data"][
        "users"
    ][1]["name"] == "Grace"
    mutation = await client.get(
        "/graphql", params={"query": 'mutation { logAccount(entry: "x") }'}, headers=PREFLIGHTED
    )
    assert mutation.status_code == 405
    page = await client.get("/graphql", headers={"Accept": "text/html"})
    assert page.headers["content-type"].startswith("text/html")
    assert "<script src" not in page.text and "cdn" not in page.text.lower()


async def test_a_request_id_is_generated_when_absent_and_returned(router: Router) -> None:
    client, _ = router
    response = await client.post("/graphql", json={"query": "{ requestId }"})
    rid = response.headers["x-request-id"]
    assert len(rid) >= 16
    assert response.json()["data"]["requestId"] == rid


async def test_query_plans_are_shown_only_when_debug_is_enabled(make_router: Callable[..., Any]) -> None:
    async with make_router(ROUTER_DEBUG=False) as (client, _):
        response = await client.post("/graphql", json={"query": QUERY}, headers={"X-Debug-Query-Plan": "1"})
        assert "extensions" not in response.json()
    async with make_router(ROUTER_DEBUG=True) as (client, _):
        response = await client.post("/graphql", json={"query": QUERY}, headers={"X-Debug-Query-Plan": "1"})
        assert response.json()["extensions"]["queryPlan"][0][0]["subgraph"] == "ACCOUNTS"


async def test_health_ready_and_metrics_endpoints(router: Router) -> None:
    client, _ = router
    await client.post("/graphql", json={"query": QUERY})
    assert (await client.get("/health")).status_code == 200
    assert (await client.get("/ready")).status_code == 200
    metrics = (await client.get("/metrics")).text
    assert "router_requests_total" in metrics and "router_request_seconds_bucket" in metrics
    assert "router_subgraph_fetch_errors_total" in metrics


async def test_cors_allows_only_the_configured_origins(make_router: Callable[..., Any]) -> None:
    async with make_router(ROUTER_CORS_ORIGINS="http://app.test") as (client, _):
        headers = {"Origin": "http://app.test", "Access-Control-Request-Method": "POST"}
        allowed = await client.options("/graphql", headers=headers)
        assert allowed.headers["access-control-allow-origin"] == "http://app.test"
        denied = await client.options("/graphql", headers={**headers, "Origin": "http://evil.test"})
        assert "access-control-allow-origin" not in denied.headers


async def test_a_static_directory_is_served_at_the_root(
    make_router: Callable[..., Any], tmp_path: Path
) -> None:
    (tmp_path / "index.html").write_text("<h1>app</h1>")
    async with make_router(ROUTER_STATIC_DIR=str(tmp_path)) as (client, _):
        assert (await client.get("/")).text == "<h1>app</h1>"
        assert (await client.post("/graphql", json={"query": QUERY})).status_code == 200
        assert (await client.get("/health")).status_code == 200


async def test_a_down_subgraph_gives_partial_data_and_subgraph_unavailable_with_paths(
    subgraphs: dict[str, ServedApp], tmp_path: Path
) -> None:
    accounts, reviews = ServedApp("accounts", asgi_app("accounts")), ServedApp("reviews", asgi_app("reviews"))
    await accounts.start()
    await reviews.start()
    config = write_rover_config(
        tmp_path, {"accounts": accounts.url, "reviews": reviews.url, "products": subgraphs["products"].url}
    )
    settings = RouterSettings(
        SUPERGRAPH_CONFIG=str(config), ROUTER_POLL_INTERVAL_S=0, ROUTER_SUBGRAPH_TIMEOUT_S=2
    )
    runtime = RouterRuntime(settings)
    assert await runtime.refresh()
    await reviews.stop()
    transport = httpx.ASGITransport(app=create_app(settings, runtime))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://router") as client:
            query = "{ topProducts { name } latest: latestReview { id } }"
            body = (await client.post("/graphql", json={"query": query})).json()
            assert body["data"] is None  # latestReview is non-null: its null reaches the root
            assert body["errors"][0]["path"] == ["latest"]
            query = '{ user(id: "u1") { name reviews { id } } topProducts { name } }'
            body = (await client.post("/graphql", json={"query": query})).json()
            assert body["data"] == {"user": None, "topProducts": [{"name": "Kettle"}, {"name": "Teapot"}]}
            (error,) = [
                e for e in body["errors"] if e.get("extensions", {}).get("code") == "SUBGRAPH_UNAVAILABLE"
            ]
            assert error["path"] == ["user", "reviews"]
            assert (await client.get("/ready")).status_code == 503
            assert (await client.get("/health")).status_code == 200
            await accounts.stop()
            body = (
                await client.post("/graphql", json={"query": "{ me { name } topProducts { name } }"})
            ).json()
            assert body["data"] == {"me": None, "topProducts": [{"name": "Kettle"}, {"name": "Teapot"}]}
            assert body["errors"][0]["path"] == ["me"]
            assert body["errors"][0]["extensions"]["code"] == "SUBGRAPH_UNAVAILABLE"
    finally:
        await runtime.stop()


async def test_the_router_answers_not_ready_until_subgraphs_come_up_then_composes(tmp_path: Path) -> None:
    sock = free_socket()
    port = sock.getsockname()[1]
    config = write_rover_config(tmp_path, {"shipping": f"http://127.0.0.1:{port}/graphql"})
    settings = RouterSettings(SUPERGRAPH_CONFIG=str(config), ROUTER_POLL_INTERVAL_S=0)
    runtime = RouterRuntime(settings)
    app = create_app(settings, runtime)
    runtime.start()
    late = ServedApp("shipping", asgi_app("shipping"), sock=sock)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://router"
        ) as client:
            response = await client.post("/graphql", json={"query": "{ shippingZones }"})
            assert response.status_code == 503 and code_of(response) == "SUPERGRAPH_NOT_READY"
            assert (await client.get("/health")).status_code == 200
            assert (await client.get("/ready")).status_code == 503
            await late.start()
            for _ in range(100):
                if runtime.gateway is not None:
                    break
                await asyncio.sleep(0.05)
            response = await client.post("/graphql", json={"query": "{ shippingZones }"})
            assert response.json() == {"data": {"shippingZones": ["north", "south"]}}
    finally:
        await runtime.stop()
        await late.stop()


async def test_recomposition_picks_up_changes_and_keeps_the_old_supergraph_when_the_new_one_fails(
    tmp_path: Path,
) -> None:
    sdl = SCHEMAS["products"].as_str()
    (tmp_path / "products.graphql").write_text(sdl)
    (tmp_path / "supergraph.yaml").write_text(
        "subgraphs:\n  products:\n    routing_url: http://127.0.0.1:9/graphql\n"
        "    schema:\n      file: products.graphql\n"
    )
    settings = RouterSettings(SUPERGRAPH_CONFIG=str(tmp_path / "supergraph.yaml"), ROUTER_POLL_INTERVAL_S=0)
    runtime = RouterRuntime(settings)
    try:
        assert await runtime.refresh()
        first = runtime.gateway
        assert first is not None and "colour" not in first.supergraph.api_schema.get_type("Product").fields  # type: ignore[union-attr]
        (tmp_path / "products.graphql").write_text(
            sdl.replace("weight: Int!", "weight: Int!\n  colour: String")
        )
        assert await runtime.refresh()
        second = runtime.gateway
        assert second is not first
        assert "colour" in second.supergraph.api_schema.get_type("Product").fields  # type: ignore[union-attr]
        (tmp_path / "products.graphql").write_text(sdl.replace('@key(fields: "upc")', '@key(fields: "nope")'))
        assert await runtime.refresh()
        assert runtime.gateway is second
        assert runtime.last_error is not None and "nope" in runtime.last_error
    finally:
        await runtime.stop()


async def test_a_subgraph_slower_than_its_timeout_is_reported_unavailable(
    make_router: Callable[..., Any],
) -> None:
    async with make_router(ROUTER_SUBGRAPH_TIMEOUT_S=0.2) as (client, _):
        body = (await client.post("/graphql", json={"query": "{ slow topProducts { name } }"})).json()
        assert body["data"] == {"slow": None, "topProducts": [{"name": "Kettle"}, {"name": "Teapot"}]}
        assert body["errors"][0]["path"] == ["slow"]
        assert body["errors"][0]["extensions"]["code"] == "SUBGRAPH_UNAVAILABLE"
        assert "timed out" in body["errors"][0]["message"]


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]
)
async def test_a_post_a_browser_sends_without_preflight_is_refused_as_csrf(
    router: Router, content_type: str
) -> None:
    client, _ = router
    body = json.dumps({"query": 'mutation { logAccount(entry: "csrf") }'})
    response = await client.post("/graphql", content=body, headers={"content-type": content_type})
    assert response.status_code == 400
    assert code_of(response) == "CSRF_PREVENTED"
    assert "data" not in response.json()
    assert not any("csrf" in entry for entry in MUTATION_LOG)


async def test_a_post_without_content_type_is_refused_unless_it_carries_a_preflight_header(
    router: Router,
) -> None:
    client, _ = router
    body = json.dumps({"query": QUERY}).encode()
    assert code_of(await client.post("/graphql", content=body)) == "CSRF_PREVENTED"
    empty = await client.post("/graphql", content=body, headers={"content-type": ""})
    assert code_of(empty) == "CSRF_PREVENTED"
    for header in ("apollo-require-preflight", "x-apollo-operation-name"):
        allowed = await client.post(
            "/graphql", content=body, headers={"content-type": "text/plain", header: "1"}
        )
        assert allowed.status_code == 200, header
        assert allowed.json()["data"]["users"][0]["name"] == "Ada"


async def test_a_get_query_needs_a_preflight_header(router: Router) -> None:
    client, _ = router
    refused = await client.get("/graphql", params={"query": QUERY})
    assert refused.status_code == 400
    assert code_of(refused) == "CSRF_PREVENTED"
    allowed = await client.get("/graphql", params={"query": QUERY}, headers=PREFLIGHTED)
    assert allowed.json()["data"]["users"][0]["name"] == "Ada"


async def test_csrf_headers_are_configurable_and_the_defence_can_be_switched_off(
    make_router: Callable[..., Any],
) -> None:
    body = json.dumps({"query": QUERY})
    async with make_router(ROUTER_CSRF_REQUIRED_HEADERS="x-sawit-client") as (client, _):
        plain = {"content-type": "text/plain"}
        assert code_of(await client.post("/graphql", content=body, headers={**plain, **PREFLIGHTED})) == (
            "CSRF_PREVENTED"
        )
        custom = await client.post("/graphql", content=body, headers={**plain, "x-sawit-client": "web"})
        assert custom.json()["data"]["users"][0]["name"] == "Ada"
    async with make_router(ROUTER_CSRF_PREVENTION=False) as (client, _):
        off = await client.post("/graphql", content=body, headers={"content-type": "text/plain"})
        assert off.json()["data"]["users"][0]["name"] == "Ada"


async def test_a_supergraph_the_planner_cannot_serve_answers_query_planning_failed_not_a_crash(
    make_router: Callable[..., Any], tmp_path: Path
) -> None:
    from supergraph.compose import SubgraphSource, compose
    from tests.supergraph.test_planner import CORRUPTED_NODE_A, CORRUPTED_NODE_B, LINK

    sdl = compose(
        [
            SubgraphSource("a", "http://127.0.0.1:9/graphql", LINK + CORRUPTED_NODE_A),
            SubgraphSource("b", "http://127.0.0.1:9/graphql", LINK + CORRUPTED_NODE_B),
        ]
    )
    path = tmp_path / "corrupted.graphql"
    path.write_text(sdl)
    async with make_router(SUPERGRAPH_SDL_FILE=str(path)) as (client, _):
        response = await client.post("/graphql", json={"query": '{ node(id: "a1") { id } }'})
        assert response.status_code == 200
        assert code_of(response) == "QUERY_PLANNING_FAILED"
        assert response.json().get("data") is None
