"""One pooled HTTP client per subgraph, so every fetch reuses warm connections."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import httpx
import orjson

from supergraph import metrics


class SubgraphUnavailable(Exception):
    """The subgraph could not be reached, timed out, or answered something that is not GraphQL."""


class SubgraphClients:
    """Holds `httpx.AsyncClient`s keyed by subgraph URL; close them on shutdown."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._clients: dict[str, httpx.AsyncClient] = {}

    def client(self, url: str) -> httpx.AsyncClient:
        existing = self._clients.get(url)
        if existing is None:
            existing = httpx.AsyncClient(
                timeout=httpx.Timeout(self.timeout_s),
                limits=httpx.Limits(max_connections=100, max_keepalive_connections=50),
            )
            self._clients[url] = existing
        return existing

    async def post(
        self,
        subgraph: str,
        url: str,
        query: str,
        variables: Mapping[str, Any] | None,
        headers: Mapping[str, str],
    ) -> dict[str, Any]:
        """Send one GraphQL request; raise SubgraphUnavailable instead of leaking transport errors."""
        body: dict[str, Any] = {"query": query}
        if variables:
            body["variables"] = variables
        started = time.perf_counter()
        try:
            response = await self.client(url).post(
                url,
                content=orjson.dumps(body),
                headers={"content-type": "application/json", "accept": "application/json", **headers},
            )
        except httpx.TimeoutException as exc:
            metrics.SUBGRAPH_ERRORS.labels(subgraph=subgraph).inc()
            raise SubgraphUnavailable(f"subgraph '{subgraph}' timed out") from exc
        except httpx.HTTPError as exc:
            metrics.SUBGRAPH_ERRORS.labels(subgraph=subgraph).inc()
            raise SubgraphUnavailable(f"subgraph '{subgraph}' is unreachable") from exc
        finally:
            metrics.SUBGRAPH_LATENCY.labels(subgraph=subgraph).observe(time.perf_counter() - started)
        try:
            payload = orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            metrics.SUBGRAPH_ERRORS.labels(subgraph=subgraph).inc()
            raise SubgraphUnavailable(
                f"subgraph '{subgraph}' answered HTTP {response.status_code} without a GraphQL body"
            ) from exc
        if not isinstance(payload, dict) or ("data" not in payload and "errors" not in payload):
            metrics.SUBGRAPH_ERRORS.labels(subgraph=subgraph).inc()
            raise SubgraphUnavailable(f"subgraph '{subgraph}' answered HTTP {response.status_code}")
        return payload

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()
