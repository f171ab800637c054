"""The wallet subgraph's GraphQL schema: Wallet and LedgerEntry, `User.wallets`, and thin resolvers.

Money-moving mutations are `@inaccessible` (absent from the public supergraph) and also demand a
service token with the operation's scope, acting on behalf of a user id.

Subscriptions: `subscription { walletEvents { walletId balance entry { direction amount }
transaction { transactionId } } }` streams one event per committed movement of the signed-in user's
wallets (a transfer: one to each side's owner), over graphql-transport-ws on `/graphql`. The token
comes from the `connection_init` payload (`{"Authorization": "Bearer ..."}`) or the handshake's
Authorization header and is checked exactly like an HTTP request's; no user, UNAUTHENTICATED.
Events are published only after the movement's unit of work committed (`events.py`: `Events.announce`),
through Redis pub/sub when REDIS_URL is set (every replica reaches every subscriber), else in
process (only this process's subscribers): see shared/events.py. `transaction` is a reference to
the transactions subgraph's `Transaction` entity, resolved by the router. The gauge
`sawit_event_subscriptions_open{bus}` in `/metrics` counts the open streams.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Annotated, Any, TypedDict

import strawberry
from strawberry.types import Info

from shared.context import Context
from shared.errors import bad_input
from shared.money import Money
from shared.schema import build_schema
from shared.scopes import Scope
from subgraphs.wallet import models
from subgraphs.wallet.ledger_schema import LedgerMutation, LedgerQuery, Transaction
from subgraphs.wallet.service import (
    PAGE_DEFAULT,
    EntryRecord,
    LedgerMove,
    TransferMove,
    WalletDeps,
    WalletRecord,
    can_see,
)

WalletInfo = Info[Context[WalletDeps], None]


# The model's enum, registered with Strawberry: one definition, no hand conversion.
WalletStatus = strawberry.enum(
    models.WalletStatus,
    name="WalletStatus",
    description="ACTIVE wallets pay and receive; FROZEN ones do neither; CLOSED ones are kept for the "
    "record.",
)


@strawberry.type(description="One side of a money movement in a wallet's ledger.")
class LedgerEntry:
    entry_id: strawberry.ID
    wallet_id: strawberry.ID
    transaction_id: str
    direction: str
    amount: Money
    balance_after: Money
    created_at: datetime

    @classmethod
    def from_record(cls, entry: EntryRecord) -> LedgerEntry:
        return cls(
            entry_id=strawberry.ID(entry.entry_id),
            wallet_id=strawberry.ID(entry.wallet_id),
            transaction_id=entry.transaction_id,
            direction=entry.direction.value,
            amount=entry.amount_minor,  # type: ignore[arg-type]
            balance_after=entry.balance_after,  # type: ignore[arg-type]
            created_at=entry.created_at,
        )


@strawberry.federation.type(keys=["id"], description="A user (owned by auth); wallet adds `wallets`.")
class User:
    id: strawberry.ID

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> User:  # noqa: A002 - the key's name
        return cls(id=id)

    @strawberry.field(description="The user's wallets, for that user or an admin; otherwise empty.")
    async def wallets(
        self,
        info: WalletInfo,
        include_closed: bool = False,
        first: int = PAGE_DEFAULT,
        after: str | None = None,
    ) -> list[Wallet]:
        viewer = await info.context.principal()
        if not can_see(viewer, str(self.id)):
            return []
        return await _wallets_of(info, str(self.id), include_closed, first, after)


@strawberry.federation.type(keys=["walletId"], description="A wallet; its balance equals its ledger.")
class Wallet:
    wallet_id: strawberry.ID
    wallet_name: str
    balance: Money
    status: WalletStatus
    created_at: datetime
    updated_at: datetime
    owner_id: strawberry.Private[str]

    @classmethod
    def from_record(cls, record: WalletRecord) -> Wallet:
        return cls(
            wallet_id=strawberry.ID(record.wallet_id),
            wallet_name=record.name,
            balance=record.balance,  # type: ignore[arg-type]
            status=record.status,
            created_at=record.created_at,
            updated_at=record.updated_at,
            owner_id=record.owner_id,
        )

    @classmethod
    async def resolve_reference(cls, info: WalletInfo, walletId: strawberry.ID) -> Wallet | None:  # noqa: N803
        """Another user's wallet resolves to null: nothing about it is revealed."""
        viewer = await info.context.principal()
        record = await info.context.deps.service.wallet_visible_to(viewer, str(walletId))
        return cls.from_record(record) if record else None

    @strawberry.field(description="The owner, resolved by the auth subgraph.")
    def owner(self) -> User | None:
        return User(id=strawberry.ID(self.owner_id))

    @strawberry.field(
        description="The wallet's statement, newest first; `after` is an entry id of this wallet; "
        "`direction` CREDIT or DEBIT keeps one side."
    )
    async def entries(
        self,
        info: WalletInfo,
        first: int = PAGE_DEFAULT,
        after: str | None = None,
        direction: Annotated[
            str | None, strawberry.argument(description="CREDIT (money in) or DEBIT (money out) only")
        ] = None,
    ) -> list[LedgerEntry]:
        records = await info.context.deps.service.entries_of(
            str(self.wallet_id), first=first, after=after, direction=direction
        )
        return [LedgerEntry.from_record(record) for record in records]


