"""Subgraph requests: one pooled aiohttp session, and identical in-flight queries sent once.

The client is aiohttp's, chosen by measurement (scripts/bench_gateways.py and README): at 10 and
50 concurrent requests it costs ~0.1 ms of CPU per subgraph request where httpx costs 1.0-1.8 ms
(httpcore rescans its whole pool per request, and its anyio layer retries `import sniffio`).

Deduplication (on by default, `ROUTER_DEDUPLICATE_QUERIES`): while a query with the same subgraph
URL, body (document and variables) and credential-bearing headers is in flight, another identical
fetch waits for that one's answer instead of sending its own. Only queries are merged, never
mutations. The request id and X-Forwarded-For are not part of the key: they say who asked, not what
the answer is, so the subgraph sees the first caller's. Every caller parses the shared bytes itself,
so no two client requests ever share (and mutate) one decoded object.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp
import orjson
from opentelemetry.trace import SpanKind

from shared.tracing import inject, span
from supergraph import metrics
from supergraph.errors import SubgraphUnavailable as SubgraphUnavailable  # re-exported

# Headers that describe the caller, not the request; they do not split deduplication.
NOT_IN_DEDUP_KEY = frozenset({"x-request-id", "x-forwarded-for"})
# A pooled connection idle this long is dropped by us before a server (Node, uvicorn: 5 s) drops it.
KEEPALIVE_S = 4.0
MAX_CONNECTIONS_PER_HOST = 100
BASE_HEADERS = {"content-type": "application/json", "accept": "application/json"}


class _Answer:
    """A subgraph's raw answer, shared by every caller of a deduplicated fetch."""

    __slots__ = ("body", "status")

    def __init__(self, status: int, body: bytes) -> None:
        self.status = status
        self.body = body


class SubgraphClients:
    """The router's HTTP client for every subgraph; `aclose()` on shutdown."""

    def __init__(
        self,
        timeout_s: float,
        *,
        deduplicate: bool = True,
        credential: Callable[[], Mapping[str, str]] | None = None,
    ) -> None:
        """`credential`: the router's own headers for every subgraph (X-Router-Token), fresh each call."""
        self.timeout_s = timeout_s
        self.deduplicate = deduplicate
        self.credential = credential
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._inflight: dict[tuple[Any, ...], asyncio.Future[_Answer]] = {}

    def session(self) -> aiohttp.ClientSession:
        """The pooled session of the running event loop (created on first use)."""
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._loop is not loop:
            connector = aiohttp.TCPConnector(
                limit=0, limit_per_host=MAX_CONNECTIONS_PER_HOST, keepalive_timeout=KEEPALIVE_S
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=self.timeout_s),
                skip_auto_headers=("User-Agent",),
                auto_decompress=True,
            )
            self._loop = loop
        return self._session

    async def post(
        self,
        subgraph: str,
        url: str,
        query: str,
        variables: Mapping[str, Any] | None,
        headers: Mapping[str, str],
        *,
        is_query: bool = True,
    ) -> dict[str, Any]:
        """Send one GraphQL request; SubgraphUnavailable instead of transport errors."""
        body: dict[str, Any] = {"query": query}
        if variables:
            body["variables"] = variables
        content = orjson.dumps(body)
        if self.deduplicate and is_query:
            key = (url, content, *sorted(kv for kv in headers.items() if kv[0] not in NOT_IN_DEDUP_KEY))
            shared = self._inflight.get(key)
            if shared is None:
                shared = asyncio.ensure_future(self._send(subgraph, url, content, headers, retry=True))
                self._inflight[key] = shared
                shared.add_done_callback(lambda done, k=key: self._settled(k, done))
            else:
                metrics.SUBGRAPH_DEDUPLICATED.labels(subgraph=subgraph).inc()
            # shielded: a client that goes away must not cancel the fetch others are waiting for
            answer = await asyncio.shield(shared)
        else:
            answer = await self._send(subgraph, url, content, headers, retry=is_query)
        return _decode(subgraph, answer)

    def _settled(self, key: tuple[Any, ...], done: asyncio.Future[_Answer]) -> None:
        self._inflight.pop(key, None)
        if not done.cancelled():
            done.exception()  # retrieved here, so a fetch whose callers all left logs no warning

    async def _send(
        self, subgraph: str, url: str, content: bytes, headers: Mapping[str, str], *, retry: bool
    ) -> _Answer:
        with span(f"fetch {subgraph}", kind=SpanKind.CLIENT, attributes={"sawit.subgraph": subgraph}):
            return await self._send_traced(subgraph, url, content, headers, retry=retry)

    async def _send_traced(
        self, subgraph: str, url: str, content: bytes, headers: Mapping[str, str], *, retry: bool
    ) -> _Answer:
        started = time.perf_counter()
        try:
            try:
                return await self._exchange(url, content, headers)
            except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError):
                # A pooled connection the server had just closed; a query is safe to send again.
                if not retry:
                    raise
                return await self._exchange(url, content, headers)
        except TimeoutError as exc:
            metrics.SUBGRAPH_ERRORS.labels(subgraph=subgraph).inc()
            raise SubgraphUnavailable(f"subgraph '{subgraph}' timed out") from exc
        except aiohttp.ClientError as exc:
            metrics.SUBGRAPH_ERRORS.labels(subgraph=subgraph).inc()
            raise SubgraphUnavailable(f"subgraph '{subgraph}' is unreachable") from exc
        finally:
            metrics.SUBGRAPH_LATENCY.labels(subgraph=subgraph).observe(time.perf_counter() - started)

    def router_headers(self) -> Mapping[str, str]:
        return self.credential() if self.credential is not None else {}

    async def _exchange(self, url: str, content: bytes, headers: Mapping[str, str]) -> _Answer:
        sent = inject({**BASE_HEADERS, **headers, **self.router_headers()})
        async with self.session().post(url, data=content, headers=sent) as response:
            return _Answer(response.status, await response.read())

    async def probe(self, url: str, timeout_s: float = 2.0) -> bool:
        """True when the subgraph answers `{ __typename }` without a server error (for /ready)."""
        try:
            async with self.session().post(
                url,
                data=b'{"query":"{ __typename }"}',
                headers={**BASE_HEADERS, **self.router_headers()},
                timeout=aiohttp.ClientTimeout(total=timeout_s),
            ) as response:
                await response.read()
                return response.status < 500
        except (TimeoutError, aiohttp.ClientError):
            return False

    async def aclose(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None


def _decode(subgraph: str, answer: _Answer) -> dict[str, Any]:
    try:
        payload = orjson.loads(answer.body)
    except orjson.JSONDecodeError as exc:
        metrics.SUBGRAPH_ERRORS.labels(subgraph=subgraph).inc()
        raise SubgraphUnavailable(
            f"subgraph '{subgraph}' answered HTTP {answer.status} without a GraphQL body"
        ) from exc
    if not isinstance(payload, dict) or ("data" not in payload and "errors" not in payload):
        metrics.SUBGRAPH_ERRORS.labels(subgraph=subgraph).inc()
        raise SubgraphUnavailable(f"subgraph '{subgraph}' answered HTTP {answer.status}")
    return payload
