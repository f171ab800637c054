"""Committed-ledger events fanned out to subscribers: Redis pub/sub, or in-process without REDIS_URL.

Why Redis pub/sub and not PostgreSQL LISTEN/NOTIFY: the wallet runs on SQLite as well as on
PostgreSQL, and Redis is already the platform's shared state for throttles (REDIS_URL), so one
mechanism serves both databases. A publisher sends each event to the channel of the wallet's owner
(`<prefix><owner user id>`), so a subscriber's connection only ever receives its own user's events
and every replica connected to the same Redis reaches every subscriber, whichever replica committed
the movement. Pub/sub is fire-and-forget (no replay): a subscriber that was not connected when an
event was published does not get it; the ledger stays the record (re-read it after a reconnect).

Without REDIS_URL the bus is in-process: only subscribers connected to the same process receive an
event, which is right for one replica (development, tests) and wrong for several.

Publishing never fails the movement it reports: the money has already moved (the unit of work has
committed) when an event is published, so a Redis failure is logged and counted, not raised.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any, Protocol

import orjson
from prometheus_client import Counter, Gauge

log = logging.getLogger(__name__)

EVENTS_PUBLISHED = Counter(
    "sawit_events_published_total", "Committed-ledger events published", ["bus", "outcome"]
)
SUBSCRIPTIONS_OPEN = Gauge("sawit_event_subscriptions_open", "Event streams open in this process", ["bus"])
QUEUE_MAX = 1000


class EventOverflow(Exception):
    """A subscriber fell QUEUE_MAX events behind: its stream ends instead of silently losing events."""


class EventBus(Protocol):
    """Where committed movements are announced, per owner user id."""

    name: str

    async def publish(self, owner_id: str, event: dict[str, Any]) -> None: ...

    def subscribe(self, owner_id: str) -> AsyncIterator[dict[str, Any]]: ...

    async def aclose(self) -> None: ...


class MemoryBus:
    """In-process fan-out: reaches only the subscribers of this process (one replica)."""

    name = "memory"

    def __init__(self) -> None:
        self._queues: dict[str, set[asyncio.Queue[dict[str, Any] | None]]] = {}

    async def publish(self, owner_id: str, event: dict[str, Any]) -> None:
        for queue in list(self._queues.get(owner_id, ())):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
                queue.put_nowait(None)  # the overflow marker: the subscriber's stream ends
        EVENTS_PUBLISHED.labels(self.name, "ok").inc()

    async def subscribe(self, owner_id: str) -> AsyncIterator[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(QUEUE_MAX)
        self._queues.setdefault(owner_id, set()).add(queue)
        SUBSCRIPTIONS_OPEN.labels(self.name).inc()
        try:
            while True:
                event = await queue.get()
                if event is None:
                    raise EventOverflow("the subscriber fell too far behind")
                yield event
        finally:
            SUBSCRIPTIONS_OPEN.labels(self.name).dec()
            queues = self._queues.get(owner_id)
            if queues is not None:
                queues.discard(queue)
                if not queues:
                    del self._queues[owner_id]

    async def aclose(self) -> None:
        self._queues.clear()


class RedisBus:
    """Redis pub/sub: every replica publishing to and subscribed at the same Redis sees every event.

    One pub/sub connection per open stream (simple, and a stream's unsubscribe is its close); Redis
    bounds a slow subscriber itself (`client-output-buffer-limit pubsub`)."""

    name = "redis"

    def __init__(self, url: str, prefix: str) -> None:
        from redis import asyncio as aioredis

        self.prefix = prefix
        self._client = aioredis.Redis.from_url(url, socket_connect_timeout=2, health_check_interval=30)

    def channel(self, owner_id: str) -> str:
        return f"{self.prefix}{owner_id}"

    async def publish(self, owner_id: str, event: dict[str, Any]) -> None:
        try:
            await self._client.publish(self.channel(owner_id), orjson.dumps(event))
        except Exception:  # noqa: BLE001 - the movement is committed; losing its event must not undo it
            EVENTS_PUBLISHED.labels(self.name, "failed").inc()
            log.warning("publishing a wallet event to Redis failed", exc_info=True)
            return
        EVENTS_PUBLISHED.labels(self.name, "ok").inc()

    async def subscribe(self, owner_id: str) -> AsyncIterator[dict[str, Any]]:
        pubsub = self._client.pubsub(ignore_subscribe_messages=True)
        SUBSCRIPTIONS_OPEN.labels(self.name).inc()
        try:
            await pubsub.subscribe(self.channel(owner_id))
            while True:
                message = await pubsub.get_message(timeout=30.0)
                if message is None or message.get("type") != "message":
                    continue
                try:
                    event = orjson.loads(message["data"])
                except orjson.JSONDecodeError:
                    log.warning("ignored a malformed event on %s", self.channel(owner_id))
                    continue
                if isinstance(event, dict):
                    yield event
        finally:
            SUBSCRIPTIONS_OPEN.labels(self.name).dec()
            with contextlib.suppress(Exception):
                await pubsub.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()


def build_bus(redis_url: str | None, prefix: str) -> EventBus:
    """RedisBus with REDIS_URL, else MemoryBus (then only this process's subscribers are reached)."""
    if redis_url:
        return RedisBus(redis_url, prefix)
    log.info("no REDIS_URL: events reach only the subscribers of this process")
    return MemoryBus()
