"""The bulkhead every call to another subgraph goes through, and the Money decoding they share."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from shared.client import SubgraphClient
from shared.money import decimal_to_minor


def _minor(value: Any) -> int:
    """A Money output ("500000.00") as minor units."""
    return int(decimal_to_minor(Decimal(str(value))))


class BoundedClient:
    """A SubgraphClient with at most `limit` calls in flight (a bulkhead): a burst of sagas queues
    here instead of piling onto the callee, whose SQLite writers would otherwise thrash."""

    def __init__(self, client: SubgraphClient, limit: int) -> None:
        self.client = client
        self._slots = asyncio.Semaphore(limit)

    async def execute(
        self, query: str, variables: dict[str, Any] | None = None, *, scopes: list[str]
    ) -> dict[str, Any]:
        async with self._slots:
            return await self.client.execute(query, variables, scopes=scopes)

    async def aclose(self) -> None:
        await self.client.aclose()