async def _wallets_of(
    info: WalletInfo, owner_id: str, include_closed: bool, first: int, after: str | None
) -> list[Wallet]:
    """One owner's wallets, newest first (`User.wallets` and `myWallets`)."""
    records = await info.context.deps.service.wallets_of(
        owner_id, include_closed=include_closed, first=first, after=after
    )
    return [Wallet.from_record(record) for record in records]


@strawberry.federation.type(inaccessible=True, description="Who owns a wallet (for services).")
class WalletOwner:
    wallet_id: strawberry.ID
    owner_id: strawberry.ID
    status: WalletStatus


@strawberry.federation.type(inaccessible=True, description="What one transaction id did to one wallet.")
class LedgerResult:
    transaction_id: str
    wallet_id: strawberry.ID
    direction: str
    amount: Money
    balance_after: Money
    replayed: bool
    owner_id: strawberry.ID = strawberry.field(description="The owner (user id) of the wallet.")

    @classmethod
    def from_record(cls, move: LedgerMove) -> LedgerResult:
        return cls(
            transaction_id=move.transaction_id,
            wallet_id=strawberry.ID(move.wallet_id),
            direction=move.direction.value,
            amount=move.amount_minor,  # type: ignore[arg-type]
            balance_after=move.balance_after,  # type: ignore[arg-type]
            replayed=move.replayed,
            owner_id=strawberry.ID(move.owner_id),
        )


@strawberry.federation.type(inaccessible=True, description="Both sides of a transfer, posted atomically.")
class TransferResult:
    transaction_id: str
    debit: LedgerResult
    credit: LedgerResult
    replayed: bool

    @classmethod
    def from_record(cls, move: TransferMove) -> TransferResult:
        return cls(
            transaction_id=move.transaction_id,
            debit=LedgerResult.from_record(move.debit),
            credit=LedgerResult.from_record(move.credit),
            replayed=move.replayed,
        )


@strawberry.federation.input(inaccessible=True)
class LedgerInput:
    transaction_id: str
    user_id: strawberry.ID
    wallet_id: strawberry.ID
    amount: Money
    merchant_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="deductWallet: the merchant paid (its settlement account); default: the marketplace. "
        "topupWallet takes none.",
    )


class Movement(TypedDict):
    """What topupWallet and deductWallet alike hand the service from their LedgerInput."""

    transaction_id: str
    user_id: str
    wallet_id: str
    amount_minor: int


def _movement(ledger_input: LedgerInput) -> Movement:
    return Movement(
        transaction_id=ledger_input.transaction_id,
        user_id=str(ledger_input.user_id),
        wallet_id=str(ledger_input.wallet_id),
        amount_minor=int(ledger_input.amount),
    )


