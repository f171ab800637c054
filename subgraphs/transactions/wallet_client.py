"""The calls to the wallet subgraph: the four movements and the lookups the saga and its recovery
need, each with the one scope it requires; results as frozen records in minor units."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.money import format_minor
from shared.scopes import Scope
from subgraphs.transactions.downstream import BoundedClient, _minor
from subgraphs.transactions.records import TransactionRecord


@dataclass(frozen=True)
class LedgerResult:
    transaction_id: str
    wallet_id: str
    direction: str
    amount_minor: int
    balance_after: int
    replayed: bool
    owner_id: str | None = None

    @classmethod
    def parse(cls, data: dict[str, Any]) -> LedgerResult:
        return cls(
            transaction_id=str(data["transactionId"]),
            wallet_id=str(data["walletId"]),
            direction=str(data["direction"]),
            amount_minor=_minor(data["amount"]),
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
    amount_minor: int
    balance_after: int


_LEDGER_FIELDS = "transactionId walletId direction amount balanceAfter replayed ownerId"

TOPUP = f"""
mutation Topup($t: String!, $u: ID!, $w: ID!, $a: Money!) {{
  topupWallet(input: {{transactionId: $t, userId: $u, walletId: $w, amount: $a}}) {{ {_LEDGER_FIELDS} }}
}}"""

DEDUCT = f"""
mutation Deduct($t: String!, $u: ID!, $w: ID!, $a: Money!, $m: ID) {{
  deductWallet(input: {{transactionId: $t, userId: $u, walletId: $w, amount: $a, merchantId: $m}}) {{
    {_LEDGER_FIELDS}
  }}
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


def _movement(tx: TransactionRecord) -> dict[str, str]:
    """The variables a topup or deduct of `tx` shares: its id, user, wallet and amount."""
    return {"t": tx.transaction_id, "u": tx.user_id, "w": tx.wallet_id, "a": format_minor(tx.amount_minor)}


class WalletClient:
    """The wallet's service-only operations; each is idempotent by transaction id (a movement is
    the one of the transaction record it is given)."""

    def __init__(self, client: BoundedClient) -> None:
        self.client = client

    async def topup(self, tx: TransactionRecord) -> LedgerResult:
        """A DEPOSIT: credit `tx`'s wallet with its amount."""
        data = await self.client.execute(TOPUP, _movement(tx), scopes=[Scope.WALLET_CREDIT])
        return LedgerResult.parse(data["topupWallet"])

    async def deduct(self, tx: TransactionRecord) -> LedgerResult:
        """A PAYMENT: debit `tx`'s wallet, paying its merchant's settlement account (the wallet's
        default merchant when `tx.merchant_id` is None)."""
        data = await self.client.execute(
            DEDUCT, {**_movement(tx), "m": tx.merchant_id}, scopes=[Scope.WALLET_DEBIT]
        )
        return LedgerResult.parse(data["deductWallet"])

    async def transfer(self, tx: TransactionRecord) -> TransferResult:
        """A TRANSFER: from `tx`'s wallet to its `to_wallet_id`."""
        data = await self.client.execute(
            TRANSFER,
            {
                "t": tx.transaction_id,
                "u": tx.user_id,
                "f": tx.wallet_id,
                "to": tx.to_wallet_id or "",
                "a": format_minor(tx.amount_minor),
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
                amount_minor=_minor(item["amount"]),
                balance_after=_minor(item["balanceAfter"]),
            )
            for item in data["movementsOf"]
        ]
