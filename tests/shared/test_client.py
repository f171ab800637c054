"""The subgraph client maps every failure to our error codes and carries service tokens and request ids.

Each test serves a tiny callee on a real loopback port (aiohttp's test server), so the client's
whole HTTP path runs, pooling and timeouts included.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from decimal import Decimal

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from shared.client import SubgraphClient
from shared.errors import AppError, ErrorCode
from shared.logs import request_id_var
from shared.security import ServiceTokenMinter, build_authenticator

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@asynccontextmanager
async def callee(handler: Handler) -> AsyncIterator[str]:
    """A GraphQL endpoint answering with `handler`; yields its URL."""
    app = web.Application()
    app.router.add_post("/graphql", handler)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("/graphql"))
    finally:
        await server.close()


def answering(status: int = 200, *, json: object | None = None, text: str | None = None) -> Handler:
    async def handler(_request: web.Request) -> web.StreamResponse:
        if json is not None:
            return web.json_response(json, status=status)
        return web.Response(status=status, text=text or "")

    return handler


@asynccontextmanager
async def client_for(
    handler: Handler, minter: ServiceTokenMinter | None = None, **options: object
) -> AsyncIterator[SubgraphClient]:
    async with callee(handler) as url:
        client = SubgraphClient(
            "wallet", url, timeout_s=options.pop("timeout_s", 1.0), minter=minter, **options
        )  # type: ignore[arg-type]
        try:
            yield client
        finally:
            await client.aclose()


async def test_a_successful_call_returns_the_data() -> None:
    async with client_for(answering(json={"data": {"ok": True}})) as client:
        assert await client.execute("{ ok }") == {"ok": True}


async def test_connections_are_reused_across_calls() -> None:
    peers: set[int] = set()

    async def handler(request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        peers.add(request.transport.get_extra_info("peername")[1])
        return web.json_response({"data": {"ok": True}})

    async with client_for(handler) as client:
        for _ in range(20):
            await client.execute("{ ok }")
    assert len(peers) == 1


async def test_a_known_error_code_from_the_callee_is_kept_with_its_message() -> None:
    error = {"message": "Saldo kurang", "extensions": {"code": "INSUFFICIENT_FUNDS"}}
    async with client_for(answering(json={"data": None, "errors": [error]})) as client:
        with pytest.raises(AppError) as caught:
            await client.execute("{ x }")
    assert caught.value.code is ErrorCode.INSUFFICIENT_FUNDS
    assert caught.value.message == "Saldo kurang"


async def test_an_unknown_error_from_the_callee_becomes_internal_without_its_text() -> None:
    body = {"errors": [{"message": "psycopg: relation wallets does not exist"}]}
    async with client_for(answering(json=body)) as client:
        with pytest.raises(AppError) as caught:
            await client.execute("{ x }")
    assert caught.value.code is ErrorCode.INTERNAL
    assert "psycopg" not in caught.value.message


async def test_a_refused_connection_is_subgraph_unavailable_and_retriable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens here once the socket is closed
    client = SubgraphClient("wallet", f"http://127.0.0.1:{port}/graphql", timeout_s=1.0)
    try:
        with pytest.raises(AppError) as caught:
            await client.execute("{ x }")
    finally:
        await client.aclose()
    assert caught.value.code is ErrorCode.SUBGRAPH_UNAVAILABLE
    assert caught.value.details["retriable"] is True


async def test_a_callee_slower_than_the_timeout_is_subgraph_unavailable_and_retriable() -> None:
    async def slow(_request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(2)
        return web.json_response({"data": {}})

    async with client_for(slow, timeout_s=0.2) as client:
        with pytest.raises(AppError) as caught:
            await client.execute("{ x }")
    assert caught.value.code is ErrorCode.SUBGRAPH_UNAVAILABLE
    assert caught.value.details["retriable"] is True
    assert caught.value.details["reason"] == "timeout"


async def test_a_5xx_without_json_is_subgraph_unavailable() -> None:
    async with client_for(answering(502, text="bad gateway")) as client:
        with pytest.raises(AppError) as caught:
            await client.execute("{ x }")
    assert caught.value.code is ErrorCode.SUBGRAPH_UNAVAILABLE


async def test_the_service_token_carries_the_requested_scopes_and_verifies() -> None:
    seen: dict[str, str] = {}

    async def handler(request: web.Request) -> web.StreamResponse:
        seen.update({k.lower(): v for k, v in request.headers.items()})
        return web.json_response({"data": {}})

    async with client_for(handler, ServiceTokenMinter("transactions")) as client:
        token = request_id_var.set("req-42")
        try:
            await client.execute("{ x }", scopes=["wallet:debit"])
        finally:
            request_id_var.reset(token)
    assert seen["x-request-id"] == "req-42"
    principal = await build_authenticator().principal_from_header(seen["authorization"])
    assert principal is not None and principal.kind == "service"
    assert principal.subject == "service:transactions"
    assert principal.scopes == frozenset({"wallet:debit"})


async def test_a_foreign_service_s_graphql_error_means_not_done_whatever_code_it_claims() -> None:
    body = {"errors": [{"message": "nope", "extensions": {"code": "INSUFFICIENT_FUNDS"}}]}
    async with callee(answering(json=body)) as url:
        client = SubgraphClient(
            "marketplace",
            url,
            timeout_s=1.0,
            unavailable_code=ErrorCode.MARKETPLACE_UNAVAILABLE,
            foreign=True,
        )
        with pytest.raises(AppError) as caught:
            await client.execute("{ x }")
        await client.aclose()
    assert caught.value.code is ErrorCode.MARKETPLACE_UNAVAILABLE
    assert caught.value.details["retriable"] is True


async def test_exact_numbers_come_back_as_decimals_not_floats() -> None:
    text = '{"data": {"totalHarga": 150000.10}}'
    async with callee(answering(text=text)) as url:
        client = SubgraphClient("marketplace", url, timeout_s=1.0, exact_numbers=True)
        assert (await client.execute("{ x }"))["totalHarga"] == Decimal("150000.10")
        await client.aclose()
