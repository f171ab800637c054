"""In-flight deduplication: identical concurrent subgraph queries are sent once, mutations never."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx

from supergraph.fetcher import SubgraphClients
from tests.supergraph.conftest import ServedApp
from tests.supergraph.subgraph_apps import MUTATION_LOG, SEEN_BODIES


def _sent(subgraph: str, needle: str) -> int:
    return sum(needle in body.get("query", "") for body in SEEN_BODIES.get(subgraph, []))


async def _together(client: httpx.AsyncClient, bodies: list[dict[str, Any]], **kwargs: Any) -> list[Any]:
    responses = await asyncio.gather(*(client.post("/graphql", json=b, **kwargs) for b in bodies))
    return [r.json() for r in responses]


async def test_identical_concurrent_queries_reach_the_subgraph_once_and_all_get_the_answer(
    make_router: Callable[..., Any],
) -> None:
    async with make_router() as (client, _):
        before = _sent("accounts", "slowWhoami")
        answers = await _together(client, [{"query": "{ slowWhoami users { name } }"}] * 5)
        assert _sent("accounts", "slowWhoami") - before == 1
        assert all(
            a == {"data": {"slowWhoami": None, "users": [{"name": "Ada"}, {"name": "Grace"}]}}
            for a in answers
        )


async def test_with_deduplication_off_every_query_is_sent(make_router: Callable[..., Any]) -> None:
    async with make_router(ROUTER_DEDUPLICATE_QUERIES=False) as (client, _):
        before = _sent("accounts", "slowWhoami")
        await _together(client, [{"query": "{ slowWhoami }"}] * 3)
        assert _sent("accounts", "slowWhoami") - before == 3


async def test_identical_concurrent_mutations_are_each_sent(make_router: Callable[..., Any]) -> None:
    async with make_router() as (client, _):
        before = len(MUTATION_LOG)
        answers = await _together(client, [{"query": 'mutation { slowLogAccount(entry: "twice") }'}] * 2)
        assert len(MUTATION_LOG) - before == 2
        assert sorted(a["data"]["slowLogAccount"] for a in answers) == [before + 1, before + 2]


async def test_queries_with_different_credentials_are_not_merged(make_router: Callable[..., Any]) -> None:
    async with make_router() as (client, _):
        query = {"query": "{ slowWhoami }"}
        ada, grace = await asyncio.gather(
            client.post("/graphql", json=query, headers={"Authorization": "Bearer u1"}),
            client.post("/graphql", json=query, headers={"Authorization": "Bearer u2"}),
        )
        assert ada.json()["data"]["slowWhoami"] == "Bearer u1"
        assert grace.json()["data"]["slowWhoami"] == "Bearer u2"


async def test_merged_answers_are_separate_objects_so_one_request_cannot_change_another(
    subgraphs: dict[str, ServedApp],
) -> None:
    clients = SubgraphClients(timeout_s=5)
    url = subgraphs["accounts"].url
    try:
        before = _sent("accounts", "slowWhoami")
        first, second = await asyncio.gather(
            *(clients.post("accounts", url, "{ slowWhoami users { id } }", None, {}) for _ in range(2))
        )
        assert _sent("accounts", "slowWhoami") - before == 1
        assert first == second and first is not second
        first["data"]["users"][0]["id"] = "changed by the first caller"
        assert second["data"]["users"][0]["id"] == "u1"
    finally:
        await clients.aclose()
