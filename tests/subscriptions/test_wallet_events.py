"""`walletEvents` through the router: graphql-transport-ws and SSE, federated fields per event, one
event per committed movement of the subscriber's own wallets, streams closed when the client
leaves, events crossing wallet replicas through Redis, and no stream for an anonymous caller."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.e2e.flows import CREATE_TX, create_wallet, data_of, deposit, register_and_login
from tests.subscriptions.clients import (
    WAIT_S,
    WALLET_EVENTS,
    gauge,
    sse_subscription,
    wait_gauge,
    ws_subscription,
)
from tests.subscriptions.conftest import INIT_TIMEOUT_S, MAX_PER_CLIENT, Replicas
from tests.support.stack import Stack

OPEN = "sawit_event_subscriptions_open"
REDIS = 'bus="redis"'
PROTOCOL = "graphql-transport-ws"
ROUTER_STREAMS = "router_subgraph_streams_open"
WALLET = 'subgraph="wallet"'


def transfer(stack: Stack, token: str, source: str, amount: int, **target: str) -> dict[str, Any]:
    body = stack.gql(
        CREATE_TX,
        {"input": {"walletId": source, "amount": amount, "type": "TRANSFER", **target}},
        token=token,
    )
    tx = data_of(body)["createTransaction"]
    assert tx["status"] == "SUCCESS", tx
    return tx


def seen(events: list[dict[str, Any]]) -> list[tuple[str, str, str, str]]:
    """(walletId, direction, amount, transactionId) of each event, sorted."""
    out = []
    for payload in events:
        assert not payload.get("errors"), payload
        event = payload["data"]["walletEvents"]
        out.append(
            (
                event["walletId"],
                event["entry"]["direction"],
                str(event["entry"]["amount"]),
                event["transaction"]["transactionId"],
            )
        )
    return sorted(out)


def tx_of(payload: dict[str, Any]) -> str:
    return str(payload["data"]["walletEvents"]["transaction"]["transactionId"])


async def run(function: Any, *args: Any, **kwargs: Any) -> Any:
    """A blocking stack call off the event loop, so the subscription keeps reading meanwhile."""
    return await asyncio.to_thread(function, *args, **kwargs)


async def test_websocket_events_of_own_wallets_only(replicas: Replicas) -> None:
    stack = replicas.stack
    alice = await run(register_and_login, stack, "suba")
    bob = await run(register_and_login, stack, "subb")
    main = await run(create_wallet, stack, alice["token"], "Utama")
    savings = await run(create_wallet, stack, alice["token"], "Tabungan")
    bobs = await run(create_wallet, stack, bob["token"], "Bob")
    async with ws_subscription(stack.router_url, WALLET_EVENTS, alice["token"]) as sub:
        await wait_gauge(replicas.a_base, OPEN, REDIS, 1)
        dep = await run(deposit, stack, alice["token"], main, 100_000)
        own = await run(transfer, stack, alice["token"], main, 25_000, toWalletId=savings)
        out = await run(transfer, stack, alice["token"], main, 10_000, toUsername=bob["username"])
        await run(deposit, stack, bob["token"], bobs, 5_000)  # not alice's: no event for her
        events = await sub.events(4)
        await sub.nothing_more()
        amounts = {event["data"]["walletEvents"]["entry"]["amount"] for event in events}
        assert len(amounts) == 3, amounts
        for payload in events:
            tx = payload["data"]["walletEvents"]["transaction"]
            assert tx["type"] in ("DEPOSIT", "TRANSFER"), tx
            assert tx["status"], tx
            assert tx["fraudCheck"] and tx["fraudCheck"]["status"], tx  # resolved by fraud, per event
        got = [(w, d, t) for w, d, _, t in seen(events)]
        assert sorted(got) == sorted(
            [
                (main, "CREDIT", dep["transactionId"]),
                (main, "DEBIT", own["transactionId"]),
                (savings, "CREDIT", own["transactionId"]),
                (main, "DEBIT", out["transactionId"]),
            ]
        )
        by_tx = {
            (e["data"]["walletEvents"]["walletId"], e["data"]["walletEvents"]["entry"]["direction"]): e
            for e in events
        }
        assert by_tx[(main, "DEBIT")]["data"]["walletEvents"]["balance"] in ("65000", "65000.00", 65000)
    # the client left: the router closed its stream to the wallet, and the wallet its bus subscription
    await wait_gauge(replicas.a_base, OPEN, REDIS, 0)
    await wait_gauge(stack.router_base, ROUTER_STREAMS, WALLET, 0)


async def test_sse_events_and_disconnect(replicas: Replicas) -> None:
    stack = replicas.stack
    carol = await run(register_and_login, stack, "ssec")
    dave = await run(register_and_login, stack, "ssed")
    wallet = await run(create_wallet, stack, carol["token"])
    daves = await run(create_wallet, stack, dave["token"])
    await run(deposit, stack, dave["token"], daves, 50_000)
    async with sse_subscription(stack.router_url, WALLET_EVENTS, carol["token"]) as stream:
        assert stream.status == 200
        await wait_gauge(replicas.a_base, OPEN, REDIS, 1)
        dep = await run(deposit, stack, carol["token"], wallet, 20_000)
        await run(transfer, stack, dave["token"], daves, 7_000, toWalletId=wallet)
        await run(deposit, stack, dave["token"], daves, 1_000)  # dave's: nothing for carol
        mine, incoming = await stream.events(2)
        await stream.nothing_more()
        assert seen([mine]) == [(wallet, "CREDIT", "20000.00", dep["transactionId"])]
        assert mine["data"]["walletEvents"]["transaction"]["fraudCheck"]["status"]
        event = incoming["data"]["walletEvents"]
        assert (event["walletId"], event["entry"], event["balance"]) == (
            wallet,
            {"direction": "CREDIT", "amount": "7000.00"},
            "27000.00",
        )
        # The money landed (the ledger committed) before the transactions subgraph marked the transfer
        # SUCCESS: the receiver still sees it (PENDING or SUCCESS), never null, and not the sender's
        # fraud verdict.
        assert event["transaction"]["type"] == "TRANSFER", incoming
        assert event["transaction"]["status"] in ("PENDING", "SUCCESS"), incoming
        assert event["transaction"]["fraudCheck"] is None, incoming
    await wait_gauge(replicas.a_base, OPEN, REDIS, 0)
    await wait_gauge(stack.router_base, ROUTER_STREAMS, WALLET, 0)


async def test_complete_closes_the_subgraph_stream(replicas: Replicas) -> None:
    """A client's `complete` (the socket stays open) ends the subscription at the wallet too."""
    stack = replicas.stack
    erin = await run(register_and_login, stack, "subc")
    async with ws_subscription(stack.router_url, WALLET_EVENTS, erin["token"]) as sub:
        await wait_gauge(replicas.a_base, OPEN, REDIS, 1)
        await sub.socket.send(json.dumps({"id": "1", "type": "complete"}))
        await wait_gauge(replicas.a_base, OPEN, REDIS, 0)
        await wait_gauge(stack.router_base, ROUTER_STREAMS, WALLET, 0)
        await sub.socket.send(json.dumps({"type": "ping"}))
        assert (await sub.message())["type"] == "pong"  # the connection itself lives on


