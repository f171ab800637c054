"""The money movements (topup, deduct, transfer, reverse) and their building blocks: the exact, atomic,
idempotent double-entry ledger.

Every money movement is ONE database transaction that (1) locks the wallets it touches (SQLite:
the BEGIN IMMEDIATE write lock of `db.write()`; PostgreSQL: `SELECT ... FOR UPDATE` in sorted id
order, so two transfers in opposite directions cannot deadlock), (2) only then looks for the
transaction id's idempotency record (so a concurrent replay that waited for the lock sees the
committed original), (3) checks every rule, (4) moves the balance with a conditional UPDATE, appends
the ledger entries and inserts the idempotency record. Nothing is decided across transactions.

A unique violation on the idempotency record (a replay that raced past step 2), a deadlock or a
serialization failure rolls the whole transaction back and runs it again, a bounded number of times
(unit_of_work.py); the second run finds the original and answers it as a replay.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import bindparam, case, insert, select, update
from sqlalchemy.orm import Session

from shared.db import has_nul
from shared.errors import AppError, ErrorCode, bad_input, forbidden, not_found
from shared.money import format_minor
from subgraphs.wallet.config import WalletSettings
from subgraphs.wallet.events import Events
from subgraphs.wallet.models import Direction, OperationKind, WalletStatus, utcnow
from subgraphs.wallet.records import (
    EntryRecord,
    LedgerMove,
    Request,
    TransferMove,
    WalletRecord,
    entries_t,
    entry_from_row,
    month_key,
    move_to_json,
    moves_from_json,
    operations_t,
    transfer_of,
    wallets_t,
    with_balance,
)
from subgraphs.wallet.unit_of_work import UnitOfWork

TRANSACTION_ID_MAX_CHARS = 128

# The statements of a money movement, built once: SQLAlchemy then reuses their compiled form.
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
_ADD_OPERATION = insert(operations_t)


class Movements:
    """The four movements; each is one unit of work, announced after it commits."""

    def __init__(
        self, unit_of_work: UnitOfWork, events: Events, limits: WalletSettings, money_max_minor: int
    ) -> None:
        self.unit_of_work = unit_of_work
        self.events = events
        self.limits = limits
        self.money_max_minor = money_max_minor

    async def topup(self, *, transaction_id: str, user_id: str, wallet_id: str, amount: int) -> LedgerMove:
        """Credit money that enters the platform (a DEPOSIT) to the user's own wallet."""
        transaction_id = self._check_transaction_id(transaction_id)
        self._check_amount(amount)
        request = Request(OperationKind.TOPUP, user_id=user_id, wallet_id=wallet_id, amount=amount)

        def work(session: Session) -> LedgerMove:
            now = utcnow()
            locked = self.unit_of_work.lock(session, [wallet_id])
            replay = self._replay(session, transaction_id, request, locked)
            if replay is not None:
                return replay[0]
            wallet = self._require_movable(locked.get(wallet_id), user_id)
            self._check_incoming(wallet, amount, now)
            move = self._post(session, transaction_id, wallet, Direction.CREDIT, amount, now, receiving=True)
            self._record(session, transaction_id, request, [move], now)
            return move

        move = await self.unit_of_work.run_write(work)
        await self.events.announce([move])
        return move

    async def deduct(self, *, transaction_id: str, user_id: str, wallet_id: str, amount: int) -> LedgerMove:
        """Debit money that leaves the platform (a PAYMENT) from the user's own wallet."""
        transaction_id = self._check_transaction_id(transaction_id)
        self._check_amount(amount)
        request = Request(OperationKind.DEDUCT, user_id=user_id, wallet_id=wallet_id, amount=amount)

        def work(session: Session) -> LedgerMove:
            now = utcnow()
            locked = self.unit_of_work.lock(session, [wallet_id])
            replay = self._replay(session, transaction_id, request, locked)
            if replay is not None:
                return replay[0]
            wallet = self._require_movable(locked.get(wallet_id), user_id)
            self._check_funds(wallet, amount)
            move = self._post(session, transaction_id, wallet, Direction.DEBIT, amount, now)
            self._record(session, transaction_id, request, [move], now)
            return move

        move = await self.unit_of_work.run_write(work)
        await self.events.announce([move])
        return move

    async def transfer(
        self, *, transaction_id: str, user_id: str, from_wallet_id: str, to_wallet_id: str, amount: int
    ) -> TransferMove:
        """Move money from the user's wallet to any ACTIVE wallet: both entries in one transaction."""
        transaction_id = self._check_transaction_id(transaction_id)
        self._check_amount(amount)
        if from_wallet_id == to_wallet_id:
            raise bad_input("A transfer needs two different wallets")
        request = Request(
            OperationKind.TRANSFER,
            user_id=user_id,
            wallet_id=from_wallet_id,
            to_wallet_id=to_wallet_id,
            amount=amount,
        )

        def work(session: Session) -> TransferMove:
            now = utcnow()
            locked = self.unit_of_work.lock(session, [from_wallet_id, to_wallet_id])
            replay = self._replay(session, transaction_id, request, locked)
            if replay is not None:
                return transfer_of(transaction_id, replay, replayed=True)
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

        transfer = await self.unit_of_work.run_write(work)
        if not transfer.replayed:
            await self.events.announce([transfer.debit, transfer.credit])
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
        request = Request(OperationKind.REVERSAL, reverses_transaction_id=transaction_id)

        def work(session: Session) -> list[LedgerMove]:
            now = utcnow()
            originals = [
                entry_from_row(row)
                for row in (
                    session.execute(
                        select(entries_t)
                        .where(entries_t.c.transaction_id == transaction_id)
                        .order_by(entries_t.c.direction.desc(), entries_t.c.entry_id)
                    )
                ).all()
            ]
            locked = self.unit_of_work.lock(session, [entry.wallet_id for entry in originals])
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
                locked[wallet.wallet_id] = with_balance(wallet, move.balance_after)
                moves.append(move)
            assert _net(moves) == -_net_entries(originals), "a reversal mirrors every entry exactly"
            self._record(session, reversal_id, request, moves, now)
            return moves

        moves = await self.unit_of_work.run_write(work)
        await self.events.announce(moves)
        return moves

    # ---- building blocks (all inside one write transaction) --------------------------------------

    def _replay(
        self, session: Session, transaction_id: str, request: Request, locked: Mapping[str, WalletRecord]
    ) -> list[LedgerMove] | None:
        """The original moves of a replay; None if the id is new; IDEMPOTENCY_KEY_REUSED on other input.

        `locked`: the wallets this unit of work locked, i.e. those the original moved."""
        row = session.execute(_FIND_OPERATION, {"b_tx": transaction_id}).first()
        if row is None:
            return None
        recorded = Request(
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
        return moves_from_json(transaction_id, row.result, owners)

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
        request: Request,
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
                "result": json.dumps([move_to_json(move) for move in moves]),
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
