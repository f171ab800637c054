"""Paying marketplace bills through the router, against real processes: once, exactly, or not at all."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import httpx
import pytest

from tests.e2e.flows import (
    CREATE_TX,
    balance,
    data_of,
    failure_code,
    funded_wallet,
    marketplace_order,
    money_literal,
    notices,
    order_by_va,
    pay,
    wait_paid,
)
from tests.support.stack import Stack

# The federated read across four subgraphs: auth (me) -> wallet (wallets) -> transactions -> fraud.
FOUR_SUBGRAPHS = (
    "{ me { username wallets { walletName balance "
    "transactions { amount status fraudCheck { status reason } } } } }"
)
TX_NOTIFICATION = "query ($t: ID!) { transaction(transactionId: $t) { status notification { state } } }"


def ledger_of(stack: Stack, token: str, wallet_id: str) -> list[dict[str, str]]:
    body = stack.gql(
        "query ($w: ID!) { wallet(walletId: $w) { entries(first: 200) { direction amount transactionId } } }",
        {"w": wallet_id},
        token=token,
    )
    return list(data_of(body)["wallet"]["entries"])


def test_one_request_crosses_auth_wallet_transactions_and_fraud(stack: Stack):
    user = funded_wallet(stack, 250_000, prefix="four")
    order = marketplace_order(stack)
    paid = data_of(
        pay(stack, user["token"], user["wallet"], money_literal(order["totalHarga"]), order["nomorVA"])
    )
    assert paid["createTransaction"]["status"] == "SUCCESS", paid

    body = stack.gql(FOUR_SUBGRAPHS, token=user["token"])
    me = data_of(body)["me"]
    assert me["username"] == user["username"]
    assert len(me["wallets"]) == 1
    wallet = me["wallets"][0]
    assert wallet["walletName"] == "Dompet E2E"
    assert wallet["balance"] == "220000.00"
    # Newest first: the payment, then the deposit; each with its fraud verdict from the fraud subgraph.
    assert wallet["transactions"] == [
        {"amount": "30000.00", "status": "SUCCESS", "fraudCheck": {"status": "SAFE", "reason": "OK"}},
        {"amount": "250000.00", "status": "SUCCESS", "fraudCheck": {"status": "SAFE", "reason": "OK"}},
    ]


async def test_twenty_concurrent_payments_of_one_va_settle_exactly_once(stack: Stack):
    user = funded_wallet(stack, 500_000, prefix="race")
    order = marketplace_order(stack)
    va, total = order["nomorVA"], money_literal(order["totalHarga"])
    variables = {"input": {"walletId": user["wallet"], "amount": total, "type": "PAYMENT", "vaNumber": va}}

    async with httpx.AsyncClient(timeout=httpx.Timeout(60.0)) as client:
        answers = await asyncio.gather(
            *(stack.agql(client, CREATE_TX, variables, token=user["token"]) for _ in range(20))
        )

    statuses = Counter(
        ((a.get("data") or {}).get("createTransaction") or {}).get("status", "ERROR") for a in answers
    )
    assert statuses["SUCCESS"] == 1, (statuses, answers)
    losers = [
        a
        for a in answers
        if ((a.get("data") or {}).get("createTransaction") or {}).get("status") != "SUCCESS"
    ]
    assert {failure_code(a) for a in losers} == {"VA_ALREADY_PAID"}, losers

    assert balance(stack, user["token"], user["wallet"]) == "470000.00"
    debits = [e for e in ledger_of(stack, user["token"], user["wallet"]) if e["direction"] == "DEBIT"]
    assert len(debits) == 1 and debits[0]["amount"] == "30000.00", debits

    paid = wait_paid(stack, va)
    assert paid["status"] == "PROCESS"
    await asyncio.sleep(1.0)  # room for a (wrong) second notice to arrive
    accepted = [n for n in notices(stack, va) if n["outcome"] == "ACCEPTED"]
    assert len(accepted) == 1, notices(stack, va)


@pytest.mark.parametrize(
    "case, expected_code",
    [
        ("amount_mismatch", "VA_AMOUNT_MISMATCH"),
        ("unknown_va", "VA_NOT_FOUND"),
        ("offline_va", "VA_NOT_FOUND"),
        ("already_paid", "VA_ALREADY_PAID"),
    ],
)
def test_a_payment_that_cannot_pay_the_bill_fails_with_its_code_and_moves_no_money(
    stack: Stack, case: str, expected_code: str
):
    user = funded_wallet(stack, 100_000, prefix="bad")
    if case == "offline_va":
        stack.orders("mutation { sandboxSetWalletOffline(offline: true) }")
        try:
            order = marketplace_order(stack)
        finally:
            stack.orders("mutation { sandboxSetWalletOffline(offline: false) }")
        assert order["nomorVA"].startswith("OFFLINE-")
    else:
        order = marketplace_order(stack)
    va, total = order["nomorVA"], money_literal(order["totalHarga"])
    amount, before = total, "100000.00"
    if case == "amount_mismatch":
        amount = "25000"
    elif case == "unknown_va":
        va = "DS-88009999999999"
    elif case == "already_paid":
        first = data_of(pay(stack, user["token"], user["wallet"], total, va))
        assert first["createTransaction"]["status"] == "SUCCESS", first
        before = "70000.00"
        wait_paid(stack, va)

    body = pay(stack, user["token"], user["wallet"], amount, va)
    assert failure_code(body) == expected_code, body
    tx = (body.get("data") or {}).get("createTransaction")
    if tx is not None:
        assert tx["status"] == "FAILED", tx
        assert tx["failureReason"]["message"], tx
    assert balance(stack, user["token"], user["wallet"]) == before
    if case in ("amount_mismatch", "offline_va"):
        assert order_by_va(stack, va)["paymentStatus"] == "UNPAID"


def test_a_payment_survives_the_marketplace_being_down_when_it_is_notified(stack: Stack):
    user = funded_wallet(stack, 100_000, prefix="down")
    order = marketplace_order(stack)
    va = order["nomorVA"]
    assert data_of(stack.orders("mutation { sandboxSetDown(down: true) }"))["sandboxSetDown"] == [
        "updatePaymentStatus"
    ]
    try:
        body = stack.gql(
            "mutation ($input: CreateTransactionInput!) { createTransaction(input: $input) "
            "{ transactionId status notification { state } } }",
            {
                "input": {
                    "walletId": user["wallet"],
                    "amount": money_literal(order["totalHarga"]),
                    "type": "PAYMENT",
                    "vaNumber": va,
                }
            },
            token=user["token"],
        )
        tx = data_of(body)["createTransaction"]
        assert tx["status"] == "SUCCESS", tx
        assert balance(stack, user["token"], user["wallet"]) == "70000.00"
        deadline = time.monotonic() + 10
        while not any(n["outcome"] == "DOWN" for n in notices(stack, va)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert any(n["outcome"] == "DOWN" for n in notices(stack, va)), "the notice was never attempted"
        assert order_by_va(stack, va)["paymentStatus"] == "UNPAID"
        pending = data_of(stack.gql(TX_NOTIFICATION, {"t": tx["transactionId"]}, token=user["token"]))[
            "transaction"
        ]
        assert pending["status"] == "SUCCESS" and pending["notification"]["state"] == "PENDING", pending
    finally:
        stack.orders("mutation { sandboxSetDown(down: false) }")

    paid = wait_paid(stack, va)
    assert paid["status"] == "PROCESS"
    deadline = time.monotonic() + 5
    state = None
    while time.monotonic() < deadline:
        answer = stack.gql(TX_NOTIFICATION, {"t": tx["transactionId"]}, token=user["token"])
        state = data_of(answer)["transaction"]["notification"]["state"]
        if state == "DELIVERED":
            break
        time.sleep(0.2)
    assert state == "DELIVERED"
    assert balance(stack, user["token"], user["wallet"]) == "70000.00"


def test_an_idempotency_key_replays_the_same_deposit_and_refuses_a_different_one(stack: Stack):
    user = funded_wallet(stack, 10_000, prefix="idem")
    key = f"key-{user['id']}"
    variables = {
        "input": {"walletId": user["wallet"], "amount": 5000, "type": "DEPOSIT", "idempotencyKey": key}
    }
    first = data_of(stack.gql(CREATE_TX, variables, token=user["token"]))["createTransaction"]
    again = data_of(stack.gql(CREATE_TX, variables, token=user["token"]))["createTransaction"]
    assert first["status"] == "SUCCESS" and again == first
    variables["input"]["amount"] = 6000
    reused = stack.gql(CREATE_TX, variables, token=user["token"])
    assert failure_code(reused) == "IDEMPOTENCY_KEY_REUSED", reused
    assert balance(stack, user["token"], user["wallet"]) == "15000.00"


@pytest.mark.parametrize("amount", [0, -5, "10.001", "abc", 1e30])
def test_a_bad_amount_is_bad_user_input_through_the_router_and_changes_nothing(stack: Stack, amount: object):
    user = funded_wallet(stack, 10_000, prefix="amt")
    order = marketplace_order(stack)
    body = pay(stack, user["token"], user["wallet"], amount, order["nomorVA"])
    assert body.get("data") is None and failure_code(body) == "BAD_USER_INPUT", body
    assert balance(stack, user["token"], user["wallet"]) == "10000.00"
    assert order_by_va(stack, order["nomorVA"])["paymentStatus"] == "UNPAID"


def test_a_bill_that_cannot_be_checked_is_not_paid_and_can_be_paid_once_the_marketplace_is_back(stack: Stack):
    user = funded_wallet(stack, 100_000, prefix="unreach")
    order = marketplace_order(stack)
    va, total = order["nomorVA"], money_literal(order["totalHarga"])
    stack.orders('mutation { sandboxSetDown(down: true, fields: ["*"]) }')
    try:
        body = pay(stack, user["token"], user["wallet"], total, va)
    finally:
        stack.orders("mutation { sandboxSetDown(down: false) }")
    assert failure_code(body) == "MARKETPLACE_UNAVAILABLE", body
    assert data_of(body)["createTransaction"]["status"] == "FAILED"
    assert balance(stack, user["token"], user["wallet"]) == "100000.00"

    retried = data_of(pay(stack, user["token"], user["wallet"], total, va))["createTransaction"]
    assert retried["status"] == "SUCCESS", retried
    assert balance(stack, user["token"], user["wallet"]) == "70000.00"
    assert wait_paid(stack, va)["status"] == "PROCESS"


def test_an_order_whose_total_is_a_javascript_float_gets_a_real_va_and_is_paid(stack: Stack):
    user = funded_wallet(stack, 100_000, prefix="float")
    order = marketplace_order(stack, quantity=1, product="4", method="EXPRESS")  # 19999.99 + 20000
    assert order["totalHarga"] == 39999.990000000005
    va = order["nomorVA"]
    assert not va.startswith("OFFLINE-"), "the wallet refused the float total"
    invoice = data_of(
        stack.gql(
            "query ($va: String!) { invoice(vaNumber: $va) { amount } }", {"va": va}, token=user["token"]
        )
    )
    assert invoice["invoice"]["amount"] == "39999.99"
    paid = data_of(pay(stack, user["token"], user["wallet"], "39999.99", va))["createTransaction"]
    assert paid["status"] == "SUCCESS", paid
    assert wait_paid(stack, va)["paymentStatus"] == "PAID"
    assert balance(stack, user["token"], user["wallet"]) == "60000.01"


@pytest.mark.parametrize("literal", ["0.005", "20000.555", '"34999.990000000005"'])
def test_an_invoice_amount_with_a_real_third_decimal_is_one_bad_user_input_error(stack: Stack, literal: str):
    body = stack.gql(f'mutation {{ generateInvoiceVA(amount: {literal}, description: "x") }}')
    assert body.get("data") is None, body
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"], body


def test_an_outage_longer_than_eight_attempts_still_ends_paid_and_notified_once(stack: Stack):
    user = funded_wallet(stack, 100_000, prefix="outage")
    order = marketplace_order(stack)
    va = order["nomorVA"]
    stack.orders("mutation { sandboxSetDown(down: true) }")
    try:
        tx = data_of(pay(stack, user["token"], user["wallet"], money_literal(order["totalHarga"]), va))
        assert tx["createTransaction"]["status"] == "SUCCESS", tx
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:  # the old outbox gave up (DEAD) after 8 attempts
            if sum(n["outcome"] == "DOWN" for n in notices(stack, va)) >= 12:
                break
            time.sleep(0.5)
        assert sum(n["outcome"] == "DOWN" for n in notices(stack, va)) >= 12
        assert order_by_va(stack, va)["paymentStatus"] == "UNPAID"
    finally:
        stack.orders("mutation { sandboxSetDown(down: false) }")
    assert wait_paid(stack, va, timeout_s=30)["paymentStatus"] == "PAID"
    time.sleep(2)  # a late duplicate would show up here
    body = stack.orders(
        "query ($va: String) { sandboxNotices(vaNumber: $va) { outcome idempotencyKey } }", {"va": va}
    )
    seen = data_of(body)["sandboxNotices"]
    assert [n["outcome"] for n in seen].count("ACCEPTED") == 1
    assert len({n["idempotencyKey"] for n in seen}) == 1 and seen[0]["idempotencyKey"]