@strawberry.federation.input(inaccessible=True)
class TransferInput:
    transaction_id: str
    user_id: strawberry.ID
    from_wallet_id: strawberry.ID
    to_wallet_id: strawberry.ID
    amount: Money


@strawberry.federation.input(inaccessible=True)
class ReverseInput:
    transaction_id: str
    reversal_id: str


@strawberry.type(description="One committed movement of one of the caller's wallets.")
class WalletEvent:
    wallet_id: strawberry.ID
    balance: Money = strawberry.field(description="The wallet's balance right after this movement.")
    entry: LedgerEntry
    transaction: Transaction | None = strawberry.field(
        description="The transaction (or reversal) that moved it; null when the caller may not see it."
    )

    @classmethod
    def from_record(cls, event: dict[str, Any]) -> WalletEvent:
        entry = LedgerEntry(
            entry_id=strawberry.ID(str(event["entryId"])),
            wallet_id=strawberry.ID(str(event["walletId"])),
            transaction_id=str(event["transactionId"]),
            direction=str(event["direction"]),
            amount=int(event["amount"]),  # type: ignore[arg-type]
            balance_after=int(event["balanceAfter"]),  # type: ignore[arg-type]
            created_at=datetime.fromisoformat(str(event["createdAt"])),
        )
        return cls(
            wallet_id=entry.wallet_id,
            balance=entry.balance_after,
            entry=entry,
            transaction=Transaction(transaction_id=strawberry.ID(entry.transaction_id)),
        )


WalletIdArg = Annotated[strawberry.ID, strawberry.argument(name="walletId")]


@strawberry.type
class Query(LedgerQuery):
    @strawberry.field(description="The caller's wallets, newest first (CLOSED ones when asked).")
    async def my_wallets(
        self,
        info: WalletInfo,
        include_closed: bool = False,
        first: int = PAGE_DEFAULT,
        after: str | None = None,
    ) -> list[Wallet]:
        user = await info.context.require_user()
        return await _wallets_of(info, user.user_id, include_closed, first, after)

    @strawberry.field(description="One wallet of the caller (any, for an admin); NOT_FOUND otherwise.")
    async def wallet(self, info: WalletInfo, wallet_id: WalletIdArg) -> Wallet | None:
        user = await info.context.require_user()
        return Wallet.from_record(await info.context.deps.service.get_wallet(user, str(wallet_id)))

    @strawberry.federation.field(
        inaccessible=True, description="Who owns a wallet; null when there is none; scope wallet:read."
    )
    async def wallet_owner(self, info: WalletInfo, wallet_id: strawberry.ID) -> WalletOwner | None:
        await info.context.require_service(Scope.WALLET_READ)
        record = await info.context.deps.service.wallet_owner(str(wallet_id))
        if record is None:
            return None
        return WalletOwner(
            wallet_id=strawberry.ID(record.wallet_id),
            owner_id=strawberry.ID(record.owner_id),
            status=record.status,
        )

    @strawberry.federation.field(
        inaccessible=True,
        description="The wallet that receives money sent to a user by name (their oldest ACTIVE one); "
        "scope wallet:read.",
    )
    async def default_wallet_of(self, info: WalletInfo, user_id: strawberry.ID) -> strawberry.ID | None:
        await info.context.require_service(Scope.WALLET_READ)
        found = await info.context.deps.service.default_wallet_of(str(user_id))
        return strawberry.ID(found) if found else None

    @strawberry.federation.field(
        inaccessible=True, description="What a transaction id moved; scope wallet:read."
    )
    async def movements_of(self, info: WalletInfo, transaction_id: str) -> list[LedgerEntry]:
        await info.context.require_service(Scope.WALLET_READ)
        return [
            LedgerEntry.from_record(entry)
            for entry in await info.context.deps.service.movements_of(transaction_id)
        ]


