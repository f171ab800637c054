"""The outbox rows a final status writes, in the same local transaction as the status: the history
record (and the receiver's, for a transfer that moved money), the marketplace notice of a settled
PAYMENT. The saga and the reversal both write through it."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from shared.tracing import inject
from subgraphs.transactions.clients import Clients
from subgraphs.transactions.config import TransactionsConfig
from subgraphs.transactions.messages import HistoryNotice, MarketplaceNotice, OutboxNotice
from subgraphs.transactions.models import OutboxMessage, OutboxState, Transaction, TxStatus, TxType


class OutboxRows:
    """Adds the outbox rows of one final status to the caller's session (it commits them)."""

    def __init__(self, *, clients: Clients, config: TransactionsConfig) -> None:
        self.clients = clients
        self.config = config

    def write(self, session: Session, row: Transaction, status: TxStatus, now: datetime) -> None:
        history = HistoryNotice(
            transaction_id=row.transaction_id,
            user_id=row.user_id,
            wallet_id=row.wallet_id,
            amount_minor=row.amount_minor,
            type=row.type,
            status=status.value,
            va_number=row.va_number,
            occurred_at=now,
            direction="OUT",
            counterparty=row.to_username,
        )
        session.add(self.message(row.transaction_id, f"{status.value}", history, now))
        receiver = row.to_user_id if row.type == TxType.TRANSFER else None
        if receiver and receiver != row.user_id and status in (TxStatus.SUCCESS, TxStatus.REVERSED):
            # The receiver's own audit entry: money came in (or, reversed, went back out). A transfer
            # between one's own wallets stays one (outgoing) entry.
            incoming = replace(
                history,
                user_id=receiver,
                wallet_id=row.to_wallet_id,  # set on every TRANSFER (resolved before it was recorded)
                direction="IN",
                counterparty=row.user_username,
            )
            session.add(self.message(row.transaction_id, f"{status.value}:IN", incoming, now))
        if (
            status is TxStatus.SUCCESS
            and row.type == TxType.PAYMENT
            and row.va_number
            and self.clients.marketplace is not None
        ):
            notice = MarketplaceNotice(va_number=row.va_number, status="PAID")
            session.add(self.message(row.transaction_id, "PAID", notice, now))

    def message(self, tx_id: str, tag: str, notice: OutboxNotice, now: datetime) -> OutboxMessage:
        kind = notice.KIND
        # The trace of the request that wrote it, so its delivery joins that trace.
        traced_notice = replace(notice, trace=dict(inject({})))
        return OutboxMessage(
            message_id=str(uuid.uuid4()),
            transaction_id=tx_id,
            kind=kind.value,
            dedup_key=f"{kind.value}:{tx_id}:{tag}",
            payload=traced_notice.to_json(),
            state=OutboxState.PENDING.value,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
            deadline_at=now + timedelta(seconds=self.config.outbox_retry_horizon_s),
        )
