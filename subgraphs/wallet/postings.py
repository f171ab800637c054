"""Posting to the ledger inside one write transaction: move one account's balance and append its
entry, record the operation's idempotency record, and the assertions every movement must pass.

Shared by the movements (movements.py) and the merchant payouts (settlement.py): both post balanced
transfers (one debit and one credit of the same amount per pair of accounts), so the sum of all
balances never changes from zero.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, case, insert, select, update
from sqlalchemy.orm import Session

from shared.errors import AppError, ErrorCode
from subgraphs.wallet.accounts import SYSTEM_OWNER
from subgraphs.wallet.models import MAY_GO_NEGATIVE, AccountKind, Direction, OperationKind
from subgraphs.wallet.records import (
    LedgerMove,
    Request,
    WalletRecord,
    entries_t,
    month_key,
    move_to_json,
    operations_t,
    wallets_t,
)

# The statements of a posting, built once: SQLAlchemy then reuses their compiled form.
FIND_OPERATION = select(operations_t).where(operations_t.c.transaction_id == bindparam("b_tx"))
_MOVE_ANY = (
    update(wallets_t)
    .where(wallets_t.c.wallet_id == bindparam("b_wallet"))
    .values(
        balance=wallets_t.c.balance + bindparam("b_delta"),
        version=wallets_t.c.version + 1,
        updated_at=bindparam("b_now"),
    )
    .returning(wallets_t.c.balance)
)
# Never below zero: the condition is the last guard after the service's own funds check.
_MOVE = _MOVE_ANY.where(wallets_t.c.balance + bindparam("b_delta") >= 0)
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


def signed(direction: Direction, amount_minor: int) -> int:
    return amount_minor if direction == Direction.CREDIT else -amount_minor


def net(moves: Sequence[LedgerMove]) -> int:
    return sum(signed(move.direction, move.amount_minor) for move in moves)


def post(
    session: Session,
    transaction_id: str,
    account: WalletRecord,
    direction: Direction,
    amount_minor: int,
    now: datetime,
    *,
    receiving: bool = False,
) -> LedgerMove:
    """Change a locked account's balance (conditionally: never below zero, except for the kinds that
    mirror money outside the platform); its entry is appended by `record_operation`.

    `receiving`: a customer's credit that counts against the monthly incoming limit (not a reversal)."""
    move = _move(session, transaction_id, account.wallet_id, account.owner_id, account.kind, direction,
                 amount_minor, now, receiving=receiving)  # fmt: skip
    assert move.balance_after == account.balance + signed(direction, amount_minor), (
        "the account is locked, so nobody else moved it"
    )
    return move


def post_to_system(
    session: Session,
    transaction_id: str,
    account_id: str,
    kind: AccountKind,
    direction: Direction,
    amount_minor: int,
    now: datetime,
) -> LedgerMove:
    """The other side of a top-up or a payment, on a system account that is NOT locked first: no rule
    reads its balance, so its row lock is taken by this UPDATE and held only to COMMIT, the last
    statements of the unit of work (every payment meets the same settlement row: the shorter the
    hold, the more payments per second)."""
    return _move(session, transaction_id, account_id, SYSTEM_OWNER, kind, direction, amount_minor, now)


def _move(
    session: Session,
    transaction_id: str,
    account_id: str,
    owner_id: str,
    kind: AccountKind,
    direction: Direction,
    amount_minor: int,
    now: datetime,
    *,
    receiving: bool = False,
) -> LedgerMove:
    params = {"b_wallet": account_id, "b_delta": signed(direction, amount_minor), "b_now": now}
    if receiving:
        params["b_month"] = month_key(now)
        statement = _RECEIVE
    else:
        statement = _MOVE_ANY if kind in MAY_GO_NEGATIVE else _MOVE
    balance_after = session.execute(statement, params).scalar()
    if balance_after is None:
        raise AppError(ErrorCode.INSUFFICIENT_FUNDS, "Insufficient funds")
    balance_after = int(balance_after)
    assert balance_after >= 0 or kind in MAY_GO_NEGATIVE, "only a mirror account goes below zero"
    return LedgerMove(
        transaction_id,
        account_id,
        owner_id,
        direction,
        amount_minor,
        balance_after,
        entry_id=str(uuid.uuid4()),
        created_at=now,
    )


def record_operation(
    session: Session,
    transaction_id: str,
    request: Request,
    moves: Sequence[LedgerMove],
    kinds: dict[str, AccountKind],
    now: datetime,
) -> None:
    """The movement's entries (one statement) and its idempotency record, after the ledger's rules
    were asserted."""
    assert_movement(request, transaction_id, moves, kinds)
    session.execute(
        _ADD_ENTRY,
        [
            {
                "entry_id": move.entry_id,
                "wallet_id": move.wallet_id,
                "transaction_id": transaction_id,
                "direction": move.direction.value,
                "amount_minor": move.amount_minor,
                "balance_after": move.balance_after,
                "created_at": move.created_at,
            }
            for move in moves
        ],
    )
    session.execute(
        _ADD_OPERATION,
        {
            "transaction_id": transaction_id,
            "kind": request.kind.value,
            "user_id": request.user_id,
            "wallet_id": request.wallet_id,
            "to_wallet_id": request.to_wallet_id,
            "amount_minor": request.amount_minor,
            "reverses_transaction_id": request.reverses_transaction_id,
            "result": json.dumps([move_to_json(move) for move in moves]),
            "created_at": now,
        },
    )


def assert_movement(
    request: Request, transaction_id: str, moves: Sequence[LedgerMove], kinds: dict[str, AccountKind]
) -> None:
    """The ledger's rules at the point of each movement (TIGER_STYLE: a rule and its assertion),
    checked inside the unit of work so a broken one rolls back instead of committing: every entry
    carries this transaction id and a positive amount; one entry per account and direction; the
    entries balance (debits == credits); and each kind has its shape: a top-up debits a funding
    account and credits a customer, a payment debits a customer and credits a settlement account, a
    transfer moves between two customers, a payout from settlement to payout; all of the amount."""
    assert moves, "a movement posts at least one entry"
    assert all(move.transaction_id == transaction_id for move in moves), "entries carry their transaction id"
    assert all(move.amount_minor > 0 for move in moves), "every entry moves a positive amount"
    sides = {(move.wallet_id, move.direction) for move in moves}
    assert len(sides) == len(moves), "one entry per account and direction per transaction id"
    assert net(moves) == 0, "every movement is balanced: its debits equal its credits"
    shape = {
        OperationKind.TOPUP: (AccountKind.FUNDING, AccountKind.CUSTOMER),
        OperationKind.DEDUCT: (AccountKind.CUSTOMER, AccountKind.SETTLEMENT),
        OperationKind.TRANSFER: (AccountKind.CUSTOMER, AccountKind.CUSTOMER),
        OperationKind.PAYOUT: (AccountKind.SETTLEMENT, AccountKind.PAYOUT),
    }.get(request.kind)
    if shape is None:  # a reversal mirrors whatever the original posted
        return
    debits = [move for move in moves if move.direction == Direction.DEBIT]
    credits = [move for move in moves if move.direction == Direction.CREDIT]
    assert len(debits) == 1 and len(credits) == 1, f"a {request.kind.value} is one debit and one credit"
    assert (kinds[debits[0].wallet_id], kinds[credits[0].wallet_id]) == shape, (
        f"a {request.kind.value}'s accounts"
    )
    if request.amount_minor is not None:
        assert debits[0].amount_minor == request.amount_minor, f"a {request.kind.value} moves its amount"
