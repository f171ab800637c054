"""Every call the transactions subgraph makes to another service, typed, in one place.

Wallet, fraud and history are called at their subgraph URLs through the shared `SubgraphClient`
with this service's own short-lived token (`ServiceTokenMinter("transactions")`) carrying exactly
the scope each operation needs (README: "Service credentials"). Input objects are written inline
with one variable per field, so the callee's input type names do not matter. Money goes out as a
decimal string (exact) and comes back as minor units.

The marketplace is external and speaks marketplace.md: no credential, and its numbers are parsed
as Decimal from the JSON text (never through a float) so `totalHarga` compares exactly.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from shared.client import SubgraphClient
from shared.errors import ErrorCode
from shared.money import MoneyError, decimal_to_minor, format_minor, json_number_to_minor
from shared.scopes import Scope
from shared.security import ServiceTokenMinter
from shared.settings import Settings

log = logging.getLogger(__name__)


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


# ----------------------------------------------------------------------------------------- wallet


@dataclass(frozen=True)
class LedgerResult:
    transaction_id: str
    wallet_id: str
    direction: str
    amount: int
    balance_after: int
    replayed: bool
    owner_id: str | None = None

    @classmethod
    def parse(cls, data: dict[str, Any]) -> LedgerResult:
        return cls(
            transaction_id=str(data["transactionId"]),
            wallet_id=str(data["walletId"]),
            direction=str(data["direction"]),
            amount=_minor(data["amount"]),
            balance_after=_minor(data["balanceAfter"]),
            replayed=bool(data.get("replayed", False)),
            owner_id=str(data["ownerId"]) if data.get("ownerId") else None,
        )


@dataclass(frozen=True)
class WalletOwner:
    wallet_id: str
    owner_id: str
    status: str


@dataclass(frozen=True)
class TransferResult:
    transaction_id: str
    debit: LedgerResult
    credit: LedgerResult
    replayed: bool


@dataclass(frozen=True)
class LedgerEntry:
    entry_id: str
    wallet_id: str
    transaction_id: str
    direction: str
    amount: int
    balance_after: int


_LEDGER_FIELDS = "transactionId walletId direction amount balanceAfter replayed ownerId"

TOPUP = f"""
mutation Topup($t: String!, $u: ID!, $w: ID!, $a: Money!) {{
  topupWallet(input: {{transactionId: $t, userId: $u, walletId: $w, amount: $a}}) {{ {_LEDGER_FIELDS} }}
}}"""

DEDUCT = f"""
mutation Deduct($t: String!, $u: ID!, $w: ID!, $a: Money!) {{
  deductWallet(input: {{transactionId: $t, userId: $u, walletId: $w, amount: $a}}) {{ {_LEDGER_FIELDS} }}
}}"""

TRANSFER = f"""
mutation Transfer($t: String!, $u: ID!, $f: ID!, $to: ID!, $a: Money!) {{
  transferWallet(input: {{transactionId: $t, userId: $u, fromWalletId: $f, toWalletId: $to, amount: $a}}) {{
    transactionId replayed
    debit {{ {_LEDGER_FIELDS} }}
    credit {{ {_LEDGER_FIELDS} }}
  }}
}}"""

REVERSE = f"""
mutation Reverse($t: String!, $r: String!) {{
  reverseLedger(input: {{transactionId: $t, reversalId: $r}}) {{ {_LEDGER_FIELDS} }}
}}"""

WALLET_OWNER = """
query WalletOwner($w: ID!) { walletOwner(walletId: $w) { walletId ownerId status } }"""

DEFAULT_WALLET = """
query DefaultWallet($u: ID!) { defaultWalletOf(userId: $u) }"""

MOVEMENTS = """
query Movements($t: String!) {
  movementsOf(transactionId: $t) { entryId walletId transactionId direction amount balanceAfter }
}"""


class WalletClient:
    """The wallet's service-only operations; each is idempotent by transaction id."""

    def __init__(self, client: BoundedClient) -> None:
        self.client = client

    async def topup(self, *, transaction_id: str, user_id: str, wallet_id: str, amount: int) -> LedgerResult:
        data = await self.client.execute(
            TOPUP,
            {"t": transaction_id, "u": user_id, "w": wallet_id, "a": format_minor(amount)},
            scopes=[Scope.WALLET_CREDIT],
        )
        return LedgerResult.parse(data["topupWallet"])

    async def deduct(self, *, transaction_id: str, user_id: str, wallet_id: str, amount: int) -> LedgerResult:
        data = await self.client.execute(
            DEDUCT,
            {"t": transaction_id, "u": user_id, "w": wallet_id, "a": format_minor(amount)},
            scopes=[Scope.WALLET_DEBIT],
        )
        return LedgerResult.parse(data["deductWallet"])

    async def transfer(
        self, *, transaction_id: str, user_id: str, from_wallet_id: str, to_wallet_id: str, amount: int
    ) -> TransferResult:
        data = await self.client.execute(
            TRANSFER,
            {
                "t": transaction_id,
                "u": user_id,
                "f": from_wallet_id,
                "to": to_wallet_id,
                "a": format_minor(amount),
            },
            scopes=[Scope.WALLET_TRANSFER],
        )
        result = data["transferWallet"]
        return TransferResult(
            transaction_id=str(result["transactionId"]),
            debit=LedgerResult.parse(result["debit"]),
            credit=LedgerResult.parse(result["credit"]),
            replayed=bool(result.get("replayed", False)),
        )

    async def reverse_ledger(self, *, transaction_id: str, reversal_id: str) -> list[LedgerResult]:
        data = await self.client.execute(
            REVERSE, {"t": transaction_id, "r": reversal_id}, scopes=[Scope.WALLET_REVERSE]
        )
        return [LedgerResult.parse(item) for item in data["reverseLedger"]]

    async def owner_of(self, wallet_id: str) -> WalletOwner | None:
        """Who owns a wallet (None: no such wallet)."""
        data = await self.client.execute(WALLET_OWNER, {"w": wallet_id}, scopes=[Scope.WALLET_READ])
        found = data.get("walletOwner")
        if not found:
            return None
        return WalletOwner(str(found["walletId"]), str(found["ownerId"]), str(found["status"]))

    async def default_wallet_of(self, user_id: str) -> str | None:
        """The wallet that receives money sent to a user by name (None: they have none)."""
        data = await self.client.execute(DEFAULT_WALLET, {"u": user_id}, scopes=[Scope.WALLET_READ])
        found = data.get("defaultWalletOf")
        return str(found) if found else None

    async def movements_of(self, transaction_id: str) -> list[LedgerEntry]:
        data = await self.client.execute(MOVEMENTS, {"t": transaction_id}, scopes=[Scope.WALLET_READ])
        return [
            LedgerEntry(
                entry_id=str(item["entryId"]),
                wallet_id=str(item["walletId"]),
                transaction_id=str(item["transactionId"]),
                direction=str(item["direction"]),
                amount=_minor(item["amount"]),
                balance_after=_minor(item["balanceAfter"]),
            )
            for item in data["movementsOf"]
        ]


