"""Throttles: one contract in memory and in Redis; in Redis every replica shares one window, counted
atomically, and a Redis outage fails the way RATE_LIMIT_REDIS_FAILURE says."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis import asyncio as aioredis

from shared.throttle import MemoryThrottle, RedisThrottle, Throttle, Throttles
from tests.support.procs import free_port
from tests.support.redis import fresh_prefix, redis_url


@pytest.fixture
async def redis_client() -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(redis_url())
    yield client
    await client.aclose()


async def _contract(throttle: Throttle) -> None:
    tickets = [await throttle.acquire("k") for _ in range(3)]
    assert all(tickets)
    assert await throttle.acquire("k") is None
    assert await throttle.acquire("other") is not None
    await throttle.release("k", str(tickets[1]))
    assert await throttle.acquire("k") is not None
    assert await throttle.acquire("k") is None
    await throttle.reset("k")
    assert await throttle.acquire("k") is not None


async def test_the_memory_throttle_counts_releases_and_resets_per_key() -> None:
    await _contract(MemoryThrottle(3, 60))


async def test_the_memory_window_slides() -> None:
    throttle = MemoryThrottle(1, 10)
    assert throttle.acquire_now("k", now=100.0)
    assert throttle.acquire_now("k", now=105.0) is None
    assert throttle.acquire_now("k", now=110.5)


async def test_the_redis_throttle_keeps_the_same_contract(redis_client: aioredis.Redis) -> None:
    await _contract(RedisThrottle(redis_client, "contract", 3, 60, prefix=fresh_prefix("contract")))


async def test_the_redis_window_slides_on_the_servers_clock(redis_client: aioredis.Redis) -> None:
    throttle = RedisThrottle(redis_client, "slide", 1, 0.5, prefix=fresh_prefix("slide"))
    assert await throttle.acquire("k")
    assert await throttle.acquire("k") is None
    await asyncio.sleep(0.6)
    assert await throttle.acquire("k")


async def test_two_replicas_share_one_window_and_concurrent_attempts_never_exceed_it() -> None:
    url, prefix = redis_url(), fresh_prefix("replicas")
    replicas = [Throttles(url, prefix=prefix) for _ in range(2)]
    try:
        windows = [replica.window("login-client", 10, 60) for replica in replicas]
        results = await asyncio.gather(*(windows[i % 2].acquire("203.0.113.7") for i in range(60)))
        assert sum(ticket is not None for ticket in results) == 10
        assert await windows[0].acquire("203.0.113.8") is not None
    finally:
        for replica in replicas:
            await replica.close()


@pytest.mark.parametrize(("mode", "allowed"), [("open", 5), ("closed", 0), ("memory", 2)])
async def test_when_redis_is_down_the_failure_mode_decides(mode: str, allowed: int) -> None:
    down = Throttles(f"redis://127.0.0.1:{free_port()}/0", prefix=fresh_prefix("down"), failure_mode=mode)
    try:
        window = down.window("login-client", 2, 60)
        results = [await window.acquire("k") for _ in range(5)]
        assert sum(ticket is not None for ticket in results) == allowed
    finally:
        await down.close()


def test_an_unknown_failure_mode_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="RATE_LIMIT_REDIS_FAILURE"):
        Throttles("redis://127.0.0.1:1/0", failure_mode="sometimes")


def test_without_redis_url_throttles_stay_in_memory() -> None:
    assert isinstance(Throttles(None).window("x", 1, 1), MemoryThrottle)
