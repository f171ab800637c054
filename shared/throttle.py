"""Sliding-window throttles for failed logins, registrations, invoices and recipient lookups.

In memory per process by default; shared by every replica through Redis when REDIS_URL is set, so
three auth processes give an attacker no more tries than one. Both keep the same contract:

- `acquire(key)` counts one event unless the key is at its limit, atomically (Redis: one Lua
  script on the server's clock), and returns a ticket; None means refused.
- `release(key, ticket)` un-counts that one event (a login that turned out right);
- `reset(key)` forgets the key (an account's failures after a successful login).

When Redis does not answer, RATE_LIMIT_REDIS_FAILURE decides: `memory` (default: this process's
own window carries on, the log says so), `open` (allow) or `closed` (refuse).
"""

from __future__ import annotations

import itertools
import logging
import time
import uuid
from collections import OrderedDict, deque
from typing import Protocol

from redis import asyncio as aioredis
from redis.exceptions import RedisError

from shared.settings import Settings

log = logging.getLogger(__name__)

FAILURE_MODES = ("memory", "open", "closed")


class Throttle(Protocol):
    limit: int
    window_s: float

    async def acquire(self, key: str) -> str | None: ...

    async def release(self, key: str, ticket: str) -> None: ...

    async def reset(self, key: str) -> None: ...


class MemoryThrottle:
    """This process's window; the number of tracked keys is bounded so an attacker cycling keys
    cannot grow memory without limit."""

    def __init__(self, limit: int, window_s: float, max_keys: int = 100_000) -> None:
        self.limit = limit
        self.window_s = window_s
        self.max_keys = max_keys
        self._events: OrderedDict[str, deque[tuple[float, str]]] = OrderedDict()
        self._tickets = itertools.count()

    def _trim(self, key: str, now: float) -> deque[tuple[float, str]]:
        events = self._events.get(key)
        if events is None:
            events = deque()
            self._events[key] = events
            while len(self._events) > self.max_keys:
                self._events.popitem(last=False)
        self._events.move_to_end(key)
        while events and now - events[0][0] > self.window_s:
            events.popleft()
        return events

    def acquire_now(self, key: str, now: float | None = None) -> str | None:
        moment = time.monotonic() if now is None else now
        events = self._trim(key, moment)
        if len(events) >= self.limit:
            return None
        ticket = str(next(self._tickets))
        events.append((moment, ticket))
        return ticket

    async def acquire(self, key: str) -> str | None:
        return self.acquire_now(key)

    async def release(self, key: str, ticket: str) -> None:
        events = self._events.get(key)
        if events is not None:
            for entry in events:
                if entry[1] == ticket:
                    events.remove(entry)
                    break

    async def reset(self, key: str) -> None:
        self._events.pop(key, None)


# KEYS[1] the window; ARGV: window in ms, limit, ticket. The server's clock, so replicas agree.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], window)
return 1
"""


class RedisThrottle:
    """The same window in a Redis sorted set per key (members: tickets, scores: ms)."""

    def __init__(
        self,
        client: aioredis.Redis,
        name: str,
        limit: int,
        window_s: float,
        *,
        prefix: str = "sawit:throttle:",
        failure_mode: str = "memory",
    ) -> None:
        if failure_mode not in FAILURE_MODES:
            raise ValueError(f"RATE_LIMIT_REDIS_FAILURE must be one of {', '.join(FAILURE_MODES)}")
        self.client = client
        self.limit = limit
        self.window_s = window_s
        self.namespace = f"{prefix}{name}:"
        self.failure_mode = failure_mode
        self.fallback = MemoryThrottle(limit, window_s)
        self._script = client.register_script(_ACQUIRE)
        self._warned = False

    def _down(self, exc: Exception) -> None:
        if not self._warned:
            log.warning(
                "Redis throttle %s unavailable (%s); failing %s", self.namespace, exc, self.failure_mode
            )
            self._warned = True

    async def acquire(self, key: str) -> str | None:
        ticket = uuid.uuid4().hex
        try:
            allowed = await self._script(
                keys=[self.namespace + key], args=[int(self.window_s * 1000), self.limit, ticket]
            )
        except (RedisError, OSError) as exc:
            self._down(exc)
            if self.failure_mode == "open":
                return "open"
            if self.failure_mode == "closed":
                return None
            local = await self.fallback.acquire(key)
            return None if local is None else f"local:{local}"
        self._warned = False
        return ticket if int(allowed) == 1 else None

    async def release(self, key: str, ticket: str) -> None:
        if ticket == "open":
            return
        if ticket.startswith("local:"):
            await self.fallback.release(key, ticket.removeprefix("local:"))
            return
        try:
            await self.client.zrem(self.namespace + key, ticket)
        except (RedisError, OSError) as exc:
            self._down(exc)

    async def reset(self, key: str) -> None:
        await self.fallback.reset(key)
        try:
            await self.client.delete(self.namespace + key)
        except (RedisError, OSError) as exc:
            self._down(exc)


class Throttles:
    """Builds every throttle of a process from one Redis connection pool (or none)."""

    def __init__(
        self, redis_url: str | None, *, prefix: str = "sawit:throttle:", failure_mode: str = "memory"
    ) -> None:
        if failure_mode not in FAILURE_MODES:
            raise ValueError(f"RATE_LIMIT_REDIS_FAILURE must be one of {', '.join(FAILURE_MODES)}")
        self.prefix = prefix
        self.failure_mode = failure_mode
        self.client = (
            aioredis.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
            if redis_url
            else None
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> Throttles:
        """REDIS_URL, RATE_LIMIT_REDIS_PREFIX and RATE_LIMIT_REDIS_FAILURE."""
        return cls(
            settings.redis_url,
            prefix=settings.rate_limit_redis_prefix,
            failure_mode=settings.rate_limit_redis_failure.strip().lower(),
        )

    def window(self, name: str, limit: int, window_s: float) -> Throttle:
        if self.client is None:
            return MemoryThrottle(limit, window_s)
        return RedisThrottle(
            self.client, name, limit, window_s, prefix=self.prefix, failure_mode=self.failure_mode
        )

    async def close(self) -> None:
        if self.client is not None:
            await self.client.aclose()