# ------------------------------------------------------------------------------------------ fraud


@dataclass(frozen=True)
class FraudVerdict:
    log_id: str
    status: str  # SAFE | SUSPICIOUS | FRAUD
    score: int
    reason: str

    @property
    def is_fraud(self) -> bool:
        return self.status == "FRAUD"

    @property
    def is_suspicious(self) -> bool:
        return self.status == "SUSPICIOUS"


CHECK_FRAUD = """
mutation CheckFraud($t: String!, $u: ID!, $w: ID!, $a: Money!, $type: String!, $va: String) {
  checkFraud(input: {transactionId: $t, userId: $u, walletId: $w, amount: $a, type: $type, vaNumber: $va}) {
    logId status score reason
  }
}"""


class FraudClient:
    """The fraud subgraph's verdict for one transaction (idempotent by transaction id)."""

    def __init__(self, client: BoundedClient) -> None:
        self.client = client

    async def check(
        self,
        *,
        transaction_id: str,
        user_id: str,
        wallet_id: str,
        amount: int,
        type: str,
        va_number: str | None,
    ) -> FraudVerdict:
        data = await self.client.execute(
            CHECK_FRAUD,
            {
                "t": transaction_id,
                "u": user_id,
                "w": wallet_id,
                "a": format_minor(amount),
                "type": type,
                "va": va_number,
            },
            scopes=[Scope.FRAUD_CHECK],
        )
        log_ = data["checkFraud"]
        return FraudVerdict(
            log_id=str(log_["logId"]),
            status=str(log_["status"]),
            score=int(log_.get("score") or 0),
            reason=str(log_.get("reason") or ""),
        )


