"""Subscription clients for the tests: graphql-transport-ws (websockets) and SSE (httpx), every wait
bounded; plus Prometheus gauge reads for proving that streams close."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

WAIT_S = 15.0

WALLET_EVENTS = (
    "subscription { walletEvents { walletId balance entry { direction amount } "
    "transaction { transactionId type status fraudCheck { status } } } }"
)


class WsSubscription:
    """One graphql-transport-ws connection with one subscription (id "1")."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket

    async def message(self, timeout_s: float = WAIT_S) -> dict[str, Any]:
        """The next message that is not a ping (a ping is answered)."""
        while True:
            raw = await asyncio.wait_for(self.socket.recv(), timeout_s)
            frame = json.loads(raw)
            if frame.get("type") == "ping":
                await self.socket.send(json.dumps({"type": "pong"}))
                continue
            return frame

    async def events(self, count: int, timeout_s: float = WAIT_S) -> list[dict[str, Any]]:
        """The payloads of the next `count` `next` messages (fails on anything else)."""
        found: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout_s
        while len(found) < count:
            frame = await self.message(max(0.1, deadline - time.monotonic()))
            assert frame.get("type") == "next", frame
            found.append(frame["payload"])
        return found

    async def nothing_more(self, quiet_s: float = 1.5) -> None:
        try:
            frame = await self.message(quiet_s)
        except TimeoutError:
            return
        raise AssertionError(f"an unexpected message: {frame}")


@asynccontextmanager
async def ws_subscription(
    url: str, query: str, token: str | None, *, subscribe: bool = True
) -> AsyncIterator[WsSubscription]:
    """Connect, `connection_init` (with the token), wait for the ack, then `subscribe`."""
    ws_url = url.replace("http://", "ws://", 1)
    async with connect(ws_url, subprotocols=["graphql-transport-ws"], open_timeout=WAIT_S) as socket:  # type: ignore[list-item]
        sub = WsSubscription(socket)
        payload = {"Authorization": f"Bearer {token}"} if token else {}
        await socket.send(json.dumps({"type": "connection_init", "payload": payload}))
        ack = await sub.message()
        assert ack["type"] == "connection_ack", ack
        if subscribe:
            await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
        yield sub


class SseStream:
    """One graphql-sse "distinct connections" stream, read into a queue of (event, data)."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        self.status = 0

    async def event(self, timeout_s: float = WAIT_S) -> tuple[str, str]:
        return await asyncio.wait_for(self.queue.get(), timeout_s)

    async def events(self, count: int, timeout_s: float = WAIT_S) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout_s
        while len(found) < count:
            kind, data = await self.event(max(0.1, deadline - time.monotonic()))
            assert kind == "next", (kind, data)
            found.append(json.loads(data))
        return found

    async def nothing_more(self, quiet_s: float = 1.5) -> None:
        try:
            item = await self.event(quiet_s)
        except TimeoutError:
            return
        raise AssertionError(f"an unexpected event: {item}")


@asynccontextmanager
async def sse_subscription(url: str, query: str, token: str | None) -> AsyncIterator[SseStream]:
    """POST with Accept: text/event-stream; leaving the block disconnects."""
    headers = {"accept": "text/event-stream", "content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    stream = SseStream()
    timeout = httpx.Timeout(WAIT_S, read=None)
    async with httpx.AsyncClient(timeout=timeout) as client:
        ready = asyncio.Event()

        async def read() -> None:
            async with client.stream("POST", url, json={"query": query}, headers=headers) as response:
                stream.status = response.status_code
                ready.set()
                kind, data = "", []
                async for line in response.aiter_lines():
                    if line.startswith("event:"):
                        kind = line[6:].strip()
                    elif line.startswith("data:"):
                        data.append(line[5:].strip())
                    elif line == "" and kind:
                        await stream.queue.put((kind, "\n".join(data)))
                        kind, data = "", []

        reader = asyncio.ensure_future(read())
        try:
            await asyncio.wait_for(ready.wait(), WAIT_S)
            yield stream
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)


def gauge(base_url: str, name: str, labels: str = "") -> float:
    """The value of one series in a process's /metrics (0 when absent)."""
    text = httpx.get(f"{base_url}/metrics", timeout=5).text
    prefix = f"{name}{{{labels}}}" if labels else name
    for line in text.splitlines():
        if line.startswith(prefix + " "):
            return float(line.split()[-1])
    return 0.0


async def wait_gauge(
    base_url: str, name: str, labels: str, expected: float, timeout_s: float = WAIT_S
) -> None:
    deadline = time.monotonic() + timeout_s
    value = gauge(base_url, name, labels)
    while value != expected and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        value = await asyncio.to_thread(gauge, base_url, name, labels)
    assert value == expected, f"{name}{{{labels}}} at {base_url} is {value}, expected {expected}"
