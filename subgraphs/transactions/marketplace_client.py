"""The external marketplace (marketplace.md): no credential, and its numbers are parsed as Decimal
from the JSON text (never through a float) so `totalHarga` compares exactly."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.client import SubgraphClient
from shared.errors import ErrorCode
from shared.money import MoneyError, json_number_to_minor


@dataclass(frozen=True)
class MarketplaceOrder:
    order_id: str
    total_minor: int | None  # None when totalHarga is not a valid amount (more than 2 decimals, ...)
    status: str | None
    payment_status: str | None

    @property
    def is_paid(self) -> bool:
        return (self.payment_status or "").upper() == "PAID"


GET_ORDER_BY_VA = """
query ($va: String!) {
  getOrderByVA(vaNumber: $va) { id totalHarga status paymentStatus }
}"""

UPDATE_PAYMENT_STATUS = """
mutation ($va: String!, $s: String!) {
  updatePaymentStatus(vaNumber: $va, status: $s)
}"""


class MarketplaceClient:
    """The external marketplace (marketplace.md); failures are MARKETPLACE_UNAVAILABLE (retriable)."""

    def __init__(self, url: str, *, timeout_s: float) -> None:
        self.url = url
        self._client = SubgraphClient(
            "marketplace",
            url,
            timeout_s=timeout_s,
            max_connections=20,
            unavailable_code=ErrorCode.MARKETPLACE_UNAVAILABLE,
            foreign=True,
            exact_numbers=True,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _execute(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        return await self._client.execute(query, variables)

    async def get_order_by_va(self, va_number: str) -> MarketplaceOrder | None:
        data = await self._execute(GET_ORDER_BY_VA, {"va": va_number})
        order = data.get("getOrderByVA")
        if order is None:
            return None
        raw_total = order.get("totalHarga")
        total: int | None
        try:
            # A JSON float, summed in JavaScript: within float error of whole sen it is those sen.
            total = None if raw_total is None else int(json_number_to_minor(raw_total))
        except (MoneyError, ArithmeticError, ValueError, TypeError):
            total = None
        return MarketplaceOrder(
            order_id=str(order.get("id")),
            total_minor=total,
            status=order.get("status"),
            payment_status=order.get("paymentStatus"),
        )

    async def update_payment_status(
        self,
        va_number: str,
        status: str = "PAID",
        *,
        idempotency_key: str | None = None,
        transaction_id: str | None = None,
    ) -> bool:
        """True when the marketplace acknowledged the notice; False means it did not (retry).

        `idempotency_key` (the outbox message id, the same on every retry) goes out as the
        `Idempotency-Key` header and the transaction id as `X-Transaction-Id`, so the marketplace
        can drop a repeated notice."""
        headers = {}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        if transaction_id:
            headers["X-Transaction-Id"] = transaction_id
        data = await self._client.execute(
            UPDATE_PAYMENT_STATUS, {"va": va_number, "s": status}, headers=headers
        )
        return data.get("updatePaymentStatus") is True
