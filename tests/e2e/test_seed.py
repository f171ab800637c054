"""The seed's operations 01-09 and its marketplace "Tes Integrasi", verbatim, through the router."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.flows import (
    SEED_DIR,
    admin_token,
    data_of,
    error_codes,
    marketplace_buyer,
    marketplace_order,
    money_literal,
    notices,
    seed,
    wait_paid,
)
from tests.support.procs import REPO_ROOT
from tests.support.stack import Stack

SHARED = REPO_ROOT.parent / "shared"  # the steering folder beside the repository
REFERENCE_SEED = SHARED / "contracts" / "seed"
REFERENCE_README = SHARED / "seed"
MARKET_FILES = {
    "1": "market_1_register",
    "2": "market_2_login",
    "3": "market_3_create_order",
    "4": "market_4_payment",
    "5": "market_5_cek_tagihan",
}


def register_and_log_in(stack: Stack) -> tuple[str, str]:
    """01 registers (a scalar id), 02 logs in (a JWT and the user); returns (user id, token)."""
    # 01 register: a scalar id.
    registered = data_of(stack.gql(seed("01_register")))["registerUser"]
    assert isinstance(registered, str) and registered

    # 02 login: the token and the user.
    login = data_of(stack.gql(seed("02_login")))["loginUser"]
    assert login["user"] == {"username": "narto", "role": "USER"}
    token = login["access_token"]
    assert token.count(".") == 2  # a JWT
    return registered, token


def open_a_wallet_and_deposit(stack: Stack, token: str) -> tuple[str, dict[str, Any]]:
    """03 creates an empty wallet, 04 lists it, 05 deposits 500000; returns (wallet id, deposit)."""
    # 03 create wallet.
    wallet = data_of(stack.gql(seed("03_create_wallet"), token=token))["createWallet"]
    assert wallet["walletName"] == "Tabungan Utama"
    assert wallet["balance"] == "0.00" and wallet["status"] == "ACTIVE"
    wallet_id = wallet["walletId"]

    # 04 my wallets.
    wallets = data_of(stack.gql(seed("04_my_wallets"), token=token))["myWallets"]
    assert wallets == [{"walletName": "Tabungan Utama", "balance": "0.00", "status": "ACTIVE"}]

    # 05 deposit 500000.
    deposit_op = seed("05_deposit").replace("PASTE_WALLET_ID_DISINI", wallet_id)
    deposited = data_of(stack.gql(deposit_op, token=token))["createTransaction"]
    assert deposited["status"] == "SUCCESS" and deposited["amount"] == "500000.00", deposited
    assert deposited["transactionId"] and deposited["createdAt"]
    return wallet_id, deposited


def pay_a_marketplace_order_by_va(stack: Stack, token: str, wallet_id: str) -> tuple[str, dict[str, Any]]:
    """Tes Integrasi 1-3 order with a wallet VA, 06 pays it, 5 shows it PAID; returns (VA, payment)."""
    # Tes Integrasi 1-3: a marketplace buyer orders; the order service got its VA from the wallet.
    order = marketplace_order(stack, marketplace_buyer(stack))
    assert order["totalHarga"] == 30000.0 and order["ongkir"] == 10000.0
    assert order["status"] == "PENDING" and order["paymentStatus"] == "UNPAID"
    va = order["nomorVA"]
    assert not va.startswith("OFFLINE-"), f"the wallet did not issue a VA through the router: {va}"

    # 06 payment by VA: the seed's 20000 is this order's total (30000).
    payment_op = (
        seed("06_payment_va")
        .replace("PASTE_WALLET_ID_DISINI", wallet_id)
        .replace("VA_MARKETPLACE", va)
        .replace("amount: 20000,", f"amount: {money_literal(order['totalHarga'])},")
    )
    assert "amount: 30000," in payment_op
    paid = data_of(stack.gql(payment_op, token=token))["createTransaction"]
    assert paid["status"] == "SUCCESS", paid
    assert paid["vaNumber"] == va

    # Tes Integrasi 5: the bill shows PAID once the outbox delivered the notice.
    bill = wait_paid(stack, va)
    assert bill["status"] == "PROCESS" and bill["totalHarga"] == 30000.0
    assert bill["id"] == order["id"] and bill["productId"] == "1" and bill["quantity"] == 2
    return va, paid


def check_balance_and_history(
    stack: Stack, token: str, deposited: dict[str, Any], paid: dict[str, Any]
) -> None:
    """04 shows 500000 - 30000; 07 lists the deposit and the payment, both SUCCESS."""
    # 04 again: 500000 - 30000.
    wallets = data_of(stack.gql(seed("04_my_wallets"), token=token))["myWallets"]
    assert wallets == [{"walletName": "Tabungan Utama", "balance": "470000.00", "status": "ACTIVE"}]

    # 07 history: both transactions, newest first.
    history = data_of(stack.gql(seed("07_my_history"), token=token))["myHistory"]
    by_tx = {entry["transactionId"]: entry for entry in history}
    assert by_tx[deposited["transactionId"]]["type"] == "DEPOSIT"
    assert by_tx[deposited["transactionId"]]["amount"] == "500000.00"
    assert by_tx[paid["transactionId"]]["type"] == "PAYMENT"
    assert by_tx[paid["transactionId"]]["amount"] == "30000.00"
    assert {entry["status"] for entry in history} == {"SUCCESS"}
    assert all(entry["historyId"] and entry["createdAt"] for entry in history)


def check_fraud_logs_are_for_the_admin(stack: Stack, token: str, registered: str) -> None:
    """08: the admin sees both SAFE checks of this user; the user is refused."""
    # 08 fraud logs: the admin sees both checks of this user; the user is refused.
    admin = admin_token(stack)
    logs = data_of(stack.gql(seed("08_fraud_logs_admin"), token=admin))["getFraudLogs"]
    mine = [log for log in logs if log["userId"] == registered]
    assert sorted(log["amount"] for log in mine) == ["30000.00", "500000.00"], mine
    assert {log["status"] for log in mine} == {"SAFE"}
    assert all(log["logId"] and log["reason"] for log in mine)
    refused = stack.gql(seed("08_fraud_logs_admin"), token=token)
    assert error_codes(refused) == ["FORBIDDEN"], refused


def check_the_profile(stack: Stack, token: str) -> None:
    """09 answers the profile with the token as an argument, and with the Authorization header."""
    # 09 profile with the token as an argument, and with the Authorization header.
    profile_op = seed("09_my_profile").replace("PASTE_ACCESS_TOKEN", token)
    profile = data_of(stack.gql(profile_op))["myProfile"]
    assert profile == {
        "username": "narto",
        "fullname": "Naruto Uzumaki",
        "email": "naruto@gmail.com",
        "role": "USER",
    }
    by_header = data_of(stack.gql("query { myProfile { username email role } }", token=token))
    assert by_header["myProfile"] == {"username": "narto", "email": "naruto@gmail.com", "role": "USER"}


def run_seed_flow(stack: Stack) -> dict[str, Any]:
    """01-09 in order, with a marketplace order paid by VA in the middle; returns what it saw."""
    seen: dict[str, Any] = {}
    registered, token = register_and_log_in(stack)
    wallet_id, deposited = open_a_wallet_and_deposit(stack, token)
    va, paid = pay_a_marketplace_order_by_va(stack, token, wallet_id)
    check_balance_and_history(stack, token, deposited, paid)
    check_fraud_logs_are_for_the_admin(stack, token, registered)
    check_the_profile(stack, token)
    seen.update(token=token, wallet_id=wallet_id, va=va, user_id=registered)
    return seen


def test_the_seed_operations_work_verbatim_through_the_router_and_pay_a_marketplace_order(stack: Stack):
    seen = run_seed_flow(stack)
    accepted = [n for n in notices(stack, seen["va"]) if n["outcome"] == "ACCEPTED"]
    assert accepted and {n["status"] for n in accepted} == {"PAID"}


def test_the_seed_copies_are_verbatim():
    if not REFERENCE_SEED.is_dir():
        pytest.skip(f"{REFERENCE_SEED} is not on this machine; nothing to compare the copies with")
    references = sorted(REFERENCE_SEED.glob("*.graphql"))
    assert len(references) == 9
    for reference in references:
        assert (SEED_DIR / reference.name).read_text() == reference.read_text(), reference.name
    # The marketplace operations of the seed README's "Tes Integrasi" section.
    readme = next(REFERENCE_README.glob("*.txt")).read_text()
    section = readme[readme.index("## Tes Integrasi") :]
    blocks = re.findall(r"### (\d)\. [^\n]*\n```graphql\n(.*?)```", section, re.S)
    assert [number for number, _ in blocks] == list(MARKET_FILES)
    for number, body in blocks:
        assert (SEED_DIR / f"{MARKET_FILES[number]}.graphql").read_text() == body, number
