"""The ledger's rules asserted at each movement: a broken movement raises inside the unit of work
(so it rolls back) instead of committing."""

from __future__ import annotations

import pytest

from subgraphs.wallet.models import Direction, OperationKind
from subgraphs.wallet.service import LedgerMove, assert_movement

TX = "tx-1"


def move(wallet: str, direction: Direction, amount: int, tx: str = TX) -> LedgerMove:
    return LedgerMove(tx, wallet, "owner", direction, amount, 1_000)


def test_well_formed_movements_pass() -> None:
    assert_movement(OperationKind.TOPUP, 500, TX, [move("w1", Direction.CREDIT, 500)])
    assert_movement(OperationKind.DEDUCT, 500, TX, [move("w1", Direction.DEBIT, 500)])
    transfer = [move("w1", Direction.DEBIT, 500), move("w2", Direction.CREDIT, 500)]
    assert_movement(OperationKind.TRANSFER, 500, TX, transfer)
    assert_movement(OperationKind.REVERSAL, None, TX, [move("w2", Direction.DEBIT, 500)])


@pytest.mark.parametrize(
    ("kind", "amount", "moves", "rule"),
    [
        (OperationKind.TOPUP, 500, [], "at least one entry"),
        (OperationKind.TOPUP, 500, [move("w1", Direction.CREDIT, 400)], "credits its amount once"),
        (OperationKind.TOPUP, 500, [move("w1", Direction.DEBIT, 500)], "credits its amount once"),
        (
            OperationKind.DEDUCT,
            500,
            [move("w1", Direction.DEBIT, 500, "other")],
            "carry their transaction id",
        ),
        (OperationKind.DEDUCT, 500, [move("w1", Direction.DEBIT, 0)], "positive amount"),
        (
            OperationKind.TRANSFER,
            500,
            [move("w1", Direction.DEBIT, 500), move("w2", Direction.CREDIT, 499)],
            "nets to zero",
        ),
        (
            OperationKind.TRANSFER,
            500,
            [move("w1", Direction.DEBIT, 500), move("w1", Direction.DEBIT, 500)],
            "one entry per wallet and direction",
        ),
        (OperationKind.TRANSFER, 500, [move("w1", Direction.DEBIT, 500)], "one debit and one credit"),
    ],
)
def test_a_broken_movement_is_refused_by_its_rule(
    kind: OperationKind, amount: int, moves: list[LedgerMove], rule: str
) -> None:
    with pytest.raises(AssertionError, match=rule):
        assert_movement(kind, amount, TX, moves)
