"""The plain values the wallet service hands out, and how rows and recorded results become them.

One job: the frozen records (a wallet, a ledger entry, a movement, a transfer, the input an
idempotency record remembers), the tables they are read from, and the row/JSON -> record helpers the
other modules share. No rules, no database access.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.clock import as_utc
from subgraphs.wallet.models import (
    AccountKind,
    Direction,
    LedgerEntry,
    OperationKind,
    SettlementBatch,
    SettlementItem,
    Wallet,
    WalletOperation,
    WalletStatus,
)

wallets_t = Wallet.__table__  # type: ignore[attr-defined]
entries_t = LedgerEntry.__table__  # type: ignore[attr-defined]
operations_t = WalletOperation.__table__  # type: ignore[attr-defined]
batches_t = SettlementBatch.__table__  # type: ignore[attr-defined]
items_t = SettlementItem.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class WalletRecord:
    """A wallet as the service hands it out (a plain value, no open session behind it)."""

    wallet_id: str
    owner_id: str
    name: str
    balance: int
    status: WalletStatus
    version: int
    created_at: datetime
    updated_at: datetime
    incoming_month: str | None = None
    incoming_month_minor: int = 0
    kind: AccountKind = AccountKind.CUSTOMER

    def received_in(self, month: str) -> int:
        """What the wallet received (top-ups, incoming transfers) in `month` ("YYYY-MM")."""
        return self.incoming_month_minor if self.incoming_month == month else 0


@dataclass(frozen=True)
class EntryRecord:
    """One ledger entry."""

    entry_id: str
    wallet_id: str
    transaction_id: str
    direction: Direction
    amount_minor: int
    balance_after: int
    created_at: datetime


@dataclass(frozen=True)
class WalletOwnerRecord:
    """Who owns a wallet and its status (the contract's `WalletOwner`, for services)."""

    wallet_id: str
    owner_id: str
    status: WalletStatus


@dataclass(frozen=True)
class LedgerMove:
    """What one transaction id did to one wallet (the contract's `LedgerResult`); `owner_id` is the
    owner of that wallet, so a caller learns who paid or received without another look-up."""

    transaction_id: str
    wallet_id: str
    owner_id: str
    direction: Direction
    amount_minor: int
    balance_after: int
    replayed: bool = False
    entry_id: str | None = None  # the ledger entry it appended (None for a replay)
    created_at: datetime | None = None


@dataclass(frozen=True)
class TransferMove:
    """Both sides of a transfer, posted in one database transaction."""

    transaction_id: str
    debit: LedgerMove
    credit: LedgerMove
    replayed: bool = False


@dataclass(frozen=True)
class Request:
    """The input an idempotency record remembers, to tell a replay from a reused key."""

    kind: OperationKind
    user_id: str | None = None
    wallet_id: str | None = None
    to_wallet_id: str | None = None
    amount_minor: int | None = None
    reverses_transaction_id: str | None = None


def wallet_from_row(row: Any) -> WalletRecord:
    return WalletRecord(
        wallet_id=row.wallet_id,
        owner_id=row.owner_id,
        name=row.name,
        balance=int(row.balance),
        status=WalletStatus(row.status),
        version=int(row.version),
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
        incoming_month=row.incoming_month,
        incoming_month_minor=int(row.incoming_month_minor),
        kind=AccountKind(row.kind),
    )


def entry_from_row(row: Any) -> EntryRecord:
    return EntryRecord(
        entry_id=row.entry_id,
        wallet_id=row.wallet_id,
        transaction_id=row.transaction_id,
        direction=Direction(row.direction),
        amount_minor=int(row.amount_minor),
        balance_after=int(row.balance_after),
        created_at=as_utc(row.created_at),
    )


def month_start(moment: datetime) -> datetime:
    """The first instant of the calendar month (UTC) that `moment` falls in."""
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def month_key(moment: datetime) -> str:
    """The calendar month (UTC) of `moment` as the wallet's incoming counter names it: "YYYY-MM"."""
    return moment.strftime("%Y-%m")


def move_to_json(move: LedgerMove) -> dict[str, Any]:
    """The stored form of a move in an idempotency record (its keys are a stored format: "amount"
    is in minor units, as written since the first release)."""
    return {
        "wallet_id": move.wallet_id,
        "direction": move.direction.value,
        "amount": move.amount_minor,
        "balance_after": move.balance_after,
        "owner_id": move.owner_id,
    }


def moves_from_json(transaction_id: str, text: str, owners: Mapping[str, str]) -> list[LedgerMove]:
    """The recorded moves of a replay. A record written before owners were kept takes the owner from
    `owners`, the wallets the replay locked (exactly those the original moved; an owner never changes)."""
    return [
        LedgerMove(
            transaction_id=transaction_id,
            wallet_id=item["wallet_id"],
            owner_id=item.get("owner_id") or owners[item["wallet_id"]],
            direction=Direction(item["direction"]),
            amount_minor=int(item["amount"]),
            balance_after=int(item["balance_after"]),
            replayed=True,
        )
        for item in json.loads(text)
    ]


def with_balance(wallet: WalletRecord, balance: int) -> WalletRecord:
    return dataclasses.replace(wallet, balance=balance, version=wallet.version + 1)


def move_of(moves: list[LedgerMove], wallet_id: str) -> LedgerMove:
    """The move of one account among a movement's moves (the customer's side of a top-up/payment)."""
    return next(move for move in moves if move.wallet_id == wallet_id)


def transfer_of(transaction_id: str, moves: list[LedgerMove], *, replayed: bool) -> TransferMove:
    debit = next(move for move in moves if move.direction == Direction.DEBIT)
    credit = next(move for move in moves if move.direction == Direction.CREDIT)
    return TransferMove(transaction_id, debit, credit, replayed=replayed)
