"""Wallets themselves: create, close, freeze and unfreeze, and every read (wallets, owners, statements).

One job: a wallet's life and the queries about wallets and their entries; money moves in
movements.py. Someone else's wallet reads as NOT_FOUND (nothing about it is revealed).
"""

from __future__ import annotations

import uuid

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from shared.clock import utcnow
from shared.db import Database, has_nul
from shared.errors import AppError, ErrorCode, bad_input, not_found
from shared.pagination import PAGE_DEFAULT, newest_first_page, page_size
from shared.tokens import Principal
from subgraphs.wallet.models import AccountKind, Direction, WalletStatus
from subgraphs.wallet.records import (
    EntryRecord,
    WalletOwnerRecord,
    WalletRecord,
    entries_t,
    entry_from_row,
    wallet_from_row,
    wallets_t,
)
from subgraphs.wallet.unit_of_work import UnitOfWork

WALLET_NAME_MAX_CHARS = 50
WALLET_ID_MAX_CHARS = 36  # wallets.wallet_id is VARCHAR(36): a longer id names no wallet
OWNER_ID_MAX_CHARS = 64  # wallets.owner_id is VARCHAR(64)

# The look-ups a transfer to a person makes first: who owns a wallet, where money sent by name lands.
# System accounts (accounts.py) are no user's wallet: every look-up here sees customer wallets only.
_CUSTOMER = wallets_t.c.kind == AccountKind.CUSTOMER.value
_WALLET_OWNER = select(wallets_t.c.wallet_id, wallets_t.c.owner_id, wallets_t.c.status).where(
    wallets_t.c.wallet_id == bindparam("b_wallet"), _CUSTOMER
)
_DEFAULT_WALLET = (
    select(wallets_t.c.wallet_id)
    .where(
        wallets_t.c.owner_id == bindparam("b_owner"),
        wallets_t.c.status == WalletStatus.ACTIVE.value,
        _CUSTOMER,
    )
    .order_by(wallets_t.c.created_at, wallets_t.c.wallet_id)
    .limit(1)
)


