"""The double-entry ledger through the router, on real processes (SQLite and PostgreSQL): after a
mixed concurrent load of deposits, transfers, VA payments and reversals the trial balance is
balanced and sums to exactly zero; the marketplace's statement lists exactly the VA payments settled
to it; a payout empties its settlement account."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.e2e.flows import (
    CREATE_TX,
    admin_token,
    data_of,
    error_codes,
    funded_wallet,
    marketplace_order,
    money_literal,
    pay,
)
from tests.support.stack import Stack

TRIAL_BALANCE = """{ trialBalance { balanced debitTotal creditTotal balanceTotal
  accounts { accountId kind balance } } }"""
STATEMENT = """query ($after: String) {
  merchantStatement(merchantId: "marketplace", first: 200, after: $after) {
    entryId transactionId kind direction amount batchId
    transaction { transactionId type vaNumber status } } }"""
SETTLE = """mutation ($k: String!) { settleMerchant(merchantId: "marketplace", idempotencyKey: $k) {
  batchId total paymentCount lines { transactionId kind amount } } }"""
REVERSE = 'mutation ($t: ID!) { reverseTransaction(transactionId: $t, reason: "uji buku besar") { status } }'


def settle_everything(stack: Stack, admin: str, key: str) -> dict[str, Any] | None:
    body = stack.gql(SETTLE, {"k": key}, token=admin)
    if error_codes(body) == ["NOTHING_TO_SETTLE"]:
        return None
    return dict(data_of(body)["settleMerchant"])


def open_lines(stack: Stack, admin: str) -> list[dict[str, Any]]:
    """The marketplace's statement lines no payout batch has closed yet."""
    lines = data_of(stack.gql(STATEMENT, {"after": None}, token=admin))["merchantStatement"]
    return [line for line in lines if line["batchId"] is None]


def settlement_balance(report: dict[str, Any]) -> str:
    return next(a["balance"] for a in report["accounts"] if a["accountId"] == "sys:settlement:marketplace")


def run_step(
    stack: Stack, payers: list[dict[str, str]], orders: list[dict[str, Any]], step: tuple[str, int]
) -> dict[str, Any]:
    """One request of the mixed load: a VA payment of a bill, a deposit or a transfer."""
    kind, index = step
    payer, other = payers[index % 4], payers[(index + 1) % 4]
    if kind == "pay":
        order = orders[index]
        return pay(
            stack, payer["token"], payer["wallet"], money_literal(order["totalHarga"]), order["nomorVA"]
        )
    if kind == "deposit":
        move = {"walletId": payer["wallet"], "amount": 1_000 + index, "type": "DEPOSIT"}
    else:
        move = {
            "walletId": payer["wallet"],
            "amount": 500 + index,
            "type": "TRANSFER",
            "toWalletId": other["wallet"],
        }
    return stack.gql(CREATE_TX, {"input": move}, token=payer["token"])


def run_the_mixed_load(
    stack: Stack, payers: list[dict[str, str]], orders: list[dict[str, Any]]
) -> tuple[list[tuple[str, dict[str, Any]]], list[str]]:
    """Six each of payments, deposits and transfers at once; some payments succeed. Returns them."""
    steps = (
        [("pay", i) for i in range(6)]
        + [("deposit", i) for i in range(6)]
        + [("transfer", i) for i in range(6)]
    )
    with ThreadPoolExecutor(max_workers=9) as pool:
        results = list(pool.map(lambda step: run_step(stack, payers, orders, step), steps))
    done = [
        (kind, (body.get("data") or {}).get("createTransaction") or {})
        for (kind, _), body in zip(steps, results, strict=True)
    ]
    paid = [tx["transactionId"] for kind, tx in done if kind == "pay" and tx.get("status") == "SUCCESS"]
    assert paid, results[:6]
    return done, paid


