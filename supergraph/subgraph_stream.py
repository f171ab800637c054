"""Subscriptions, the subgraph side and the shared bounds: the graphql-transport-ws stream the router
opens at the subgraph that owns a subscription's root field, the per-client connection slots, the
event pacing, and the subscription metrics."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp
import orjson
from prometheus_client import Counter, Gauge

from supergraph.errors import StreamError as StreamError  # re-exported

log = logging.getLogger("supergraph.subscriptions")

PROTOCOL = "graphql-transport-ws"
OPEN = Gauge("router_subscriptions_open", "Client subscriptions being served", ["protocol"])
SUBGRAPH_STREAMS = Gauge(
    "router_subgraph_streams_open", "Subscription streams open to subgraphs", ["subgraph"]
)
EVENTS = Counter("router_subscription_events_total", "Subscription events sent to clients", ["protocol"])
REFUSED = Counter("router_subscriptions_refused_total", "Subscriptions or connections refused", ["reason"])
MAX_FRAME_BYTES = 1_000_000


def _errors(message: str, code: str, **extensions: Any) -> list[dict[str, Any]]:
    return [{"message": message, "extensions": {"code": code, **extensions}}]


class ClientSlots:
    """Open subscription connections per client address (ROUTER_SUBSCRIPTIONS_MAX_PER_CLIENT)."""

    def __init__(self, max_per_client: int) -> None:
        self.max_per_client = max_per_client
        self._open: dict[str, int] = {}

    def acquire(self, client: str) -> bool:
        count = self._open.get(client, 0)
        if self.max_per_client > 0 and count >= self.max_per_client:
            return False
        self._open[client] = count + 1
        return True

    def release(self, client: str) -> None:
        count = self._open.get(client, 0) - 1
        if count > 0:
            self._open[client] = count
        else:
            self._open.pop(client, None)


class Pace:
    """A token bucket (rate per second, burst of one second's worth): `wait()` before each event."""

    def __init__(self, per_s: float) -> None:
        self.per_s = per_s
        self.tokens = max(1.0, per_s)
        self.stamp = time.monotonic()

    async def wait(self) -> None:
        if self.per_s <= 0:
            return
        now = time.monotonic()
        self.tokens = min(max(1.0, self.per_s), self.tokens + (now - self.stamp) * self.per_s)
        self.stamp = now
        if self.tokens < 1.0:
            await asyncio.sleep((1.0 - self.tokens) / self.per_s)
            self.stamp = time.monotonic()
            self.tokens = 1.0
        self.tokens -= 1.0


def _ws_url(url: str) -> str:
    if url.startswith("https://"):
        return "wss://" + url[len("https://") :]
    if url.startswith("http://"):
        return "ws://" + url[len("http://") :]
    return url


async def _handshake(
    ws: aiohttp.ClientWebSocketResponse,
    init_payload: Mapping[str, Any],
    init_timeout_s: float,
    unavailable: list[dict[str, Any]],
) -> None:
    """`connection_init`, then wait (answering pings) for the subgraph's `connection_ack`."""
    await ws.send_str(orjson.dumps({"type": "connection_init", "payload": dict(init_payload)}).decode())
    deadline = time.monotonic() + init_timeout_s
    while True:
        message = await ws.receive(timeout=max(0.1, deadline - time.monotonic()))
        if message.type != aiohttp.WSMsgType.TEXT:
            raise StreamError(unavailable)
        frame = orjson.loads(message.data)
        if frame.get("type") == "connection_ack":
            return
        if frame.get("type") == "ping":
            await ws.send_str('{"type":"pong"}')


async def subgraph_stream(
    session: aiohttp.ClientSession,
    subgraph: str,
    url: str,
    query: str,
    variables: Mapping[str, Any],
    headers: Mapping[str, str],
    init_payload: Mapping[str, Any],
    init_timeout_s: float,
) -> AsyncIterator[dict[str, Any]]:
    """One graphql-transport-ws subscription to a subgraph: its `next` payloads; StreamError for its
    `error`, for a refused handshake or a socket closed without `complete`. Closing the generator
    sends `complete` and closes the socket."""
    unavailable = _errors(
        f"subgraph '{subgraph}' is unreachable", "SUBGRAPH_UNAVAILABLE", serviceName=subgraph
    )
    try:
        ws = await session.ws_connect(
            _ws_url(url),
            protocols=(PROTOCOL,),
            headers=dict(headers),
            timeout=aiohttp.ClientWSTimeout(ws_close=2.0),
            max_msg_size=MAX_FRAME_BYTES,
            autoping=True,
        )
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise StreamError(unavailable) from exc
    SUBGRAPH_STREAMS.labels(subgraph).inc()
    completed = False
    try:
        await _handshake(ws, init_payload, init_timeout_s, unavailable)
        body: dict[str, Any] = {"query": query}
        if variables:
            body["variables"] = dict(variables)
        await ws.send_str(orjson.dumps({"id": "1", "type": "subscribe", "payload": body}).decode())
        async for message in ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            frame = orjson.loads(message.data)
            kind = frame.get("type")
            if kind == "next" and isinstance(frame.get("payload"), dict):
                yield frame["payload"]
            elif kind == "error":
                completed = True
                payload = frame.get("payload")
                raise StreamError(payload if isinstance(payload, list) and payload else unavailable)
            elif kind == "complete":
                completed = True
                return
            elif kind == "ping":
                await ws.send_str('{"type":"pong"}')
        raise StreamError(unavailable)
    except (aiohttp.ClientError, TimeoutError, orjson.JSONDecodeError) as exc:
        raise StreamError(unavailable) from exc
    finally:
        SUBGRAPH_STREAMS.labels(subgraph).dec()
        with contextlib.suppress(Exception):
            if not completed and not ws.closed:
                await ws.send_str('{"id":"1","type":"complete"}')
            await ws.close()
