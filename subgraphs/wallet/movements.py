"""The money movements (topup, deduct, transfer, reverse): the exact, atomic, idempotent
double-entry ledger. Every movement is a balanced transfer between two accounts: a top-up from the
channel's funding account, a payment to the merchant's settlement account (accounts.py).

Every money movement is ONE database transaction that (1) locks the accounts it touches (SQLite:
the BEGIN IMMEDIATE write lock of `db.write()`; PostgreSQL: `SELECT ... FOR UPDATE` in sorted id
order, so two transfers in opposite directions cannot deadlock), (2) only then looks for the
transaction id's idempotency record (so a concurrent replay that waited for the lock sees the
committed original), (3) checks every rule, (4) moves the balances with conditional UPDATEs, appends
the ledger entries and inserts the idempotency record (postings.py). Nothing is decided across
transactions.

A unique violation on the idempotency record (a replay that raced past step 2), a deadlock or a
serialization failure rolls the whole transaction back and runs it again, a bounded number of times
(unit_of_work.py); the second run finds the original and answers it as a replay.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.clock import utcnow
from shared.db import has_nul
from shared.errors import AppError, ErrorCode, bad_input, forbidden, not_found
from shared.money import format_minor
from subgraphs.wallet.accounts import (
    SYSTEM_OWNER,
    SystemAccounts,
    check_merchant_id,
    merchant_accounts,
    merchant_of,
)
from subgraphs.wallet.config import WalletSettings
from subgraphs.wallet.events import Events
from subgraphs.wallet.models import AccountKind, Direction, OperationKind, WalletStatus
from subgraphs.wallet.postings import FIND_OPERATION, net, post, post_to_system, record_operation
from subgraphs.wallet.records import (
    LedgerMove,
    Request,
    TransferMove,
    WalletRecord,
    entries_t,
    entry_from_row,
    month_key,
    move_of,
    moves_from_json,
    operations_t,
    transfer_of,
    with_balance,
)
from subgraphs.wallet.unit_of_work import UnitOfWork

TRANSACTION_ID_MAX_CHARS = 128


@dataclass(frozen=True)
class SystemLeg:
    """A movement between a customer wallet and a system account: the wallet's side, the account's kind."""

    direction: Direction
    system_kind: AccountKind


FROM_FUNDING = SystemLeg(Direction.CREDIT, AccountKind.FUNDING)  # a top-up
TO_SETTLEMENT = SystemLeg(Direction.DEBIT, AccountKind.SETTLEMENT)  # a payment


class Movements:
    """The four movements; each is one unit of work, announced after it commits."""

    def __init__(
        self,
        unit_of_work: UnitOfWork,
        events: Events,
        limits: WalletSettings,
        money_max_minor: int,
        accounts: SystemAccounts,
    ) -> None:
        self.unit_of_work = unit_of_work
        self.events = events
        self.limits = limits
        self.money_max_minor = money_max_minor
        self.accounts = accounts

    async def topup(
        self, *, transaction_id: str, user_id: str, wallet_id: str, amount_minor: int
    ) -> LedgerMove:
        """Money entering the platform (a DEPOSIT): from the channel's funding account to the user's
        own wallet."""
        transaction_id = self._check_movement(transaction_id, amount_minor)
        funding_id = await self.accounts.funding()
        request = Request(
            OperationKind.TOPUP, user_id=user_id, wallet_id=wallet_id, amount_minor=amount_minor
        )
        return await self._with_system(request, transaction_id, FROM_FUNDING, funding_id)

    async def deduct(
        self,
        *,
        transaction_id: str,
        user_id: str,
        wallet_id: str,
        amount_minor: int,
        merchant_id: str | None = None,
    ) -> LedgerMove:
        """A payment (a PAYMENT by VA): from the user's own wallet to the merchant's settlement
        account (the seed's marketplace unless the invoice names another merchant)."""
        transaction_id = self._check_movement(transaction_id, amount_minor)
        settlement_id = (await self.accounts.merchant(check_merchant_id(merchant_id))).settlement
        request = Request(
            OperationKind.DEDUCT,
            user_id=user_id,
            wallet_id=wallet_id,
            to_wallet_id=settlement_id,
            amount_minor=amount_minor,
        )
        return await self._with_system(request, transaction_id, TO_SETTLEMENT, settlement_id)

    async def _with_system(
        self, request: Request, transaction_id: str, leg: SystemLeg, system_id: str
    ) -> LedgerMove:
        """One movement between the user's own wallet and a system account (`leg`: which side and
        kind), in one unit of work; the wallet's move, announced after COMMIT."""
        wallet_id, user_id = request.wallet_id or "", request.user_id
        amount_minor = request.amount_minor or 0
        direction, system_kind = leg.direction, leg.system_kind
        other = direction.opposite
        receiving = direction == Direction.CREDIT

        def work(session: Session) -> LedgerMove:
            now = utcnow()
            locked = self.unit_of_work.lock(session, [wallet_id])
            replay = self._replay(session, transaction_id, request, locked)
            if replay is not None:
                return move_of(replay, wallet_id)
            wallet = self._require_movable(locked.get(wallet_id), user_id)
            if receiving:
                self._check_incoming(wallet, amount_minor, now)
            else:
                self._check_funds(wallet, amount_minor)
            moves = [
                post(session, transaction_id, wallet, direction, amount_minor, now, receiving=receiving),
                post_to_system(session, transaction_id, system_id, system_kind, other, amount_minor, now),
            ]
            kinds = {wallet_id: AccountKind.CUSTOMER, system_id: system_kind}
            record_operation(session, transaction_id, request, moves, kinds, now)
            return moves[0]

        move = await self.unit_of_work.run_write(work)
        await self.events.announce([move])
        return move

    async def transfer(
        self, *, transaction_id: str, user_id: str, from_wallet_id: str, to_wallet_id: str, amount_minor: int
    ) -> TransferMove:
        """Move money from the user's wallet to any ACTIVE wallet: both entries in one transaction."""
        transaction_id = self._check_movement(transaction_id, amount_minor)
        if from_wallet_id == to_wallet_id:
            raise bad_input("A transfer needs two different wallets")
        request = Request(
            OperationKind.TRANSFER,
            user_id=user_id,
            wallet_id=from_wallet_id,
            to_wallet_id=to_wallet_id,
            amount_minor=amount_minor,
        )

        def work(session: Session) -> TransferMove:
            now = utcnow()
            locked = self.unit_of_work.lock(session, [from_wallet_id, to_wallet_id])
            replay = self._replay(session, transaction_id, request, locked)
            if replay is not None:
                return transfer_of(transaction_id, replay, replayed=True)
            source = self._require_movable(locked.get(from_wallet_id), user_id)
            target = self._require_movable(locked.get(to_wallet_id), None, side="receiving ")
            self._check_funds(source, amount_minor)
            self._check_incoming(target, amount_minor, now)
            debit = post(session, transaction_id, source, Direction.DEBIT, amount_minor, now)
            credit = post(
                session, transaction_id, target, Direction.CREDIT, amount_minor, now, receiving=True
            )
            record_operation(session, transaction_id, request, [debit, credit], _kinds(locked), now)
            return TransferMove(transaction_id, debit, credit)

        transfer = await self.unit_of_work.run_write(work)
        if not transfer.replayed:
            await self.events.announce([transfer.debit, transfer.credit])
        return transfer

    async def reverse(self, *, transaction_id: str, reversal_id: str) -> list[LedgerMove]:
        """Post the exact mirror of every entry of `transaction_id` under `reversal_id`, atomically.

        A compensation: it ignores freezes and the incoming limits (it only undoes a movement),
        but never drives a customer's balance below zero and never touches a CLOSED wallet. A
        payment's merchant gives the money back from its settlement account, or, once that was paid
        out, owes it (its suspense account). A transaction id is reversed at most once; [] (and
        nothing recorded) when it moved nothing. Payouts are not reversed here.
        """
        transaction_id = check_transaction_id(transaction_id)
        reversal_id = check_transaction_id(reversal_id, "reversalId")
        if reversal_id == transaction_id:
            raise bad_input("reversalId must differ from transactionId")
        request = Request(OperationKind.REVERSAL, reverses_transaction_id=transaction_id)

        def work(session: Session) -> list[LedgerMove]:
            now = utcnow()
            originals = [
                entry_from_row(row)
                for row in session.execute(
                    select(entries_t)
                    .where(entries_t.c.transaction_id == transaction_id)
                    .order_by(entries_t.c.direction.desc(), entries_t.c.entry_id)
                ).all()
            ]
            suspense = {
                entry.wallet_id: merchant_accounts(merchant).suspense
                for entry in originals
                if (merchant := merchant_of(entry.wallet_id)) is not None
            }
            locked = self.unit_of_work.lock(
                session, [entry.wallet_id for entry in originals] + list(suspense.values())
            )
            replay = self._replay(session, reversal_id, request, locked)
            if replay is not None:
                return replay
            if not originals:
                return []
            self._check_reversible(session, transaction_id)
            moves: list[LedgerMove] = []
            for entry in originals:
                account = locked[entry.wallet_id]
                mirror = entry.direction.opposite
                if account.kind == AccountKind.CUSTOMER:
                    if account.status == WalletStatus.CLOSED:
                        raise AppError(ErrorCode.WALLET_CLOSED, "A wallet of this transaction is closed")
                    if mirror == Direction.DEBIT:
                        self._check_funds(account, entry.amount_minor)
                elif mirror == Direction.DEBIT and account.balance < entry.amount_minor:
                    account = locked[suspense[account.wallet_id]]  # already paid out: the merchant owes it
                move = post(session, reversal_id, account, mirror, entry.amount_minor, now)
                locked[account.wallet_id] = with_balance(account, move.balance_after)
                moves.append(move)
            assert net(moves) == 0, "a reversal of a balanced movement is balanced"
            record_operation(session, reversal_id, request, moves, _kinds(locked), now)
            return moves

        moves = await self.unit_of_work.run_write(work)
        await self.events.announce(customer_moves(moves))
        return moves

    # ---- rules (all inside one write transaction) ------------------------------------------------

    def _replay(
        self, session: Session, transaction_id: str, request: Request, locked: Mapping[str, WalletRecord]
    ) -> list[LedgerMove] | None:
        """The original moves of a replay; None if the id is new; IDEMPOTENCY_KEY_REUSED on other input.

        `locked`: the accounts this unit of work locked, i.e. those the original moved."""
        row = session.execute(FIND_OPERATION, {"b_tx": transaction_id}).first()
        if row is None:
            return None
        recorded = Request(
            OperationKind(row.kind),
            user_id=row.user_id,
            wallet_id=row.wallet_id,
            to_wallet_id=row.to_wallet_id,
            amount_minor=None if row.amount_minor is None else int(row.amount_minor),
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

    @staticmethod
    def _check_reversible(session: Session, transaction_id: str) -> None:
        kinds = session.execute(
            select(operations_t.c.transaction_id, operations_t.c.kind).where(
                (operations_t.c.reverses_transaction_id == transaction_id)
                | (operations_t.c.transaction_id == transaction_id)
            )
        ).all()
        if any(
            row.kind == OperationKind.PAYOUT.value for row in kinds if row.transaction_id == transaction_id
        ):
            raise bad_input("A merchant payout is not reversed")
        earlier = next((row.transaction_id for row in kinds if row.transaction_id != transaction_id), None)
        if earlier is not None:
            raise AppError(ErrorCode.CONFLICT, "This transaction was already reversed", reversalId=earlier)

    def _require_movable(
        self, wallet: WalletRecord | None, owner_id: str | None, side: str = ""
    ) -> WalletRecord:
        if wallet is None or wallet.kind != AccountKind.CUSTOMER:
            raise not_found(f"The {side}wallet was not found")
        if owner_id is not None and wallet.owner_id != owner_id:
            raise forbidden("The wallet does not belong to this user")
        if wallet.status == WalletStatus.CLOSED:
            raise AppError(ErrorCode.WALLET_CLOSED, f"The {side}wallet is closed")
        if wallet.status == WalletStatus.FROZEN:
            raise AppError(ErrorCode.WALLET_FROZEN, f"The {side}wallet is frozen")
        return wallet

    @staticmethod
    def _check_funds(wallet: WalletRecord, amount_minor: int) -> None:
        if wallet.balance < amount_minor:
            raise AppError(ErrorCode.INSUFFICIENT_FUNDS, "Insufficient funds")

    def _check_incoming(self, wallet: WalletRecord, amount_minor: int, now: datetime) -> None:
        """Bank Indonesia limits for a registered account: maximum balance and monthly incoming."""
        if wallet.balance + amount_minor > self.limits.max_balance_minor:
            raise AppError(
                ErrorCode.LIMIT_EXCEEDED,
                f"A wallet may hold at most {format_minor(self.limits.max_balance_minor)}",
                limit="MAX_BALANCE",
            )
        if wallet.received_in(month_key(now)) + amount_minor > self.limits.monthly_incoming_limit_minor:
            raise AppError(
                ErrorCode.LIMIT_EXCEEDED,
                "A wallet may receive at most "
                f"{format_minor(self.limits.monthly_incoming_limit_minor)} per month",
                limit="MONTHLY_INCOMING",
            )

    def _check_movement(self, transaction_id: str, amount_minor: int) -> str:
        """The movement's transaction id, trimmed; BAD_USER_INPUT on a bad id or amount."""
        transaction_id = check_transaction_id(transaction_id)
        if isinstance(amount_minor, bool) or not isinstance(amount_minor, int):
            raise bad_input("Amount must be a whole number of minor units")
        if amount_minor <= 0:
            raise bad_input("Amount must be greater than zero")
        if amount_minor > self.money_max_minor:
            raise bad_input(f"Amount exceeds the maximum of {format_minor(self.money_max_minor)}")
        return transaction_id


def check_transaction_id(value: str, name: str = "transactionId") -> str:
    clean = (value or "").strip()
    if not 1 <= len(clean) <= TRANSACTION_ID_MAX_CHARS:
        raise bad_input(f"{name} must be 1 to {TRANSACTION_ID_MAX_CHARS} characters")
    if has_nul(clean):
        raise bad_input(f"{name} must not contain a NUL character")
    return clean


def _kinds(locked: Mapping[str, WalletRecord]) -> dict[str, AccountKind]:
    return {account_id: account.kind for account_id, account in locked.items()}


def customer_moves(moves: list[LedgerMove]) -> list[LedgerMove]:
    """The moves users can see (and subscribe to): those of customer wallets."""
    return [move for move in moves if move.owner_id != SYSTEM_OWNER]