@strawberry.type
class Mutation(LedgerMutation):
    @strawberry.mutation(description="Open a new wallet (name: 1 to 50 characters).")
    async def create_wallet(self, info: WalletInfo, wallet_name: str) -> Wallet:
        user = await info.context.require_user()
        return Wallet.from_record(await info.context.deps.service.create_wallet(user.user_id, wallet_name))

    @strawberry.mutation(description="Close a wallet with a zero balance; its ledger stays.")
    async def delete_wallet(self, info: WalletInfo, wallet_id: WalletIdArg) -> Wallet:
        user = await info.context.require_user()
        return Wallet.from_record(await info.context.deps.service.close_wallet(user, str(wallet_id)))

    @strawberry.mutation(description="Admin: a frozen wallet neither pays nor receives.")
    async def freeze_wallet(self, info: WalletInfo, wallet_id: WalletIdArg) -> Wallet:
        await info.context.require_admin()
        return Wallet.from_record(await info.context.deps.service.set_frozen(str(wallet_id), True))

    @strawberry.mutation(description="Admin: let a frozen wallet pay and receive again.")
    async def unfreeze_wallet(self, info: WalletInfo, wallet_id: WalletIdArg) -> Wallet:
        await info.context.require_admin()
        return Wallet.from_record(await info.context.deps.service.set_frozen(str(wallet_id), False))

    @strawberry.federation.mutation(
        inaccessible=True, description="Service: credit a deposit; scope wallet:credit."
    )
    async def topup_wallet(self, info: WalletInfo, input: LedgerInput) -> LedgerResult:  # noqa: A002
        await info.context.require_service(Scope.WALLET_CREDIT)
        if input.merchant_id is not None:
            raise bad_input("A top-up pays no merchant: merchantId is for deductWallet", field="merchantId")
        return LedgerResult.from_record(await info.context.deps.service.topup(**_movement(input)))

    @strawberry.federation.mutation(
        inaccessible=True, description="Service: debit a payment; scope wallet:debit."
    )
    async def deduct_wallet(self, info: WalletInfo, input: LedgerInput) -> LedgerResult:  # noqa: A002
        await info.context.require_service(Scope.WALLET_DEBIT)
        merchant_id = str(input.merchant_id) if input.merchant_id is not None else None
        move = await info.context.deps.service.deduct(**_movement(input), merchant_id=merchant_id)
        return LedgerResult.from_record(move)

    @strawberry.federation.mutation(
        inaccessible=True, description="Service: move money; scope wallet:transfer."
    )
    async def transfer_wallet(self, info: WalletInfo, input: TransferInput) -> TransferResult:  # noqa: A002
        await info.context.require_service(Scope.WALLET_TRANSFER)
        move = await info.context.deps.service.transfer(
            transaction_id=input.transaction_id,
            user_id=str(input.user_id),
            from_wallet_id=str(input.from_wallet_id),
            to_wallet_id=str(input.to_wallet_id),
            amount_minor=int(input.amount),
        )
        return TransferResult.from_record(move)

    @strawberry.federation.mutation(
        inaccessible=True, description="Service: mirror a transaction; scope wallet:reverse."
    )
    async def reverse_ledger(self, info: WalletInfo, input: ReverseInput) -> list[LedgerResult]:  # noqa: A002
        await info.context.require_service(Scope.WALLET_REVERSE)
        moves = await info.context.deps.service.reverse(
            transaction_id=input.transaction_id, reversal_id=input.reversal_id
        )
        return [LedgerResult.from_record(move) for move in moves]


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Every committed movement of the caller's wallets, as it happens (no past events)."
    )
    async def wallet_events(self, info: WalletInfo) -> AsyncGenerator[WalletEvent, None]:
        user = await info.context.require_user()
        async for event in info.context.deps.service.events_for(user):
            yield WalletEvent.from_record(event)


schema = build_schema(Query, Mutation, types=[Wallet, User, LedgerEntry], subscription=Subscription)
