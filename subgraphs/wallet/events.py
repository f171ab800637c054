"""The wallet's events: one per committed movement, to its wallet's owner (after COMMIT, never before)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any

from shared.errors import AppError, ErrorCode
from shared.events import EventBus, EventOverflow
from shared.tokens import Principal
from subgraphs.wallet.records import LedgerMove


class Events:
    """Publishes committed movements on the bus and streams a user's own; no bus: nothing published."""

    def __init__(self, bus: EventBus | None) -> None:
        self.bus = bus

    async def announce(self, moves: Iterable[LedgerMove]) -> None:
        """Publish one event per committed movement to its wallet's owner. Called only after
        `UnitOfWork.run_write` returned, i.e. after COMMIT, so no subscriber ever sees a change that was
        rolled back; a replay moved nothing new and announces nothing."""
        if self.bus is None:
            return
        for move in moves:
            if move.replayed or move.entry_id is None:
                continue
            await self.bus.publish(move.owner_id, _event_of(move))

    async def events_for(self, viewer: Principal) -> AsyncIterator[dict[str, Any]]:
        """The committed movements of the signed-in user's own wallets, as they happen: the bus
        channel is the user's id, so another user's events never reach this stream."""
        if self.bus is None:
            raise AppError(ErrorCode.INTERNAL, "Wallet events are not available")
        try:
            async for event in self.bus.subscribe(viewer.user_id):
                if event.get("ownerId") == viewer.user_id:
                    yield event
        except EventOverflow as exc:
            raise AppError(ErrorCode.INTERNAL, "The event stream fell behind; subscribe again") from exc


def _event_of(move: LedgerMove) -> dict[str, Any]:
    """A committed movement as the bus carries it (JSON: amounts in minor units)."""
    return {
        "ownerId": move.owner_id,
        "walletId": move.wallet_id,
        "transactionId": move.transaction_id,
        "entryId": move.entry_id,
        "direction": move.direction.value,
        "amount": move.amount_minor,
        "balanceAfter": move.balance_after,
        "createdAt": move.created_at.isoformat() if move.created_at else None,
    }
