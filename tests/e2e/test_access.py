"""Through the router a user reaches only their own money, and service-only operations do not exist."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.e2e.flows import (
    balance,
    data_of,
    error_codes,
    failure_code,
    funded_wallet,
    marketplace_order,
    money_literal,
    order_by_va,
    pay,
    register_and_login,
)
from tests.support.stack import Stack


def same_answer_as_for_a_missing_id(stack: Stack, operation: str, real_id: str, token: str) -> dict[str, Any]:
    """The answer for another user's id, after proving it equals the answer for an id that does not exist."""
    missing_id = str(uuid.uuid4())
    real = stack.gql(operation % json.dumps(real_id), token=token)
    missing = stack.gql(operation % json.dumps(missing_id), token=token)
    assert json.dumps(real).replace(real_id, "<id>") == json.dumps(missing).replace(missing_id, "<id>"), (
        real,
        missing,
    )
    return real


def test_a_user_cannot_read_or_spend_another_users_wallet_or_transactions(stack: Stack):
    owner = funded_wallet(stack, 120_000, prefix="owner")
    owner_tx = data_of(stack.gql("{ myTransactions { transactionId } }", token=owner["token"]))
    tx_id = owner_tx["myTransactions"][0]["transactionId"]
    other = register_and_login(stack, prefix="nosy")
    wallet_id = json.dumps(owner["wallet"])

    wallet = same_answer_as_for_a_missing_id(
        stack, "{ wallet(walletId: %s) { walletId balance } }", owner["wallet"], other["token"]
    )
    assert (wallet.get("data") or {}).get("wallet") is None, wallet
    assert error_codes(wallet) in ([], ["NOT_FOUND"]), wallet
    assert "120000" not in json.dumps(wallet)

    tx = same_answer_as_for_a_missing_id(
        stack, "{ transaction(transactionId: %s) { transactionId amount } }", tx_id, other["token"]
    )
    assert (tx.get("data") or {}).get("transaction") is None, tx
    assert error_codes(tx) in ([], ["NOT_FOUND"]), tx
    assert "120000" not in json.dumps(tx)

    mine = data_of(
        stack.gql("{ myWallets { walletName } myTransactions { transactionId } }", token=other["token"])
    )
    assert mine == {"myWallets": [], "myTransactions": []}

    order = marketplace_order(stack)
    spend = pay(stack, other["token"], owner["wallet"], money_literal(order["totalHarga"]), order["nomorVA"])
    created = (spend.get("data") or {}).get("createTransaction")
    assert created is None or created["status"] in ("FAILED", "REJECTED"), spend
    assert failure_code(spend) in ("FORBIDDEN", "NOT_FOUND"), spend
    assert balance(stack, owner["token"], owner["wallet"]) == "120000.00"
    assert order_by_va(stack, order["nomorVA"])["paymentStatus"] == "UNPAID"

    anonymous = stack.gql(f"{{ wallet(walletId: {wallet_id}) {{ balance }} }}")
    assert error_codes(anonymous) == ["UNAUTHENTICATED"], anonymous


@pytest.mark.parametrize(
    "operation",
    [
        'mutation { topupWallet(input: {transactionId: "t1", userId: "u", walletId: "w", amount: 1}) '
        "{ balanceAfter } }",
        'mutation { deductWallet(input: {transactionId: "t2", userId: "u", walletId: "w", amount: 1}) '
        "{ balanceAfter } }",
        'mutation { checkFraud(input: {transactionId: "t3", userId: "u", walletId: "w", amount: 1, '
        'type: "PAYMENT"}) { status } }',
        'mutation { addHistory(input: {transactionId: "t4", userId: "u", walletId: "w", amount: 1, '
        'type: "DEPOSIT", status: "SUCCESS", occurredAt: "2026-01-01T00:00:00Z"}) { historyId } }',
        '{ movementsOf(transactionId: "t1") { amount } }',
        '{ _entities(representations: [{__typename: "Wallet", walletId: "w"}]) { __typename } }',
    ],
    ids=["topupWallet", "deductWallet", "checkFraud", "addHistory", "movementsOf", "_entities"],
)
def test_service_only_operations_are_not_in_the_routers_schema(stack: Stack, operation: str):
    user = register_and_login(stack, prefix="svc")
    body = stack.gql(operation, token=user["token"])
    assert body.get("data") is None, body
    assert error_codes(body) and set(error_codes(body)) == {"GRAPHQL_VALIDATION_FAILED"}, body