# ---------------------------------------------------------------------------------------- history

ADD_HISTORY = """
mutation AddHistory($t: String!, $u: ID!, $w: ID!, $a: Money!, $type: String!, $s: String!,
                    $va: String, $at: DateTime!, $d: String!, $c: String) {
  addHistory(input: {transactionId: $t, userId: $u, walletId: $w, amount: $a, type: $type, status: $s,
                     vaNumber: $va, occurredAt: $at, direction: $d, counterparty: $c}) { historyId }
}"""


class HistoryClient:
    """Appends to the audit trail (idempotent by (transaction id, status))."""

    def __init__(self, client: BoundedClient) -> None:
        self.client = client

    async def add(
        self,
        *,
        transaction_id: str,
        user_id: str,
        wallet_id: str,
        amount: int,
        type: str,
        status: str,
        va_number: str | None,
        occurred_at: datetime,
        direction: str = "OUT",
        counterparty: str | None = None,
    ) -> str:
        data = await self.client.execute(
            ADD_HISTORY,
            {
                "t": transaction_id,
                "u": user_id,
                "w": wallet_id,
                "a": format_minor(amount),
                "type": type,
                "s": status,
                "va": va_number,
                "at": occurred_at.isoformat(),
                "d": direction,
                "c": counterparty,
            },
            scopes=[Scope.HISTORY_WRITE],
        )
        return str(data["addHistory"]["historyId"])


# ------------------------------------------------------------------------------------------- auth


@dataclass(frozen=True)
class UserLookup:
    user_id: str
    username: str
    fullname: str


LOOKUP_USER = """
query LookupUser($n: String, $i: ID) { lookupUser(username: $n, id: $i) { id username fullname } }"""


class AuthClient:
    """Finds users by username or id (service-only, scope auth:lookup)."""

    def __init__(self, client: BoundedClient) -> None:
        self.client = client

    async def lookup(self, *, username: str | None = None, user_id: str | None = None) -> UserLookup | None:
        data = await self.client.execute(
            LOOKUP_USER, {"n": username, "i": user_id}, scopes=[Scope.AUTH_LOOKUP]
        )
        found = data.get("lookupUser")
        if not found:
            return None
        return UserLookup(str(found["id"]), str(found["username"]), str(found["fullname"]))


# ------------------------------------------------------------------------------------ marketplace


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


# ------------------------------------------------------------------------------------------- all


@dataclass
class Clients:
    """The transactions subgraph's outbound clients, one per target, reused for every call."""

    wallet: WalletClient
    fraud: FraudClient
    history: HistoryClient
    marketplace: MarketplaceClient | None
    _raw: list[BoundedClient]
    auth: AuthClient | None = None

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        marketplace_url: str | None,
        marketplace_timeout_s: float,
        max_in_flight: int = 8,
    ) -> Clients:
        minter = ServiceTokenMinter("transactions", settings)
        timeout = settings.subgraph_timeout_s

        def client(name: str) -> BoundedClient:
            raw = SubgraphClient(name, settings.url_of(name), timeout_s=timeout, minter=minter)
            return BoundedClient(raw, max_in_flight)

        wallet, fraud, history, auth = client("wallet"), client("fraud"), client("history"), client("auth")
        marketplace = (
            MarketplaceClient(marketplace_url, timeout_s=marketplace_timeout_s) if marketplace_url else None
        )
        return cls(
            wallet=WalletClient(wallet),
            fraud=FraudClient(fraud),
            history=HistoryClient(history),
            marketplace=marketplace,
            _raw=[wallet, fraud, history, auth],
            auth=AuthClient(auth),
        )

    async def aclose(self) -> None:
        for client in self._raw:
            await client.aclose()
        if self.marketplace is not None:
            await self.marketplace.aclose()
