"""The wallet's domain rules: an exact, atomic, idempotent double-entry ledger. No GraphQL, no HTTP.

Every money movement is ONE database transaction that (1) locks the wallets it touches (SQLite:
the BEGIN IMMEDIATE write lock of `db.write()`; PostgreSQL: `SELECT ... FOR UPDATE` in sorted id
order, so two transfers in opposite directions cannot deadlock), (2) only then looks for the
transaction id's idempotency record (so a concurrent replay that waited for the lock sees the
committed original), (3) checks every rule, (4) moves the balance with a conditional UPDATE, appends
the ledger entries and inserts the idempotency record. Nothing is decided across transactions.

A unique violation on the idempotency record (a replay that raced past step 2), a deadlock or a
serialization failure rolls the whole transaction back and runs it again, a bounded number of times;
the second run finds the original and answers it as a replay.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import random
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import bindparam, case, insert, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from shared.db import Database, has_nul
from shared.errors import AppError, ErrorCode, bad_input, forbidden, not_found
from shared.events import EventBus, EventOverflow
from shared.money import format_minor
from shared.pagination import PAGE_DEFAULT, newest_first, older_than, page_size
from shared.settings import get_settings
from shared.tokens import Principal
from subgraphs.wallet.config import WalletSettings
from subgraphs.wallet.models import (
    Direction,
    LedgerEntry,
    OperationKind,
    Wallet,
    WalletOperation,
    WalletStatus,
    as_utc,
    utcnow,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

wallets_t = Wallet.__table__  # type: ignore[attr-defined]
entries_t = LedgerEntry.__table__  # type: ignore[attr-defined]
operations_t = WalletOperation.__table__  # type: ignore[attr-defined]

WALLET_NAME_MAX_CHARS = 50
WALLET_ID_MAX_CHARS = 36  # wallets.wallet_id is VARCHAR(36): a longer id names no wallet
OWNER_ID_MAX_CHARS = 64  # wallets.owner_id is VARCHAR(64)
TRANSACTION_ID_MAX_CHARS = 128
WRITE_ATTEMPTS_MAX = 8
RETRY_BACKOFF_BASE_S = 0.005
RETRY_BACKOFF_MAX_S = 0.2

# PostgreSQL SQLSTATEs after which the whole transaction may simply run again.
_RETRYABLE_SQLSTATES = frozenset({"40001", "40P01", "23505"})


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
    amount: int
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
    amount: int
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
class _Request:
    """The input an idempotency record remembers, to tell a replay from a reused key."""

    kind: OperationKind
    user_id: str | None = None
    wallet_id: str | None = None
    to_wallet_id: str | None = None
    amount: int | None = None
    reverses_transaction_id: str | None = None


def _wallet_from_row(row: Any) -> WalletRecord:
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
    )


def _entry_from_row(row: Any) -> EntryRecord:
    return EntryRecord(
        entry_id=row.entry_id,
        wallet_id=row.wallet_id,
        transaction_id=row.transaction_id,
        direction=Direction(row.direction),
        amount=int(row.amount),
        balance_after=int(row.balance_after),
        created_at=as_utc(row.created_at),
    )


def _sqlstate(exc: DBAPIError) -> str | None:
    for candidate in (exc.orig, getattr(exc.orig, "__cause__", None)):
        code = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if isinstance(code, str):
            return code
    return None


def is_retryable(exc: DBAPIError) -> bool:
    """A conflict with a concurrent transaction that a fresh attempt resolves (never a rule broken)."""
    if _sqlstate(exc) in _RETRYABLE_SQLSTATES:
        return True
    text = str(exc.orig).lower()
    return "database is locked" in text or "unique constraint failed: wallet_operations" in text


def month_start(moment: datetime) -> datetime:
    """The first instant of the calendar month (UTC) that `moment` falls in."""
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def month_key(moment: datetime) -> str:
    """The calendar month (UTC) of `moment` as the wallet's incoming counter names it: "YYYY-MM"."""
    return moment.strftime("%Y-%m")


