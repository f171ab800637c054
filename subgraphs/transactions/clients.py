"""`Clients`: every client the transactions subgraph calls other services with, built once; and the
fraud, history and auth calls (the wallet's: wallet_client.py; the marketplace's: marketplace_client.py).

Wallet, fraud and history are called at their subgraph URLs through the shared `SubgraphClient`
with this service's own short-lived token (`ServiceTokenMinter("transactions")`) carrying exactly
the scope each operation needs (README: "Service credentials"). Input objects are written inline
with one variable per field, so the callee's input type names do not matter. Money goes out as a
decimal string (exact) and comes back as minor units.

The marketplace is external (marketplace_client.py): no credential, exact Decimal numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from shared.client import SubgraphClient
from shared.money import format_minor
from shared.scopes import Scope
from shared.security import ServiceTokenMinter
from shared.settings import Settings
from subgraphs.transactions.downstream import BoundedClient as BoundedClient  # re-exported
from subgraphs.transactions.marketplace_client import MarketplaceClient as MarketplaceClient  # re-exported
from subgraphs.transactions.marketplace_client import MarketplaceOrder as MarketplaceOrder  # re-exported
from subgraphs.transactions.messages import HistoryNotice
from subgraphs.transactions.records import TransactionRecord
from subgraphs.transactions.wallet_client import LedgerEntry as LedgerEntry  # re-exported
from subgraphs.transactions.wallet_client import LedgerResult as LedgerResult  # re-exported
from subgraphs.transactions.wallet_client import TransferResult as TransferResult  # re-exported
from subgraphs.transactions.wallet_client import WalletClient as WalletClient  # re-exported
from subgraphs.transactions.wallet_client import WalletOwner as WalletOwner  # re-exported

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


class _TxFacts(Protocol):
    """What the fraud check and a history entry both say of a transaction (a record, a notice)."""

    @property
    def transaction_id(self) -> str: ...
    @property
    def user_id(self) -> str: ...
    @property
    def wallet_id(self) -> str: ...
    @property
    def amount_minor(self) -> int: ...
    @property
    def type(self) -> str: ...
    @property
    def va_number(self) -> str | None: ...


def _facts(source: _TxFacts) -> dict[str, object]:
    """The variables $t $u $w $a $type $va of CHECK_FRAUD and ADD_HISTORY."""
    return {
        "t": source.transaction_id,
        "u": source.user_id,
        "w": source.wallet_id,
        "a": format_minor(source.amount_minor),
        "type": str(source.type),
        "va": source.va_number,
    }


class FraudClient:
    """The fraud subgraph's verdict for one transaction (idempotent by transaction id)."""

    def __init__(self, client: BoundedClient) -> None:
        self.client = client

    async def check(self, tx: TransactionRecord) -> FraudVerdict:
        data = await self.client.execute(CHECK_FRAUD, _facts(tx), scopes=[Scope.FRAUD_CHECK])
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

    async def add(self, notice: HistoryNotice) -> str:
        """Deliver one outbox history entry (its user's side: OUT, or a transfer's receiver's IN)."""
        variables = {
            **_facts(notice),
            "s": notice.status,
            "at": notice.occurred_at.isoformat(),
            "d": notice.direction,
            "c": notice.counterparty,
        }
        data = await self.client.execute(ADD_HISTORY, variables, scopes=[Scope.HISTORY_WRITE])
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
