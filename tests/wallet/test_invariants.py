"""The ledger's rules asserted at each movement: a broken movement raises inside the unit of work
(so it rolls back) instead of committing. Every movement is a balanced transfer of its kind's shape."""

from __future__ import annotations

import pytest

from subgraphs.wallet.models import AccountKind, Direction, OperationKind
from subgraphs.wallet.records import Request
from subgraphs.wallet.service import LedgerMove, assert_movement

TX = "tx-1"
KINDS = {
    "w1": AccountKind.CUSTOMER,
    "w2": AccountKind.CUSTOMER,
    "fund": AccountKind.FUNDING,
    "settle": AccountKind.SETTLEMENT,
    "payout": AccountKind.PAYOUT,
}


def move(wallet: str, direction: Direction, amount: int, tx: str = TX) -> LedgerMove:
    return LedgerMove(tx, wallet, "owner", direction, amount, 1_000)


def request(kind: OperationKind, amount: int | None = 500) -> Request:
    return Request(kind, amount_minor=amount)


def test_well_formed_movements_pass() -> None:
    topup = [move("fund", Direction.DEBIT, 500), move("w1", Direction.CREDIT, 500)]
    assert_movement(request(OperationKind.TOPUP), TX, topup, KINDS)
    payment = [move("w1", Direction.DEBIT, 500), move("settle", Direction.CREDIT, 500)]
    assert_movement(request(OperationKind.DEDUCT), TX, payment, KINDS)
    transfer = [move("w1", Direction.DEBIT, 500), move("w2", Direction.CREDIT, 500)]
    assert_movement(request(OperationKind.TRANSFER), TX, transfer, KINDS)
    payout = [move("settle", Direction.DEBIT, 500), move("payout", Direction.CREDIT, 500)]
    assert_movement(request(OperationKind.PAYOUT), TX, payout, KINDS)
    undo = [move("w1", Direction.CREDIT, 500), move("settle", Direction.DEBIT, 500)]
    assert_movement(request(OperationKind.REVERSAL, None), TX, undo, KINDS)


@pytest.mark.parametrize(
    ("kind", "moves", "rule"),
    [
        (OperationKind.TOPUP, [], "at least one entry"),
        (OperationKind.TOPUP, [move("w1", Direction.CREDIT, 500)], "balanced"),
        (
            OperationKind.TOPUP,
            [move("fund", Direction.DEBIT, 400), move("w1", Direction.CREDIT, 400)],
            "moves its amount",
        ),
        (
            OperationKind.TOPUP,
            [move("w2", Direction.DEBIT, 500), move("w1", Direction.CREDIT, 500)],
            "TOPUP's accounts",
        ),
        (
            OperationKind.DEDUCT,
            [move("w1", Direction.DEBIT, 500, "other"), move("settle", Direction.CREDIT, 500)],
            "carry their transaction id",
        ),
        (
            OperationKind.DEDUCT,
            [move("w1", Direction.DEBIT, 0), move("settle", Direction.CREDIT, 0)],
            "positive",
        ),
        (
            OperationKind.DEDUCT,
            [move("w1", Direction.DEBIT, 500), move("w2", Direction.CREDIT, 500)],
            "DEDUCT's accounts",
        ),
        (
            OperationKind.TRANSFER,
            [move("w1", Direction.DEBIT, 500), move("w2", Direction.CREDIT, 499)],
            "balanced",
        ),
        (
            OperationKind.TRANSFER,
            [move("w1", Direction.DEBIT, 500), move("w1", Direction.DEBIT, 500)],
            "one entry per account and direction",
        ),
        (
            OperationKind.PAYOUT,
            [move("settle", Direction.DEBIT, 500), move("w1", Direction.CREDIT, 500)],
            "PAYOUT's accounts",
        ),
        (OperationKind.REVERSAL, [move("w1", Direction.CREDIT, 500)], "balanced"),
    ],
)
def test_a_broken_movement_is_refused_by_its_rule(
    kind: OperationKind, moves: list[LedgerMove], rule: str
) -> None:
    with pytest.raises(AssertionError, match=rule):
        assert_movement(request(kind), TX, moves, KINDS)