def reverse_a_payment_and_a_transfer(
    stack: Stack, admin: str, done: list[tuple[str, dict[str, Any]]], paid: list[str]
) -> None:
    """One payment and one transfer, reversed concurrently with each other, are both REVERSED."""
    transfers = [
        tx["transactionId"] for kind, tx in done if kind == "transfer" and tx.get("status") == "SUCCESS"
    ]
    to_reverse = [paid[0]] + transfers[:1]
    with ThreadPoolExecutor(max_workers=2) as pool:
        reversed_ = list(pool.map(lambda t: stack.gql(REVERSE, {"t": t}, token=admin), to_reverse))
    assert all(data_of(body)["reverseTransaction"]["status"] == "REVERSED" for body in reversed_), reversed_


def check_the_trial_balance(stack: Stack, admin: str) -> dict[str, Any]:
    """The trial balance is balanced and sums to exactly zero; returns it."""
    report = data_of(stack.gql(TRIAL_BALANCE, None, token=admin))["trialBalance"]
    assert report["balanced"] is True, report
    assert report["balanceTotal"] == "0.00" and report["debitTotal"] == report["creditTotal"]
    assert sum(float(a["balance"]) for a in report["accounts"]) == 0
    return dict(report)


def check_the_statement(
    stack: Stack, admin: str, orders: list[dict[str, Any]], paid: list[str], report: dict[str, Any]
) -> None:
    """The statement holds exactly the successful VA payments and the one reversal of them."""
    lines = open_lines(stack, admin)
    payments = sorted(line["transactionId"] for line in lines if line["kind"] == "PAYMENT")
    assert payments == sorted(paid)
    vas = {order["nomorVA"]: float(order["totalHarga"]) for order in orders}
    for line in lines:
        if line["kind"] == "PAYMENT":  # each a bill of ours, for exactly its order's total
            assert line["transaction"]["type"] == "PAYMENT" and line["direction"] == "CREDIT"
            assert float(line["amount"]) == vas[line["transaction"]["vaNumber"]]
    reversals = [line for line in lines if line["kind"] == "REVERSAL"]
    assert [(r["transactionId"], r["direction"]) for r in reversals] == [
        (reversals[0]["transactionId"], "DEBIT")
    ]
    net = sum(float(line["amount"]) * (1 if line["direction"] == "CREDIT" else -1) for line in lines)
    assert float(settlement_balance(report)) == net


def check_the_payout(stack: Stack, admin: str, paid: list[str], report: dict[str, Any]) -> None:
    """A payout settles every paid bill, empties the settlement account and closes every line."""
    batch = settle_everything(stack, admin, f"after-{uuid.uuid4()}")
    assert batch is not None and batch["paymentCount"] == len(paid)
    assert float(batch["total"]) == float(settlement_balance(report))
    after = data_of(stack.gql(TRIAL_BALANCE, None, token=admin))["trialBalance"]
    assert after["balanced"] is True and settlement_balance(after) == "0.00"
    assert open_lines(stack, admin) == []


def test_after_a_mixed_concurrent_load_the_ledger_balances_and_the_marketplace_is_settled(
    stack: Stack,
) -> None:
    admin = admin_token(stack)
    settle_everything(stack, admin, f"before-{uuid.uuid4()}")  # start from a settled marketplace
    payers = [funded_wallet(stack, 300_000, prefix="ledger") for _ in range(4)]
    orders = [marketplace_order(stack, quantity=1) for _ in range(6)]
    done, paid = run_the_mixed_load(stack, payers, orders)
    # Reverse one payment and one transfer, concurrently with each other.
    reverse_a_payment_and_a_transfer(stack, admin, done, paid)
    report = check_the_trial_balance(stack, admin)
    # The statement: exactly the successful VA payments, and the one reversal of them.
    check_the_statement(stack, admin, orders, paid, report)
    check_the_payout(stack, admin, paid, report)


def test_the_ledger_queries_are_for_admins_only(stack: Stack):
    user = funded_wallet(stack, 1_000, prefix="nosy")
    for operation, variables in ((TRIAL_BALANCE, None), (STATEMENT, {"after": None}), (SETTLE, {"k": "x"})):
        body = stack.gql(operation, variables, token=user["token"])
        assert error_codes(body) == ["FORBIDDEN"], body
