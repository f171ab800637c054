"""How the sandbox marketplace asks the wallet for a VA: the public `generateInvoiceVA` mutation.

Exactly as marketplace.md section 1 says: no Authorization header, the amount inlined as a literal
(a JSON number), the answer read as a plain string; any failure gives `OFFLINE-<millis>`.
"""

from __future__ import annotations

import json
import logging

import httpx

from scripts.sandbox.store import offline_va

log = logging.getLogger(__name__)

DESCRIPTION = "Order BlackDoctrine"


def amount_literal(total: float) -> str:
    """The amount as the marketplace inlines it: its Float `totalHarga` (e.g. `30000.0`)."""
    return repr(float(total))


def invoice_mutation(total: float) -> str:
    return (
        "mutation {\n"
        f"  generateInvoiceVA(amount: {amount_literal(total)}, description: {json.dumps(DESCRIPTION)})\n"
        "}"
    )


class WalletGateway:
    """One HTTP client to the wallet's public endpoint; `request_va` never raises."""

    def __init__(
        self, url: str, *, timeout_s: float = 5.0, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.url = url
        self._http = httpx.AsyncClient(timeout=httpx.Timeout(timeout_s), transport=transport)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def request_va(self, total: float) -> str:
        """The wallet's VA for this amount, or `OFFLINE-<millis>` when the wallet cannot give one."""
        try:
            response = await self._http.post(
                self.url,
                json={"query": invoice_mutation(total)},
                headers={"content-type": "application/json", "accept": "application/json"},
            )
            body = response.json()
            va = (body.get("data") or {}).get("generateInvoiceVA")
            if response.status_code == 200 and isinstance(va, str) and va.strip():
                return va.strip()
            log.warning("wallet gave no VA (HTTP %s): %s", response.status_code, json.dumps(body)[:500])
        except (httpx.HTTPError, ValueError, AttributeError) as exc:
            log.warning("wallet unreachable for VA: %s: %s", type(exc).__name__, exc)
        return offline_va()
