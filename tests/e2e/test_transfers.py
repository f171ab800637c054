"""Paying a person: find them by username, confirm, send; both sides see it, and a reversal too."""

from __future__ import annotations

import json
import time
from typing import Any

from tests.e2e.flows import (
    admin_token,
    balance,
    create_wallet,
    data_of,
    error_codes,
    funded_wallet,
    register_and_login,
)
from tests.support.stack import Stack

RECIPIENT = "query ($u: String!) { recipient(username: $u) { username displayName walletId } }"
SEND = """mutation ($input: CreateTransactionInput!) {
  createTransaction(input: $input) { transactionId status direction counterparty walletId toWalletId amount }
}"""
MINE = """query ($d: TransactionDirection) {
  myTransactions(direction: $d) {
    transactionId type status direction counterparty walletId toWalletId amount
  }
}"""
HISTORY = (
    "query ($d: String) { myHistory(direction: $d) { transactionId status direction counterparty walletId } }"
)
STATEMENT = """query ($w: ID!, $d: String) { wallet(walletId: $w) {
  entries(direction: $d) { direction amount transactionId } } }"""
REVERSE = 'mutation ($t: ID!) { reverseTransaction(transactionId: $t, reason: "salah kirim") { status } }'


def history_of(
    stack: Stack, token: str, direction: str | None, wanted: int, timeout_s: float = 15
) -> list[Any]:
    """The caller's history entries of `direction`, once at least `wanted` are there (outbox delivery)."""
    deadline = time.monotonic() + timeout_s
    entries: list[Any] = []
    while time.monotonic() < deadline:
        entries = data_of(stack.gql(HISTORY, {"d": direction}, token=token))["myHistory"]
        if len(entries) >= wanted:
            return entries
        time.sleep(0.2)
    raise AssertionError(f"history has {entries}, wanted {wanted} entries")


def test_a_transfer_by_username_after_confirming_the_recipient_shows_as_incoming_to_the_receiver(
    stack: Stack,
):
    alice = funded_wallet(stack, 100_000, prefix="alice")
    bob = register_and_login(stack, "bob")
    bob_wallet = create_wallet(stack, bob["token"], "Dompet Bob")

    found = data_of(stack.gql(RECIPIENT, {"u": bob["username"].upper()}, token=alice["token"]))["recipient"]
    assert found["username"] == bob["username"] and found["walletId"] == bob_wallet
    assert found["displayName"] == "E** bo" + "*" * (len(bob["username"]) - 2)  # "E2E bob_..." masked

    sent = data_of(
        stack.gql(
            SEND,
            {
                "input": {
                    "walletId": alice["wallet"],
                    "amount": 25_000,
                    "type": "TRANSFER",
                    "toUsername": bob["username"],
                }
            },
            token=alice["token"],
        )
    )["createTransaction"]
    assert sent["status"] == "SUCCESS", sent
    assert (sent["direction"], sent["counterparty"], sent["toWalletId"]) == (
        "OUT",
        bob["username"],
        bob_wallet,
    )
    assert balance(stack, bob["token"], bob_wallet) == "25000.00"

    [incoming] = data_of(stack.gql(MINE, {"d": "IN"}, token=bob["token"]))["myTransactions"]
    assert incoming == {
        "transactionId": sent["transactionId"],
        "type": "TRANSFER",
        "status": "SUCCESS",
        "direction": "IN",
        "counterparty": alice["username"],
        "walletId": bob_wallet,
        "toWalletId": None,
        "amount": "25000.00",
    }
    everything_bob_sees = json.dumps(stack.gql(MINE, {"d": None}, token=bob["token"]))
    assert alice["wallet"] not in everything_bob_sees and alice["email"] not in everything_bob_sees
    assert data_of(stack.gql(MINE, {"d": "OUT"}, token=bob["token"]))["myTransactions"] == []

    credits = data_of(stack.gql(STATEMENT, {"w": bob_wallet, "d": "CREDIT"}, token=bob["token"]))["wallet"][
        "entries"
    ]
    assert [(e["transactionId"], e["amount"]) for e in credits] == [(sent["transactionId"], "25000.00")]

    [received] = history_of(stack, bob["token"], "IN", 1)
    assert (received["transactionId"], received["counterparty"], received["walletId"]) == (
        sent["transactionId"], alice["username"], bob_wallet,
    )  # fmt: skip
    sent_entries = [
        e for e in history_of(stack, alice["token"], "OUT", 2) if e["transactionId"] == sent["transactionId"]
    ]
    assert [(e["status"], e["counterparty"]) for e in sent_entries] == [("SUCCESS", bob["username"])]