class Wallets:
    """A wallet's life (create, close, freeze) and the reads; each method is one unit of work."""

    def __init__(self, db: Database, unit_of_work: UnitOfWork) -> None:
        self.db = db
        self.unit_of_work = unit_of_work

    async def create_wallet(self, owner_id: str, name: str) -> WalletRecord:
        """A new ACTIVE wallet with a zero balance; the name is trimmed and 1..50 characters."""
        clean = (name or "").strip()
        if not 1 <= len(clean) <= WALLET_NAME_MAX_CHARS:
            raise bad_input(f"Wallet name must be 1 to {WALLET_NAME_MAX_CHARS} characters")
        if has_nul(clean):
            raise bad_input("Wallet name must not contain a NUL character")
        now = utcnow()
        record = WalletRecord(
            wallet_id=str(uuid.uuid4()),
            owner_id=owner_id,
            name=clean,
            balance=0,
            status=WalletStatus.ACTIVE,
            version=0,
            created_at=now,
            updated_at=now,
        )

        def work(session: Session) -> WalletRecord:
            session.execute(
                insert(wallets_t).values(
                    wallet_id=record.wallet_id,
                    owner_id=owner_id,
                    name=clean,
                    balance=0,
                    status=WalletStatus.ACTIVE.value,
                    version=0,
                    created_at=now,
                    updated_at=now,
                )
            )
            return record

        return await self.unit_of_work.run_write(work)

    async def wallets_of(
        self,
        owner_id: str,
        *,
        include_closed: bool = False,
        first: int = PAGE_DEFAULT,
        after: str | None = None,
    ) -> list[WalletRecord]:
        """A user's wallets, newest first; CLOSED ones only when asked; `after` is a wallet id."""
        _check_page(first)
        if has_nul(after):
            raise bad_input("Unknown cursor 'after'")
        if has_nul(owner_id):
            return []
        query = select(wallets_t).where(wallets_t.c.owner_id == owner_id)
        if not include_closed:
            query = query.where(wallets_t.c.status != WalletStatus.CLOSED.value)
        rows = await self.db.read(
            lambda session: newest_first_page(
                session, query, wallets_t.c.wallet_id, wallets_t.c.owner_id == owner_id, first, after
            )
        )
        return [wallet_from_row(row) for row in rows]

    async def find_wallet(self, wallet_id: str) -> WalletRecord | None:
        if has_nul(wallet_id) or len(wallet_id) > 64:
            return None
        query = select(wallets_t).where(wallets_t.c.wallet_id == wallet_id, _CUSTOMER)
        row = await self.db.read(lambda session: session.execute(query).first())
        return wallet_from_row(row) if row else None

    async def wallet_owner(self, wallet_id: str) -> WalletOwnerRecord | None:
        """Who owns the wallet, and its status; None when there is no such wallet (an id that no
        wallet can have, with a NUL character or too long, included)."""
        if has_nul(wallet_id) or len(wallet_id) > WALLET_ID_MAX_CHARS:
            return None
        row = await self.db.read(
            lambda session: session.execute(_WALLET_OWNER, {"b_wallet": wallet_id}).first()
        )
        return WalletOwnerRecord(row.wallet_id, row.owner_id, WalletStatus(row.status)) if row else None

    async def default_wallet_of(self, user_id: str) -> str | None:
        """The wallet that receives money sent to a user by name: their oldest ACTIVE wallet (by
        created_at, then wallet_id); None when they have none (FROZEN and CLOSED ones don't count)."""
        if has_nul(user_id) or len(user_id) > OWNER_ID_MAX_CHARS:
            return None
        return await self.db.read(
            lambda session: session.execute(_DEFAULT_WALLET, {"b_owner": user_id}).scalar()
        )

    async def wallet_visible_to(self, viewer: Principal | None, wallet_id: str) -> WalletRecord | None:
        """The wallet if `viewer` may see it (its owner, an admin or a service), else None."""
        wallet = await self.find_wallet(str(wallet_id))
        if wallet is None or not can_see(viewer, wallet.owner_id):
            return None
        return wallet

    async def get_wallet(self, viewer: Principal | None, wallet_id: str) -> WalletRecord:
        """Like `wallet_visible_to`, but NOT_FOUND (the same answer for "absent" and "not yours")."""
        wallet = await self.wallet_visible_to(viewer, wallet_id)
        if wallet is None:
            raise not_found("Wallet not found")
        return wallet

    async def close_wallet(self, viewer: Principal, wallet_id: str) -> WalletRecord:
        """Close a zero-balance wallet of the caller (or any, for an admin); its ledger stays."""

        def work(session: Session) -> WalletRecord:
            wallet = (self.unit_of_work.lock(session, [wallet_id])).get(wallet_id)
            if wallet is None or wallet.kind != AccountKind.CUSTOMER or not can_see(viewer, wallet.owner_id):
                raise not_found("Wallet not found")
            if wallet.status == WalletStatus.CLOSED:
                return wallet
            if wallet.status == WalletStatus.FROZEN:
                raise AppError(ErrorCode.WALLET_FROZEN, "A frozen wallet cannot be closed")
            if wallet.balance != 0:
                raise AppError(
                    ErrorCode.CONFLICT,
                    "Only a wallet with a zero balance can be closed; move the money first",
                )
            return self._set_status(session, wallet, WalletStatus.CLOSED, expect_balance=0)

        return await self.unit_of_work.run_write(work)

    async def set_frozen(self, wallet_id: str, frozen: bool) -> WalletRecord:
        """Freeze (nothing in, nothing out) or unfreeze a wallet; admin-only at the schema."""

        def work(session: Session) -> WalletRecord:
            wallet = (self.unit_of_work.lock(session, [wallet_id])).get(wallet_id)
            if wallet is None or wallet.kind != AccountKind.CUSTOMER:
                raise not_found("Wallet not found")
            if wallet.status == WalletStatus.CLOSED:
                raise AppError(ErrorCode.WALLET_CLOSED, "The wallet is closed")
            target = WalletStatus.FROZEN if frozen else WalletStatus.ACTIVE
            if wallet.status == target:
                return wallet
            return self._set_status(session, wallet, target)

        return await self.unit_of_work.run_write(work)

    def _set_status(
        self,
        session: Session,
        wallet: WalletRecord,
        status: WalletStatus,
        *,
        expect_balance: int | None = None,
    ) -> WalletRecord:
        now = utcnow()
        query = (
            update(wallets_t)
            .where(wallets_t.c.wallet_id == wallet.wallet_id, wallets_t.c.status == wallet.status.value)
            .values(status=status.value, version=wallets_t.c.version + 1, updated_at=now)
            .returning(*wallets_t.c)
        )
        if expect_balance is not None:
            query = query.where(wallets_t.c.balance == expect_balance)
        row = (session.execute(query)).first()
        if row is None:  # the row is locked by us, so this means a rule above was bypassed
            raise AppError(ErrorCode.CONFLICT, "The wallet changed; try again")
        return wallet_from_row(row)

    async def entries_of(
        self,
        wallet_id: str,
        *,
        first: int = PAGE_DEFAULT,
        after: str | None = None,
        direction: str | None = None,
    ) -> list[EntryRecord]:
        """A wallet's statement, newest first; `after` is the entry id of the previous page's last item
        (any entry of this wallet); `direction` (CREDIT or DEBIT) keeps one side."""
        _check_page(first)
        if has_nul(after):
            raise bad_input("Unknown cursor 'after'")
        if direction is not None and direction not in (Direction.CREDIT.value, Direction.DEBIT.value):
            raise bad_input("direction must be CREDIT or DEBIT", field="direction")
        if has_nul(wallet_id):
            return []
        query = select(entries_t).where(entries_t.c.wallet_id == wallet_id)
        if direction is not None:
            query = query.where(entries_t.c.direction == direction)
        rows = await self.db.read(
            lambda session: newest_first_page(
                session, query, entries_t.c.entry_id, entries_t.c.wallet_id == wallet_id, first, after
            )
        )
        return [entry_from_row(row) for row in rows]

    async def movements_of(self, transaction_id: str) -> list[EntryRecord]:
        """Every entry a transaction id posted (debits first); [] when it moved nothing."""
        if has_nul(transaction_id):
            return []
        query = (
            select(entries_t)
            .where(entries_t.c.transaction_id == transaction_id)
            .order_by(entries_t.c.created_at, entries_t.c.direction.desc(), entries_t.c.entry_id)
        )
        rows = await self.db.read(lambda session: session.execute(query).all())
        return [entry_from_row(row) for row in rows]


def _check_page(first: int) -> None:
    page_size(first)


def can_see(viewer: Principal | None, owner_id: str) -> bool:
    """Owners see their wallets; admins and services see every wallet; nobody else sees any."""
    if viewer is None:
        return False
    if viewer.kind == "service" or viewer.is_admin:
        return True
    return viewer.user_id == owner_id
