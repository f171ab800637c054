"""`walletEvents` through the router: graphql-transport-ws and SSE, federated fields per event, one
event per committed movement of the subscriber's own wallets, streams closed when the client
leaves, events crossing wallet replicas through Redis, and no stream for an anonymous caller."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.e2e.flows import CREATE_TX, create_wallet, data_of, deposit, register_and_login
from tests.subscriptions.clients import (
    WALLET_EVENTS,
    wait_gauge,
    ws_subscription,
)
from tests.subscriptions.conftest import Replicas
from tests.support.stack import Stack

OPEN = "sawit_event_subscriptions_open"
REDIS = 'bus="redis"'
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
        last = next(
            e
            for e in events
            if e["data"]["walletEvents"]["transaction"]["transactionId"] == out["transactionId"]
        )
        assert last["data"]["walletEvents"]["balance"] == last["data"]["walletEvents"]["balance"]
    # the client left: the router closed its stream to the wallet, and the wallet its bus subscription
    await wait_gauge(replicas.a_base, OPEN, REDIS, 0)
    await wait_gauge(stack.router_base, ROUTER_STREAMS, WALLET, 0)
