"""Steps the end-to-end tests share: seed operations from files, users, wallets, marketplace orders.

The seed operations are copies of ../shared/contracts/seed/*.graphql (beside the repository) and
of the seed README's "Tes Integrasi" operations (market_*.graphql), kept verbatim (test_seed_copies
checks them).
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

from tests.support.stack import Stack

SEED_DIR = Path(__file__).resolve().parent / "seed"

# What a transaction answer carries in these tests; failureReason's shape is the transactions
# subgraph's (see failure_code below).
TX_FIELDS = "transactionId status amount type vaNumber walletId failureReason { code message }"

CREATE_TX = (
    "mutation ($input: CreateTransactionInput!) { createTransaction(input: $input) { " + TX_FIELDS + " } }"
)


def seed(name: str) -> str:
    """One seed operation, verbatim."""
    return (SEED_DIR / f"{name}.graphql").read_text()


def data_of(body: dict[str, Any]) -> dict[str, Any]:
    """`data` of an answer that must have no errors."""
    assert not body.get("errors"), json.dumps(body, indent=1)[:3000]
    assert isinstance(body.get("data"), dict), body
    return body["data"]


def error_codes(body: dict[str, Any]) -> list[str]:
    return [str((e.get("extensions") or {}).get("code")) for e in body.get("errors") or []]


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def register_and_login(stack: Stack, prefix: str = "e2e") -> dict[str, str]:
    """A new wallet user: {id, username, email, token}."""
    username = unique(prefix + "_")
    email = f"{username}@example.com"
    body = stack.gql(
        "mutation ($u: String!, $f: String!, $e: String!, $p: String!) "
        "{ registerUser(username: $u, fullname: $f, email: $e, password: $p) }",
        {"u": username, "f": f"E2E {username}", "e": email, "p": "password123"},
    )
    user_id = data_of(body)["registerUser"]
    token = login(stack, email, "password123")
    return {"id": str(user_id), "username": username, "email": email, "token": token}


def login(stack: Stack, email: str, password: str) -> str:
    body = stack.gql(
        "mutation ($e: String!, $p: String!) { loginUser(email: $e, password: $p) { access_token } }",
        {"e": email, "p": password},
    )
    return str(data_of(body)["loginUser"]["access_token"])


def admin_token(stack: Stack) -> str:
    return login(stack, stack.admin_email, stack.admin_password)


def create_wallet(stack: Stack, token: str, name: str = "Dompet E2E") -> str:
    body = stack.gql(
        "mutation ($n: String!) { createWallet(walletName: $n) { walletId } }", {"n": name}, token=token
    )
    return str(data_of(body)["createWallet"]["walletId"])


def deposit(stack: Stack, token: str, wallet_id: str, amount: int | str) -> dict[str, Any]:
    body = stack.gql(
        CREATE_TX, {"input": {"walletId": wallet_id, "amount": amount, "type": "DEPOSIT"}}, token=token
    )
    tx = data_of(body)["createTransaction"]
    assert tx["status"] == "SUCCESS", tx
    return tx


def pay(stack: Stack, token: str, wallet_id: str, amount: Any, va: str) -> dict[str, Any]:
    """The whole answer of a PAYMENT (data and/or errors)."""
    return stack.gql(
        CREATE_TX,
        {"input": {"walletId": wallet_id, "amount": amount, "type": "PAYMENT", "vaNumber": va}},
        token=token,
    )


def failure_code(body: dict[str, Any]) -> str | None:
    """The code a failed createTransaction reports: its GraphQL error code or its failureReason."""
    codes = error_codes(body)
    if codes:
        return codes[0]
    tx = (body.get("data") or {}).get("createTransaction") or {}
    reason = tx.get("failureReason")
    if isinstance(reason, dict):
        return reason.get("code")
    return reason


def balance(stack: Stack, token: str, wallet_id: str) -> str:
    body = stack.gql(f"{{ wallet(walletId: {json.dumps(wallet_id)}) {{ balance }} }}", token=token)
    return str(data_of(body)["wallet"]["balance"])


def funded_wallet(stack: Stack, amount: int = 500_000, prefix: str = "e2e") -> dict[str, str]:
    """A new user with one wallet holding `amount`: {id, username, email, token, wallet}."""
    user = register_and_login(stack, prefix)
    user["wallet"] = create_wallet(stack, user["token"])
    deposit(stack, user["token"], user["wallet"], amount)
    return user


def marketplace_buyer(stack: Stack) -> str:
    """A new marketplace account (seed "Tes Integrasi" 1 and 2, verbatim); its token."""
    email = f"{unique('buyer')}@example.com"
    registered = stack.users(
        seed("market_1_register"), {"nama": "Sakura Haruno", "email": email, "password": "password123"}
    )
    assert data_of(registered)["register"]["email"] == email
    logged_in = stack.users(seed("market_2_login"), {"email": email, "password": "password123"})
    return str(data_of(logged_in)["login"]["token"])


def marketplace_order(
    stack: Stack,
    buyer_token: str | None = None,
    quantity: int = 2,
    product: str = "1",
    method: str = "REGULER",
) -> dict[str, Any]:
    """A new sandbox order: seed "Tes Integrasi" 3 with the `kotaTujuanId` the real order service
    requires (`market_3_create_order_with_city`; verbatim otherwise, for quantity 2)."""
    operation = seed("market_3_create_order_with_city")
    if quantity != 2:
        operation = operation.replace("quantity: 2,", f"quantity: {quantity},")
    if product != "1":
        operation = operation.replace('productId: "1"', f'productId: "{product}"')
    if method != "REGULER":
        operation = operation.replace('metodePengiriman: "REGULER"', f'metodePengiriman: "{method}"')
    body = stack.orders(operation, token=buyer_token or marketplace_buyer(stack))
    return dict(data_of(body)["createOrder"])


def order_by_va(stack: Stack, va: str) -> dict[str, Any] | None:
    """The sandbox's view of a bill (seed "Tes Integrasi" 5, the VA substituted)."""
    body = stack.orders(seed("market_5_cek_tagihan").replace("VA_MARKETPLACE", va))
    return data_of(body)["getOrderByVA"]


def wait_paid(stack: Stack, va: str, timeout_s: float = 10.0) -> dict[str, Any]:
    """Poll the sandbox until the order of `va` is PAID (the notice comes from an outbox)."""
    deadline = time.monotonic() + timeout_s
    order = order_by_va(stack, va)
    while time.monotonic() < deadline:
        order = order_by_va(stack, va)
        if order and order["paymentStatus"] == "PAID":
            return order
        time.sleep(0.2)
    raise AssertionError(
        f"order of VA {va} not PAID after {timeout_s}s: {order}; "
        f"notices: {notices(stack, va)}\ntransactions log:\n{stack.logs('transactions', 30)}"
    )


def notices(stack: Stack, va: str) -> list[dict[str, Any]]:
    """Every payment notice the sandbox received for `va` (test hook)."""
    body = stack.orders(
        "query ($va: String) { sandboxNotices(vaNumber: $va) { status outcome } }", {"va": va}
    )
    return list(data_of(body)["sandboxNotices"])


def money_literal(total: float) -> str:
    """A marketplace total as the buyer pastes it into the seed's `amount:` (e.g. 30000.0 -> 30000)."""
    return str(int(total)) if float(total).is_integer() else repr(total)