async def test_events_published_by_another_replica_reach_the_subscriber(replicas: Replicas) -> None:
    """The router subscribes at replica A; the movement is committed by replica B (where the
    transactions subgraph sends it): only Redis can carry the event from B to A."""
    stack = replicas.stack
    frank = await run(register_and_login, stack, "repl")
    wallet = await run(create_wallet, stack, frank["token"])
    published = 'bus="redis",outcome="ok"'
    before_a = await run(gauge, replicas.a_base, "sawit_events_published_total", published)
    before_b = await run(gauge, replicas.b_base, "sawit_events_published_total", published)
    async with ws_subscription(stack.router_url, WALLET_EVENTS, frank["token"]) as sub:
        await wait_gauge(replicas.a_base, OPEN, REDIS, 1)
        assert await run(gauge, replicas.b_base, OPEN, REDIS) == 0  # nobody subscribed at B
        dep = await run(deposit, stack, frank["token"], wallet, 3_000)
        (event,) = await sub.events(1)
        assert event["data"]["walletEvents"]["transaction"]["transactionId"] == dep["transactionId"]
    assert await run(gauge, replicas.b_base, "sawit_events_published_total", published) == before_b + 1
    assert await run(gauge, replicas.a_base, "sawit_events_published_total", published) == before_a


async def test_unauthenticated_subscription_is_refused(replicas: Replicas) -> None:
    stack = replicas.stack
    async with ws_subscription(stack.router_url, WALLET_EVENTS, None) as sub:
        frame = await sub.message()
        errors = frame["payload"] if frame["type"] == "error" else frame["payload"].get("errors")
        assert frame["type"] in ("error", "next"), frame
        assert [e["extensions"]["code"] for e in errors] == ["UNAUTHENTICATED"], frame
    async with sse_subscription(stack.router_url, WALLET_EVENTS, None) as stream:
        kind, data = await stream.event()
        assert kind == "next"
        assert [e["extensions"]["code"] for e in json.loads(data)["errors"]] == ["UNAUTHENTICATED"]
        assert (await stream.event())[0] == "complete"
    await wait_gauge(stack.router_base, ROUTER_STREAMS, WALLET, 0)


async def test_bounds_connections_per_client_and_connection_init(replicas: Replicas) -> None:
    stack = replicas.stack
    ws_url = stack.router_url.replace("http://", "ws://", 1)
    async with contextlib.AsyncExitStack() as open_ones:
        for _ in range(MAX_PER_CLIENT):
            await open_ones.enter_async_context(
                ws_subscription(stack.router_url, WALLET_EVENTS, None, subscribe=False)
            )
        async with connect(ws_url, subprotocols=[PROTOCOL], open_timeout=WAIT_S) as extra:  # type: ignore[list-item]
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(extra.recv(), WAIT_S)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013
    # the slots are free again; a socket that never sends connection_init is closed with 4408
    async with connect(ws_url, subprotocols=[PROTOCOL], open_timeout=WAIT_S) as silent:  # type: ignore[list-item]
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(silent.recv(), INIT_TIMEOUT_S + WAIT_S)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4408


async def test_subgraph_guard_judges_websocket_subscribe_messages(replicas: Replicas) -> None:
    """Straight at the wallet (no router credential): `_service` over a socket is refused like over HTTP."""
    async with ws_subscription(f"{replicas.a_base}/graphql", "{ _service { sdl } }", None) as sub:
        frame = await sub.message()
        assert frame["type"] == "error", frame
        assert [e["extensions"]["code"] for e in frame["payload"]] == ["FORBIDDEN"]