# The statements of a money movement, built once: SQLAlchemy then reuses their compiled form.
_LOCK_WALLET = select(wallets_t).where(wallets_t.c.wallet_id == bindparam("b_wallet")).with_for_update()
_FIND_OPERATION = select(operations_t).where(operations_t.c.transaction_id == bindparam("b_tx"))
_MOVE = (
    update(wallets_t)
    .where(wallets_t.c.wallet_id == bindparam("b_wallet"), wallets_t.c.balance + bindparam("b_delta") >= 0)
    .values(
        balance=wallets_t.c.balance + bindparam("b_delta"),
        version=wallets_t.c.version + 1,
        updated_at=bindparam("b_now"),
    )
    .returning(wallets_t.c.balance)
)
# A credit that counts against the monthly incoming limit also adds to the month's counter.
_RECEIVE = _MOVE.values(
    incoming_month=bindparam("b_month"),
    incoming_month_minor=case(
        (
            wallets_t.c.incoming_month == bindparam("b_month"),
            wallets_t.c.incoming_month_minor + bindparam("b_delta"),
        ),
        else_=bindparam("b_delta"),
    ),
)
_ADD_ENTRY = insert(entries_t)
# The look-ups a transfer to a person makes first: who owns a wallet, where money sent by name lands.
_WALLET_OWNER = select(wallets_t.c.wallet_id, wallets_t.c.owner_id, wallets_t.c.status).where(
    wallets_t.c.wallet_id == bindparam("b_wallet")
)
_DEFAULT_WALLET = (
    select(wallets_t.c.wallet_id)
    .where(wallets_t.c.owner_id == bindparam("b_owner"), wallets_t.c.status == WalletStatus.ACTIVE.value)
    .order_by(wallets_t.c.created_at, wallets_t.c.wallet_id)
    .limit(1)
)
_ADD_OPERATION = insert(operations_t)


def _move_to_json(move: LedgerMove) -> dict[str, Any]:
    return {
        "wallet_id": move.wallet_id,
        "direction": move.direction.value,
        "amount": move.amount,
        "balance_after": move.balance_after,
        "owner_id": move.owner_id,
    }


def _moves_from_json(transaction_id: str, text: str, owners: Mapping[str, str]) -> list[LedgerMove]:
    """The recorded moves of a replay. A record written before owners were kept takes the owner from
    `owners`, the wallets the replay locked (exactly those the original moved; an owner never changes)."""
    return [
        LedgerMove(
            transaction_id=transaction_id,
            wallet_id=item["wallet_id"],
            owner_id=item.get("owner_id") or owners[item["wallet_id"]],
            direction=Direction(item["direction"]),
            amount=int(item["amount"]),
            balance_after=int(item["balance_after"]),
            replayed=True,
        )
        for item in json.loads(text)
    ]