def test_a_reversed_transfer_shows_on_both_sides(stack: Stack):
    alice = funded_wallet(stack, 50_000, prefix="ralice")
    bob = register_and_login(stack, "rbob")
    bob_wallet = create_wallet(stack, bob["token"])
    sent = data_of(
        stack.gql(
            SEND,
            {
                "input": {
                    "walletId": alice["wallet"],
                    "amount": 10_000,
                    "type": "TRANSFER",
                    "toWalletId": bob_wallet,
                }
            },
            token=alice["token"],
        )
    )["createTransaction"]
    assert sent["status"] == "SUCCESS" and sent["counterparty"] == bob["username"], sent
    reversed_ = data_of(stack.gql(REVERSE, {"t": sent["transactionId"]}, token=admin_token(stack)))
    assert reversed_["reverseTransaction"]["status"] == "REVERSED"
    assert balance(stack, bob["token"], bob_wallet) == "0.00"
    assert balance(stack, alice["token"], alice["wallet"]) == "50000.00"

    [theirs] = data_of(stack.gql(MINE, {"d": "IN"}, token=bob["token"]))["myTransactions"]
    assert (theirs["status"], theirs["direction"], theirs["counterparty"]) == (
        "REVERSED",
        "IN",
        alice["username"],
    )
    ours = [
        t
        for t in data_of(stack.gql(MINE, {"d": "OUT"}, token=alice["token"]))["myTransactions"]
        if t["type"] == "TRANSFER"
    ]
    assert [(t["status"], t["counterparty"]) for t in ours] == [("REVERSED", bob["username"])]
    debits = data_of(stack.gql(STATEMENT, {"w": bob_wallet, "d": "DEBIT"}, token=bob["token"]))["wallet"][
        "entries"
    ]
    assert [e["amount"] for e in debits] == ["10000.00"]  # the reversal's entry in the receiver's statement
    statuses = {e["status"] for e in history_of(stack, bob["token"], "IN", 2)}
    assert statuses == {"SUCCESS", "REVERSED"}


def test_an_unknown_name_and_a_user_without_a_wallet_get_the_same_answer_and_nothing_moves(stack: Stack):
    alice = funded_wallet(stack, 10_000, prefix="enum")
    walletless = register_and_login(stack, "nowallet")
    answers = []
    for name in ("no_such_user_here", walletless["username"]):
        body = stack.gql(RECIPIENT, {"u": name}, token=alice["token"])
        answers.append((error_codes(body), body["errors"][0]["message"]))
        send = {"walletId": alice["wallet"], "amount": 1_000, "type": "TRANSFER", "toUsername": name}
        refused = stack.gql(SEND, {"input": send}, token=alice["token"])
        assert error_codes(refused) == ["NOT_FOUND"], refused
    assert answers[0] == answers[1] and answers[0][0] == ["NOT_FOUND"]
    assert balance(stack, alice["token"], alice["wallet"]) == "10000.00"
    listed = data_of(stack.gql(MINE, {"d": None}, token=alice["token"]))["myTransactions"]
    assert [t["type"] for t in listed] == ["DEPOSIT"]  # the refused transfers were never recorded


def test_a_transfer_names_its_receiver_exactly_once(stack: Stack):
    alice = funded_wallet(stack, 10_000, prefix="once")
    bob = register_and_login(stack, "onceb")
    bob_wallet = create_wallet(stack, bob["token"])
    base = {"walletId": alice["wallet"], "amount": 1_000, "type": "TRANSFER"}
    for extra in ({"toWalletId": bob_wallet, "toUsername": bob["username"]}, {}):
        body = stack.gql(SEND, {"input": {**base, **extra}}, token=alice["token"])
        assert error_codes(body) == ["BAD_USER_INPUT"], body
    deposit = stack.gql(
        SEND, {"input": {**base, "type": "DEPOSIT", "toUsername": bob["username"]}}, token=alice["token"]
    )
    assert error_codes(deposit) == ["BAD_USER_INPUT"]
    assert balance(stack, alice["token"], alice["wallet"]) == "10000.00"
