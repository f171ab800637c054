"""The transactions subgraph's GraphQL API: `Transaction`, `Invoice`, createTransaction and friends.

Resolvers only check who is calling and translate; the saga and every rule live behind the
service.py façade (saga.py, queries.py, ...; see README.md).
Contributes `Wallet.transactions` and `User.transactions` to the wallet- and auth-owned entities.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.dataloader import DataLoader

from shared.context import Context
from shared.errors import AppError, ErrorCode, not_found
from shared.money import Money
from shared.schema import build_schema
from shared.throttle import Throttle
from shared.tokens import Principal
from subgraphs.transactions import models
from subgraphs.transactions.config import TransactionsConfig
from subgraphs.transactions.records import OutboxRecord, TransactionRecord
from subgraphs.transactions.service import RECEIVED_STATUSES, TransactionPage, TransactionService
from subgraphs.transactions.service import CreateTransactionInput as SagaInput
from subgraphs.transactions.types import (
    FailureReason,
    Invoice,
    Notification,
    OutboxMessage,
    TransactionDirection,
    TransactionStatus,
    TransactionType,
)

MERCHANT_KEY_HEADER = "x-merchant-key"


@dataclass(frozen=True)
class TransactionsDeps:
    """What resolvers reach as `info.context.deps`."""

    service: TransactionService
    config: TransactionsConfig
    invoice_limiter: Throttle


Info = strawberry.Info[Context[TransactionsDeps], None]


def _notification_loader(info: Info) -> DataLoader[str, OutboxRecord | None]:
    """One batched lookup per request for the notices of every transaction in the response."""
    return info.context.loader("notification_loader", info.context.deps.service.notifications)


def _may_see(viewer: Principal | None, row: TransactionRecord) -> bool:
    """Its sender, an admin or a service; and the receiver of a transfer that moved money."""
    if viewer is None:
        return False
    if viewer.kind == "service" or viewer.is_admin or viewer.subject == row.user_id:
        return True
    return _received_by(viewer, row)


def _received_by(viewer: Principal | None, row: TransactionRecord) -> bool:
    return (
        viewer is not None
        and viewer.kind == "user"
        and row.type == models.TxType.TRANSFER.value
        and row.to_user_id == viewer.subject
        and row.user_id != viewer.subject
        and row.status in RECEIVED_STATUSES
    )


@strawberry.federation.type(keys=["transactionId"], description="One createTransaction call and its outcome.")
class Transaction:
    transaction_id: strawberry.ID
    wallet_id: strawberry.ID
    amount: Money
    type: TransactionType
    status: TransactionStatus
    va_number: str | None
    to_wallet_id: strawberry.ID | None
    description: str | None
    idempotency_key: str | None
    flagged: bool = strawberry.field(description="The fraud check found it SUSPICIOUS (it still ran)")
    failure_reason: FailureReason | None
    reversal_reason: str | None
    created_at: datetime
    updated_at: datetime
    direction: TransactionDirection = strawberry.field(
        description="OUT: from the caller's wallet; IN: a transfer the caller received (walletId: theirs)"
    )
    counterparty: str | None = strawberry.field(
        description="A transfer's other side, by username: the receiver (OUT) or the sender (IN)"
    )

    @strawberry.field(description="The wallet debited or credited (resolved by the wallet subgraph).")
    def wallet(self) -> Wallet | None:
        return Wallet(wallet_id=self.wallet_id)

    @strawberry.field(description="The marketplace payment notice of a PAYMENT; null when none is sent.")
    async def notification(self, info: Info) -> Notification | None:
        message = await _notification_loader(info).load(str(self.transaction_id))
        return None if message is None else Notification.from_record(message)

    @classmethod
    def from_record(cls, row: TransactionRecord, viewer: Principal | None = None) -> Transaction:
        """The transaction as `viewer` sees it: the receiver of a transfer sees it incoming, on
        their own wallet, with the sender's username and nothing else of the sender's."""
        common = {
            "transaction_id": strawberry.ID(row.transaction_id),
            "amount": row.amount_minor,
            "type": TransactionType(row.type),
            "status": TransactionStatus(row.status),
            "description": row.description,
            "reversal_reason": row.reversal_reason,
            "created_at": row.created_at,
            "updated_at": row.updated_at,
        }
        if _received_by(viewer, row):
            return cls(
                **common,
                wallet_id=strawberry.ID(row.to_wallet_id or ""),
                va_number=None,
                to_wallet_id=None,
                idempotency_key=None,
                flagged=False,
                failure_reason=None,
                direction=TransactionDirection.IN,
                counterparty=row.user_username,
            )
        failure = (
            FailureReason(code=row.failure_code, message=row.failure_message or row.failure_code)
            if row.failure_code
            else None
        )
        return cls(
            **common,
            wallet_id=strawberry.ID(row.wallet_id),
            va_number=row.va_number,
            to_wallet_id=strawberry.ID(row.to_wallet_id) if row.to_wallet_id else None,
            idempotency_key=row.idempotency_key,
            flagged=row.flagged,
            failure_reason=failure,
            direction=TransactionDirection.OUT,
            counterparty=row.to_username,
        )

    @classmethod
    async def resolve_reference(cls, info: Info, **representation: Any) -> Transaction | None:
        """For the router: the transaction for its owner, an admin or a service; else null."""
        row = await _transaction_loader(info).load(str(representation.get("transactionId", "")))
        viewer = await info.context.principal()
        if row is None:
            return None
        if not _may_see(viewer, row) and not (
            viewer is not None
            and viewer.kind == "user"
            and await info.context.deps.service.arrived_for(viewer.subject, row)
        ):
            return None
        return cls.from_record(row, viewer)


def _transaction_loader(info: Info) -> DataLoader[str, TransactionRecord | None]:
    """One batched lookup per request for the transactions the router asks for by reference."""
    return info.context.loader("transaction_loader", info.context.deps.service.find_many)


@strawberry.type(description="The person a TRANSFER by username pays.")
class Recipient:
    username: str
    display_name: str = strawberry.field(description="Masked, e.g. 'Na**** Uz*****'")
    wallet_id: strawberry.ID = strawberry.field(description="The wallet that receives money sent to them")


def _as_user(user_id: str) -> Principal:
    """The perspective of `user_id` (User.transactions shows that user's side of each transfer)."""
    return Principal(kind="user", subject=user_id, role="USER")


def _direction(direction: TransactionDirection | None) -> str | None:
    return direction.value if direction else None


async def _listed(info: Info, page: TransactionPage, viewer: Principal) -> list[Transaction]:
    """A page of transactions (queries.py says which), each as `viewer` sees it."""
    records = await info.context.deps.service.list(page)
    return [Transaction.from_record(record, viewer) for record in records]


# Whose transactions an entity's `transactions` field lists and from whose side, for its caller;
# None: nothing for this caller.
Listing = tuple[TransactionPage, Principal] | None


async def _transactions_of(
    root: Wallet | User,
    info: Info,
    first: int | None = 50,
    after: str | None = None,
    direction: TransactionDirection | None = None,
) -> list[Transaction]:
    """`Wallet.transactions` and `User.transactions`: one page of what `root.listing` allows."""
    listing = await root.listing(info)
    if listing is None:
        return []
    page, viewer = listing
    page = replace(page, first=first, after=after, direction=_direction(direction))
    return await _listed(info, page, viewer)


@strawberry.federation.type(keys=["walletId"], description="A wallet (owned by the wallet subgraph).")
class Wallet:
    wallet_id: strawberry.ID
    transactions: list[Transaction] = strawberry.field(
        resolver=_transactions_of,
        description="The caller's transactions on this wallet and the transfers it received, newest first "
        "(admins: all).",
    )

    async def listing(self, info: Info) -> Listing:
        """A user's own transactions on this wallet and the transfers it received (admins: all)."""
        viewer = await info.context.require_user()
        user_id = None if viewer.is_admin else viewer.subject
        return TransactionPage(user_id=user_id, wallet_id=str(self.wallet_id)), viewer


@strawberry.federation.type(keys=["id"], description="A user (owned by the auth subgraph).")
class User:
    id: strawberry.ID
    transactions: list[Transaction] = strawberry.field(
        resolver=_transactions_of,
        description="This user's transactions and the transfers they received, newest first; "
        "empty for other users.",
    )

    async def listing(self, info: Info) -> Listing:
        """This user's side of their transactions, for themselves, an admin or a service; else None."""
        viewer = await info.context.principal()
        allowed = viewer is not None and (
            viewer.is_admin or viewer.kind == "service" or viewer.subject == str(self.id)
        )
        if not allowed:
            return None
        return TransactionPage(user_id=str(self.id)), _as_user(str(self.id))


@strawberry.input(description="A deposit, a VA payment or a transfer from one of the caller's wallets.")
class CreateTransactionInput:
    wallet_id: strawberry.ID
    amount: Money
    type: TransactionType
    va_number: str | None = None
    to_wallet_id: strawberry.ID | None = None
    to_username: str | None = strawberry.field(
        default=None,
        description="TRANSFER to a person: their username instead of toWalletId (see recipient)",
    )
    description: str | None = None
    idempotency_key: str | None = strawberry.field(
        default=None, description="Same key + same input: the same transaction back"
    )


async def client_of(info: Info) -> str:
    """The caller's IP for rate limits (shared.clientip's rule)."""
    return await info.context.client_address() or "unknown"


def _check_merchant(info: Info) -> None:
    expected = info.context.deps.config.merchant_api_key
    if not expected:
        return
    request: Any = info.context.request
    given = request.headers.get(MERCHANT_KEY_HEADER, "") if request is not None else ""
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise AppError(ErrorCode.UNAUTHENTICATED, "A valid X-Merchant-Key header is required")


@strawberry.type
class Query:
    @strawberry.field(description="The caller's transactions, newest first.")
    async def my_transactions(
        self,
        info: Info,
        type: TransactionType | None = None,
        status: TransactionStatus | None = None,
        first: int | None = 50,
        after: str | None = None,
        direction: TransactionDirection | None = None,
    ) -> list[Transaction]:
        viewer = await info.context.require_user()
        page = TransactionPage(
            user_id=viewer.subject,
            type=type,
            status=status,
            first=first,
            after=after,
            direction=_direction(direction),
        )
        return await _listed(info, page, viewer)

    @strawberry.field(
        description="Who gets money sent to this username: a masked name and their receiving wallet, to "
        "confirm before a TRANSFER. NOT_FOUND alike for an unknown name and one who cannot receive."
    )
    async def recipient(self, info: Info, username: str) -> Recipient:
        viewer = await info.context.require_user()
        keys = (f"user:{viewer.subject}", f"client:{await client_of(info)}")
        found = await info.context.deps.service.recipients.by_username(username, throttle_keys=keys)
        return Recipient(
            username=found.username, display_name=found.display_name, wallet_id=strawberry.ID(found.wallet_id)
        )

    @strawberry.field(description="One transaction of the caller (admins: any); NOT_FOUND otherwise.")
    async def transaction(self, info: Info, transaction_id: strawberry.ID) -> Transaction | None:
        viewer = await info.context.require_user()
        row = await info.context.deps.service.find(str(transaction_id))
        if row is None or not _may_see(viewer, row):
            raise not_found("Transaction not found")
        return Transaction.from_record(row, viewer)

    @strawberry.field(description="The bill behind a VA number, to see it before paying; null when unknown.")
    async def invoice(self, info: Info, va_number: str) -> Invoice | None:
        await info.context.require_user()
        invoice = await info.context.deps.service.get_invoice(va_number)
        return Invoice.from_record(invoice) if invoice else None

    @strawberry.field(description="Admin: outbox messages, newest first, optionally by state.")
    async def outbox_messages(
        self,
        info: Info,
        state: str | None = None,
        first: int | None = 50,
        overdue: Annotated[
            bool | None,
            strawberry.argument(
                description="true: only messages undelivered for OUTBOX_OVERDUE_S; false: none"
            ),
        ] = None,
    ) -> list[OutboxMessage]:
        await info.context.require_admin()
        rows = await info.context.deps.service.outbox_messages(state, first, overdue)
        return [OutboxMessage.from_record(row) for row in rows]


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description=(
            "Deposit, pay a VA or transfer. Business failures come back as a FAILED/REJECTED "
            "transaction with failureReason; PENDING + SUBGRAPH_UNAVAILABLE means it settles later."
        )
    )
    async def create_transaction(self, info: Info, input: CreateTransactionInput) -> Transaction:
        viewer = await info.context.require_user()
        row = await info.context.deps.service.create(
            viewer,
            SagaInput(
                wallet_id=str(input.wallet_id),
                amount_minor=int(input.amount),
                type=input.type,
                va_number=input.va_number,
                to_wallet_id=str(input.to_wallet_id) if input.to_wallet_id is not None else None,
                description=input.description,
                idempotency_key=input.idempotency_key,
                to_username=input.to_username,
            ),
            client=await client_of(info),
        )
        return Transaction.from_record(row, viewer)

    @strawberry.mutation(
        name="generateInvoiceVA",
        description="For the marketplace: issue a VA for a bill; returns the VA number. No user token.",
    )
    async def generate_invoice_va(self, info: Info, amount: Money, description: str | None = None) -> str:
        deps = info.context.deps
        # Every attempt counts, so a wrong merchant key cannot be guessed at full speed either.
        if await deps.invoice_limiter.acquire(await client_of(info)) is None:
            raise AppError(ErrorCode.RATE_LIMITED, "Too many invoices requested; try again later")
        _check_merchant(info)
        invoice = await deps.service.generate_invoice(int(amount), description)
        return invoice.va_number

    @strawberry.mutation(description="Admin: post the compensating movement of a SUCCESS transaction.")
    async def reverse_transaction(
        self, info: Info, transaction_id: strawberry.ID, reason: str | None = None
    ) -> Transaction:
        admin = await info.context.require_admin()
        row = await info.context.deps.service.reverse(admin, str(transaction_id), reason)
        return Transaction.from_record(row)

    @strawberry.mutation(description="Admin: queue an outbox message again with a fresh attempt budget.")
    async def retry_outbox_message(self, info: Info, id: strawberry.ID) -> OutboxMessage:
        await info.context.require_admin()
        row = await info.context.deps.service.retry_outbox_message(str(id))
        return OutboxMessage.from_record(row)


schema = build_schema(Query, Mutation, types=[Transaction, Wallet, User])