class WalletService:
    """Wallets and their ledger; every public method is one unit of work on the wallet database."""

    def __init__(
        self,
        db: Database,
        limits: WalletSettings,
        *,
        money_max_minor: int | None = None,
        events: EventBus | None = None,
    ) -> None:
        self.db = db
        self.limits = limits
        self.money_max_minor = money_max_minor or get_settings().money_max_minor
        self.events = events

    # ---- events (after the unit of work commits, never before) ----------------------------------

    async def _announce(self, moves: Iterable[LedgerMove]) -> None:
        """Publish one event per committed movement to its wallet's owner. Called only after
        `_run_write` returned, i.e. after COMMIT, so no subscriber ever sees a change that was rolled
        back; a replay moved nothing new and announces nothing."""
        if self.events is None:
            return
        for move in moves:
            if move.replayed or move.entry_id is None:
                continue
            await self.events.publish(move.owner_id, _event_of(move))

    async def events_for(self, viewer: Principal) -> AsyncIterator[dict[str, Any]]:
        """The committed movements of the signed-in user's own wallets, as they happen: the bus
        channel is the user's id, so another user's events never reach this stream."""
        if self.events is None:
            raise AppError(ErrorCode.INTERNAL, "Wallet events are not available")
        try:
            async for event in self.events.subscribe(viewer.user_id):
                if event.get("ownerId") == viewer.user_id:
                    yield event
        except EventOverflow as exc:
            raise AppError(ErrorCode.INTERNAL, "The event stream fell behind; subscribe again") from exc

    # ---- unit of work -------------------------------------------------------------------------

    async def _run_write(self, work: Callable[[Session], T]) -> T:
        """Run `work` in one write transaction; run it again after a retryable conflict (bounded)."""
        for attempt in range(1, WRITE_ATTEMPTS_MAX + 1):
            try:
                return await self.db.write(work)
            except DBAPIError as exc:
                if attempt == WRITE_ATTEMPTS_MAX or not is_retryable(exc):
                    raise
                delay = min(RETRY_BACKOFF_MAX_S, RETRY_BACKOFF_BASE_S * 2**attempt)
                log.info("wallet write conflict (%s), attempt %d, retrying", _sqlstate(exc), attempt)
                await asyncio.sleep(random.uniform(0, delay))
        raise AssertionError("unreachable")  # pragma: no cover

    # ---- wallets --------------------------------------------------------------------------------

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

        return await self._run_write(work)

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
            lambda session: _newest_first_page(
                session, query, wallets_t.c.wallet_id, wallets_t.c.owner_id == owner_id, first, after
            )
        )
        return [_wallet_from_row(row) for row in rows]

    async def find_wallet(self, wallet_id: str) -> WalletRecord | None:
        if has_nul(wallet_id) or len(wallet_id) > 64:
            return None
        query = select(wallets_t).where(wallets_t.c.wallet_id == wallet_id)
        row = await self.db.read(lambda session: session.execute(query).first())
        return _wallet_from_row(row) if row else None

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
            wallet = (self._lock(session, [wallet_id])).get(wallet_id)
            if wallet is None or not can_see(viewer, wallet.owner_id):
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

        return await self._run_write(work)

    async def set_frozen(self, wallet_id: str, frozen: bool) -> WalletRecord:
        """Freeze (nothing in, nothing out) or unfreeze a wallet; admin-only at the schema."""

        def work(session: Session) -> WalletRecord:
            wallet = (self._lock(session, [wallet_id])).get(wallet_id)
            if wallet is None:
                raise not_found("Wallet not found")
            if wallet.status == WalletStatus.CLOSED:
                raise AppError(ErrorCode.WALLET_CLOSED, "The wallet is closed")
            target = WalletStatus.FROZEN if frozen else WalletStatus.ACTIVE
            if wallet.status == target:
                return wallet
            return self._set_status(session, wallet, target)

        return await self._run_write(work)

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
        return _wallet_from_row(row)

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
            lambda session: _newest_first_page(
                session, query, entries_t.c.entry_id, entries_t.c.wallet_id == wallet_id, first, after
            )
        )
        return [_entry_from_row(row) for row in rows]

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
        return [_entry_from_row(row) for row in rows]

    # ---- money movements ------------------------------------------------------------------------

    async def topup(self, *, transaction_id: str, user_id: str, wallet_id: str, amount: int) -> LedgerMove:
        """Credit money that enters the platform (a DEPOSIT) to the user's own wallet."""
        transaction_id = self._check_transaction_id(transaction_id)
        self._check_amount(amount)
        request = _Request(OperationKind.TOPUP, user_id=user_id, wallet_id=wallet_id, amount=amount)

        def work(session: Session) -> LedgerMove:
            now = utcnow()
            locked = self._lock(session, [wallet_id])
            replay = self._replay(session, transaction_id, request, locked)
            if replay is not None:
                return replay[0]
            wallet = self._require_movable(locked.get(wallet_id), user_id)
            self._check_incoming(wallet, amount, now)
            move = self._post(session, transaction_id, wallet, Direction.CREDIT, amount, now, receiving=True)
            self._record(session, transaction_id, request, [move], now)
            return move

        move = await self._run_write(work)
        await self._announce([move])
        return move

    async def deduct(self, *, transaction_id: str, user_id: str, wallet_id: str, amount: int) -> LedgerMove:
        """Debit money that leaves the platform (a PAYMENT) from the user's own wallet."""
        transaction_id = self._check_transaction_id(transaction_id)
        self._check_amount(amount)
        request = _Request(OperationKind.DEDUCT, user_id=user_id, wallet_id=wallet_id, amount=amount)

        def work(session: Session) -> LedgerMove:
            now = utcnow()
            locked = self._lock(session, [wallet_id])
            replay = self._replay(session, transaction_id, request, locked)
            if replay is not None:
                return replay[0]
            wallet = self._require_movable(locked.get(wallet_id), user_id)
            self._check_funds(wallet, amount)
            move = self._post(session, transaction_id, wallet, Direction.DEBIT, amount, now)
            self._record(session, transaction_id, request, [move], now)
            return move

        move = await self._run_write(work)
        await self._announce([move])
        return move

    async def transfer(
        self, *, transaction_id: str, user_id: str, from_wallet_id: str, to_wallet_id: str, amount: int
    ) -> TransferMove:
        """Move money from the user's wallet to any ACTIVE wallet: both entries in one transaction."""
        transaction_id = self._check_transaction_id(transaction_id)
        self._check_amount(amount)
        if from_wallet_id == to_wallet_id:
            raise bad_input("A transfer needs two different wallets")
        request = _Request(
            OperationKind.TRANSFER,
            user_id=user_id,
            wallet_id=from_wallet_id,
            to_wallet_id=to_wallet_id,
            amount=amount,
        )

        def work(session: Session) -> TransferMove:
            now = utcnow()
            locked = self._lock(session, [from_wallet_id, to_wallet_id])
            replay = self._replay(session, transaction_id, request, locked)
            if replay is not None:
                return _transfer_of(transaction_id, replay, replayed=True)
            source = self._require_movable(locked.get(from_wallet_id), user_id)
            target = self._require_movable(locked.get(to_wallet_id), None, side="receiving ")
            self._check_funds(source, amount)
            self._check_incoming(target, amount, now)
            debit = self._post(session, transaction_id, source, Direction.DEBIT, amount, now)
            credit = self._post(
                session, transaction_id, target, Direction.CREDIT, amount, now, receiving=True
            )
            self._record(session, transaction_id, request, [debit, credit], now)
            return TransferMove(transaction_id, debit, credit)

        transfer = await self._run_write(work)
        if not transfer.replayed:
            await self._announce([transfer.debit, transfer.credit])
        return transfer

    async def reverse(self, *, transaction_id: str, reversal_id: str) -> list[LedgerMove]:
        """Post the exact mirror of every entry of `transaction_id` under `reversal_id`, atomically.

        A compensation: it ignores freezes and the incoming limits (it only undoes a movement),
        but never drives a balance below zero and never touches a CLOSED wallet. A transaction
        id is reversed at most once; [] (and nothing recorded) when it moved nothing.
        """
        transaction_id = self._check_transaction_id(transaction_id)
        reversal_id = self._check_transaction_id(reversal_id, "reversalId")
        if reversal_id == transaction_id:
            raise bad_input("reversalId must differ from transactionId")
        request = _Request(OperationKind.REVERSAL, reverses_transaction_id=transaction_id)

        def work(session: Session) -> list[LedgerMove]:
            now = utcnow()
            originals = [
                _entry_from_row(row)
                for row in (
                    session.execute(
                        select(entries_t)
                        .where(entries_t.c.transaction_id == transaction_id)
                        .order_by(entries_t.c.direction.desc(), entries_t.c.entry_id)
                    )
                ).all()
            ]
            locked = self._lock(session, [entry.wallet_id for entry in originals])
            replay = self._replay(session, reversal_id, request, locked)
            if replay is not None:
                return replay
            if not originals:
                return []
            earlier = (
                session.execute(
                    select(operations_t.c.transaction_id).where(
                        operations_t.c.reverses_transaction_id == transaction_id
                    )
                )
            ).scalar()
            if earlier is not None:
                raise AppError(
                    ErrorCode.CONFLICT, "This transaction was already reversed", reversalId=earlier
                )
            moves: list[LedgerMove] = []
            for entry in originals:
                wallet = locked[entry.wallet_id]
                if wallet.status == WalletStatus.CLOSED:
                    raise AppError(ErrorCode.WALLET_CLOSED, "A wallet of this transaction is closed")
                mirror = Direction.DEBIT if entry.direction == Direction.CREDIT else Direction.CREDIT
                if mirror == Direction.DEBIT:
                    self._check_funds(wallet, entry.amount)
                move = self._post(session, reversal_id, wallet, mirror, entry.amount, now)
                locked[wallet.wallet_id] = _with_balance(wallet, move.balance_after)
                moves.append(move)
            assert _net(moves) == -_net_entries(originals), "a reversal mirrors every entry exactly"
            self._record(session, reversal_id, request, moves, now)
            return moves

        moves = await self._run_write(work)
        await self._announce(moves)
        return moves

    # ---- building blocks (all inside one write transaction) --------------------------------------

    def _lock(self, session: Session, wallet_ids: Iterable[str]) -> dict[str, WalletRecord]:
        """Lock the wallets (sorted ids: one global order, so no deadlock) and read them."""
        found: dict[str, WalletRecord] = {}
        for wallet_id in sorted(set(wallet_ids)):  # one statement per row keeps the lock order explicit
            if has_nul(wallet_id):
                continue  # no wallet has such an id: reported as not found
            row = session.execute(_LOCK_WALLET, {"b_wallet": wallet_id}).first()
            if row is not None:
                found[wallet_id] = _wallet_from_row(row)
        return found

    def _replay(
        self, session: Session, transaction_id: str, request: _Request, locked: Mapping[str, WalletRecord]
    ) -> list[LedgerMove] | None:
        """The original moves of a replay; None if the id is new; IDEMPOTENCY_KEY_REUSED on other input.

        `locked`: the wallets this unit of work locked, i.e. those the original moved."""
        row = session.execute(_FIND_OPERATION, {"b_tx": transaction_id}).first()
        if row is None:
            return None
        recorded = _Request(
            OperationKind(row.kind),
            user_id=row.user_id,
            wallet_id=row.wallet_id,
            to_wallet_id=row.to_wallet_id,
            amount=None if row.amount is None else int(row.amount),
            reverses_transaction_id=row.reverses_transaction_id,
        )
        if recorded != request:
            raise AppError(
                ErrorCode.IDEMPOTENCY_KEY_REUSED,
                "This transaction id was already used for a different operation",
                transactionId=transaction_id,
            )
        owners = {wallet_id: wallet.owner_id for wallet_id, wallet in locked.items()}
        return _moves_from_json(transaction_id, row.result, owners)

    def _require_movable(
        self, wallet: WalletRecord | None, owner_id: str | None, side: str = ""
    ) -> WalletRecord:
        if wallet is None:
            raise not_found(f"The {side}wallet was not found")
        if owner_id is not None and wallet.owner_id != owner_id:
            raise forbidden("The wallet does not belong to this user")
        if wallet.status == WalletStatus.CLOSED:
            raise AppError(ErrorCode.WALLET_CLOSED, f"The {side}wallet is closed")
        if wallet.status == WalletStatus.FROZEN:
            raise AppError(ErrorCode.WALLET_FROZEN, f"The {side}wallet is frozen")
        return wallet

    @staticmethod
    def _check_funds(wallet: WalletRecord, amount: int) -> None:
        if wallet.balance < amount:
            raise AppError(ErrorCode.INSUFFICIENT_FUNDS, "Insufficient funds")

    def _check_incoming(self, wallet: WalletRecord, amount: int, now: datetime) -> None:
        """Bank Indonesia limits for a registered account: maximum balance and monthly incoming."""
        if wallet.balance + amount > self.limits.max_balance_minor:
            raise AppError(
                ErrorCode.LIMIT_EXCEEDED,
                f"A wallet may hold at most {format_minor(self.limits.max_balance_minor)}",
                limit="MAX_BALANCE",
            )
        if wallet.received_in(month_key(now)) + amount > self.limits.monthly_incoming_limit_minor:
            raise AppError(
                ErrorCode.LIMIT_EXCEEDED,
                "A wallet may receive at most "
                f"{format_minor(self.limits.monthly_incoming_limit_minor)} per month",
                limit="MONTHLY_INCOMING",
            )

    @staticmethod
    def _post(
        session: Session,
        transaction_id: str,
        wallet: WalletRecord,
        direction: Direction,
        amount: int,
        now: datetime,
        *,
        receiving: bool = False,
    ) -> LedgerMove:
        """Change the balance (conditionally: never below zero) and append the matching entry.

        `receiving`: a credit that counts against the monthly incoming limit (not a reversal)."""
        delta = amount if direction == Direction.CREDIT else -amount
        params = {"b_wallet": wallet.wallet_id, "b_delta": delta, "b_now": now}
        if receiving:
            params["b_month"] = month_key(now)
        balance_after = session.execute(_RECEIVE if receiving else _MOVE, params).scalar()
        if balance_after is None:
            raise AppError(ErrorCode.INSUFFICIENT_FUNDS, "Insufficient funds")
        balance_after = int(balance_after)
        assert balance_after >= 0, "a balance never goes below zero"
        assert balance_after == wallet.balance + delta, "the wallet is locked, so nobody else moved it"
        entry_id = str(uuid.uuid4())
        session.execute(
            _ADD_ENTRY,
            {
                "entry_id": entry_id,
                "wallet_id": wallet.wallet_id,
                "transaction_id": transaction_id,
                "direction": direction.value,
                "amount": amount,
                "balance_after": balance_after,
                "created_at": now,
            },
        )
        return LedgerMove(
            transaction_id,
            wallet.wallet_id,
            wallet.owner_id,
            direction,
            amount,
            balance_after,
            entry_id=entry_id,
            created_at=now,
        )

    @staticmethod
    def _record(
        session: Session,
        transaction_id: str,
        request: _Request,
        moves: Sequence[LedgerMove],
        now: datetime,
    ) -> None:
        assert_movement(request.kind, request.amount, transaction_id, moves)
        session.execute(
            _ADD_OPERATION,
            {
                "transaction_id": transaction_id,
                "kind": request.kind.value,
                "user_id": request.user_id,
                "wallet_id": request.wallet_id,
                "to_wallet_id": request.to_wallet_id,
                "amount": request.amount,
                "reverses_transaction_id": request.reverses_transaction_id,
                "result": json.dumps([_move_to_json(move) for move in moves]),
                "created_at": now,
            },
        )

    def _check_amount(self, amount: int) -> None:
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise bad_input("Amount must be a whole number of minor units")
        if amount <= 0:
            raise bad_input("Amount must be greater than zero")
        if amount > self.money_max_minor:
            raise bad_input(f"Amount exceeds the maximum of {format_minor(self.money_max_minor)}")

    @staticmethod
    def _check_transaction_id(value: str, name: str = "transactionId") -> str:
        clean = (value or "").strip()
        if not 1 <= len(clean) <= TRANSACTION_ID_MAX_CHARS:
            raise bad_input(f"{name} must be 1 to {TRANSACTION_ID_MAX_CHARS} characters")
        if has_nul(clean):
            raise bad_input(f"{name} must not contain a NUL character")
        return clean


