"""Money between users and admin tools, through the router: transfers, freezing, reversal, the audit chain."""

from __future__ import annotations

from tests.e2e.flows import (
    CREATE_TX,
    admin_token,
    balance,
    data_of,
    error_codes,
    failure_code,
    funded_wallet,
    marketplace_order,
    money_literal,
    order_by_va,
    pay,
    wait_paid,
)
from tests.support.stack import Stack

FREEZE = "mutation ($w: ID!) { freezeWallet(walletId: $w) { status } }"
UNFREEZE = "mutation ($w: ID!) { unfreezeWallet(walletId: $w) { status } }"


def test_a_transfer_moves_money_from_one_users_wallet_to_anothers(stack: Stack):
    sender = funded_wallet(stack, 100_000, prefix="from")
    receiver = funded_wallet(stack, 5_000, prefix="to")
    body = stack.gql(
        CREATE_TX,
        {
            "input": {
                "walletId": sender["wallet"],
                "toWalletId": receiver["wallet"],
                "amount": "25000.50",
                "type": "TRANSFER",
            }
        },
        token=sender["token"],
    )
    tx = data_of(body)["createTransaction"]
    assert tx["status"] == "SUCCESS" and tx["amount"] == "25000.50", tx
    assert balance(stack, sender["token"], sender["wallet"]) == "74999.50"
    assert balance(stack, receiver["token"], receiver["wallet"]) == "30000.50"

    too_much = stack.gql(
        CREATE_TX,
        {
            "input": {
                "walletId": sender["wallet"],
                "toWalletId": receiver["wallet"],
                "amount": 75000,
                "type": "TRANSFER",
            }
        },
        token=sender["token"],
    )
    assert failure_code(too_much) == "INSUFFICIENT_FUNDS", too_much
    assert balance(stack, sender["token"], sender["wallet"]) == "74999.50"
    assert balance(stack, receiver["token"], receiver["wallet"]) == "30000.50"


def test_a_frozen_wallet_cannot_pay_until_an_admin_unfreezes_it(stack: Stack):
    user = funded_wallet(stack, 100_000, prefix="frozen")
    admin = admin_token(stack)
    order = marketplace_order(stack)
    va, total = order["nomorVA"], money_literal(order["totalHarga"])

    refused = stack.gql(FREEZE, {"w": user["wallet"]}, token=user["token"])
    assert error_codes(refused) == ["FORBIDDEN"], refused
    assert (
        data_of(stack.gql(FREEZE, {"w": user["wallet"]}, token=admin))["freezeWallet"]["status"] == "FROZEN"
    )

    blocked = pay(stack, user["token"], user["wallet"], total, va)
    assert failure_code(blocked) == "WALLET_FROZEN", blocked
    assert balance(stack, user["token"], user["wallet"]) == "100000.00"
    assert order_by_va(stack, va)["paymentStatus"] == "UNPAID"

    assert (
        data_of(stack.gql(UNFREEZE, {"w": user["wallet"]}, token=admin))["unfreezeWallet"]["status"]
        == "ACTIVE"
    )
    paid = data_of(pay(stack, user["token"], user["wallet"], total, va))["createTransaction"]
    assert paid["status"] == "SUCCESS", paid
    assert balance(stack, user["token"], user["wallet"]) == "70000.00"
    assert wait_paid(stack, va)["paymentStatus"] == "PAID"


def test_an_admin_reversal_posts_a_compensating_entry_and_the_audit_chain_stays_valid(stack: Stack):
    user = funded_wallet(stack, 40_000, prefix="rev")
    admin = admin_token(stack)
    deposit = data_of(
        stack.gql(
            CREATE_TX,
            {"input": {"walletId": user["wallet"], "amount": 15000, "type": "DEPOSIT"}},
            token=user["token"],
        )
    )["createTransaction"]
    assert balance(stack, user["token"], user["wallet"]) == "55000.00"

    reverse = (
        'mutation ($t: ID!) { reverseTransaction(transactionId: $t, reason: "e2e") { transactionId status } }'
    )
    refused = stack.gql(reverse, {"t": deposit["transactionId"]}, token=user["token"])
    assert error_codes(refused) == ["FORBIDDEN"], refused
    reversed_tx = data_of(stack.gql(reverse, {"t": deposit["transactionId"]}, token=admin))[
        "reverseTransaction"
    ]
    assert reversed_tx == {"transactionId": deposit["transactionId"], "status": "REVERSED"}
    assert balance(stack, user["token"], user["wallet"]) == "40000.00"

    audit = data_of(stack.gql("{ verifyAuditTrail { ok checked firstBrokenId } }", token=admin))
    assert audit["verifyAuditTrail"]["ok"] is True and audit["verifyAuditTrail"]["firstBrokenId"] is None
    assert audit["verifyAuditTrail"]["checked"] > 0