@dataclass(frozen=True)
class WalletDeps:
    """What the wallet's resolvers reach as `info.context.deps`."""

    database: Database
    service: WalletService


def _newest_first_page(
    session: Session, query: Any, item_id: Any, scope: Any, first: int, after: str | None
) -> list[Any]:
    """One page of `query` newest first; `after` must be an item inside `scope` (another owner's or
    wallet's id is an unknown cursor, revealing nothing)."""
    created_at = item_id.table.c.created_at
    if after is not None:
        anchor = (session.execute(select(created_at, item_id).where(item_id == after, scope))).first()
        if anchor is None:
            raise bad_input("Unknown cursor 'after'")
        query = query.where(older_than(created_at, item_id, *anchor))
    return list((session.execute(query.order_by(*newest_first(created_at, item_id)).limit(first))).all())


def _check_page(first: int) -> None:
    page_size(first)


def _signed(direction: Direction, amount: int) -> int:
    return amount if direction == Direction.CREDIT else -amount


def _net(moves: Sequence[LedgerMove]) -> int:
    return sum(_signed(move.direction, move.amount) for move in moves)


def _net_entries(entries: Sequence[EntryRecord]) -> int:
    return sum(_signed(Direction(entry.direction), entry.amount) for entry in entries)


def assert_movement(
    kind: OperationKind, amount: int | None, transaction_id: str, moves: Sequence[LedgerMove]
) -> None:
    """The ledger's rules at the point of each movement (TIGER_STYLE: a rule and its assertion),
    checked inside the unit of work so a broken one rolls back instead of committing:
    every entry carries this transaction id and a positive amount; one entry per wallet and
    direction; a top-up is one credit of the amount, a deduction one debit of it, a transfer one
    debit and one credit of it (net zero); balances were checked per entry in `_post`."""
    assert moves, "a movement posts at least one entry"
    assert all(move.transaction_id == transaction_id for move in moves), "entries carry their transaction id"
    assert all(move.amount > 0 for move in moves), "every entry moves a positive amount"
    sides = {(move.wallet_id, move.direction) for move in moves}
    assert len(sides) == len(moves), "one entry per wallet and direction per transaction id"
    directions = sorted(move.direction.value for move in moves)
    if kind == OperationKind.TOPUP:
        assert directions == ["CREDIT"] and moves[0].amount == amount, "a top-up credits its amount once"
    elif kind == OperationKind.DEDUCT:
        assert directions == ["DEBIT"] and moves[0].amount == amount, "a deduction debits its amount once"
    elif kind == OperationKind.TRANSFER:
        assert directions == ["CREDIT", "DEBIT"], "a transfer is one debit and one credit"
        assert all(move.amount == amount for move in moves) and _net(moves) == 0, "a transfer nets to zero"


def can_see(viewer: Principal | None, owner_id: str) -> bool:
    """Owners see their wallets; admins and services see every wallet; nobody else sees any."""
    if viewer is None:
        return False
    if viewer.kind == "service" or viewer.is_admin:
        return True
    return viewer.user_id == owner_id


def _with_balance(wallet: WalletRecord, balance: int) -> WalletRecord:
    return dataclasses.replace(wallet, balance=balance, version=wallet.version + 1)


def _event_of(move: LedgerMove) -> dict[str, Any]:
    """A committed movement as the bus carries it (JSON: amounts in minor units)."""
    return {
        "ownerId": move.owner_id,
        "walletId": move.wallet_id,
        "transactionId": move.transaction_id,
        "entryId": move.entry_id,
        "direction": move.direction.value,
        "amount": move.amount,
        "balanceAfter": move.balance_after,
        "createdAt": move.created_at.isoformat() if move.created_at else None,
    }


def _transfer_of(transaction_id: str, moves: list[LedgerMove], *, replayed: bool) -> TransferMove:
    debit = next(move for move in moves if move.direction == Direction.DEBIT)
    credit = next(move for move in moves if move.direction == Direction.CREDIT)
    return TransferMove(transaction_id, debit, credit, replayed=replayed)
