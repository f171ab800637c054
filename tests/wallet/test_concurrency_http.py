"""The ledger under real concurrency: a real wallet process (SQLite, then PostgreSQL) called over
HTTP with real service tokens, many requests in flight at once."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import httpx
import pytest

from shared.db import Database
from subgraphs.wallet.reconcile import reconcile
from tests.support.tokens import service_token, user_token
from tests.wallet.conftest import WalletProcess
from tests.wallet.helpers import DEDUCT, WalletClient, error_code, new_id

pytestmark = pytest.mark.e2e

CLIENT_CONNECTIONS_MAX = 50


@pytest.fixture
async def wallet(wallet_process: WalletProcess) -> AsyncIterator[WalletClient]:
    limits = httpx.Limits(
        max_connections=CLIENT_CONNECTIONS_MAX, max_keepalive_connections=CLIENT_CONNECTIONS_MAX
    )
    async with httpx.AsyncClient(limits=limits, timeout=60.0) as client:
        yield WalletClient(client, wallet_process.url)


async def assert_ledger_reconciles(process: WalletProcess) -> None:
    db = Database(process.database_url)
    try:
        report = await reconcile(db)
    finally:
        await db.dispose()
    assert report.ok, "\n".join(report.lines())


async def test_200_concurrent_debits_of_1000_against_100000_leave_exactly_zero(
    wallet: WalletClient, wallet_process: WalletProcess
) -> None:
    user = new_id()
    wallet_id = await wallet.create_wallet(user)
    assert error_code(await wallet.topup(user, wallet_id, 100_000)) is None
    debit_token = service_token("wallet:debit")

    results = await asyncio.gather(
        *(wallet.deduct(user, wallet_id, 1_000, token=debit_token) for _ in range(200))
    )

    outcomes = Counter(error_code(body) or "OK" for body in results)
    unexpected = [body for body in results if error_code(body) not in (None, "INSUFFICIENT_FUNDS")]
    assert outcomes == {"OK": 100, "INSUFFICIENT_FUNDS": 100}, unexpected[:3]
    balances_after = sorted(
        body["data"]["deductWallet"]["balanceAfter"] for body in results if not body.get("errors")
    )
    assert balances_after == sorted(f"{units * 1000}.00" for units in range(100))
    assert await wallet.balance(user, wallet_id) == "0.00"
    await assert_ledger_reconciles(wallet_process)


async def test_100_concurrent_replays_of_one_transaction_id_move_money_once(
    wallet: WalletClient, wallet_process: WalletProcess
) -> None:
    user = new_id()
    wallet_id = await wallet.create_wallet(user)
    await wallet.topup(user, wallet_id, 50_000)
    tx = new_id()

    results = await asyncio.gather(*(wallet.deduct(user, wallet_id, "1234.56", tx=tx) for _ in range(100)))

    assert [error_code(body) for body in results] == [None] * 100
    replayed = Counter(body["data"]["deductWallet"]["replayed"] for body in results)
    assert replayed == {False: 1, True: 99}
    assert {body["data"]["deductWallet"]["balanceAfter"] for body in results} == {"48765.44"}
    assert await wallet.balance(user, wallet_id) == "48765.44"
    movements = await wallet.gql(
        "query($tx: String!) { movementsOf(transactionId: $tx) { walletId direction amount } }",
        wallet.service,
        tx=tx,
    )
    # Once: one debit of the wallet, one credit of the marketplace's settlement account.
    assert sorted(movements["data"]["movementsOf"], key=lambda m: m["direction"]) == [
        {"walletId": "sys:settlement:marketplace", "direction": "CREDIT", "amount": "1234.56"},
        {"walletId": wallet_id, "direction": "DEBIT", "amount": "1234.56"},
    ]
    await assert_ledger_reconciles(wallet_process)


async def test_concurrent_topup_replays_with_different_amounts_move_money_once(wallet: WalletClient) -> None:
    user = new_id()
    wallet_id = await wallet.create_wallet(user)
    tx = new_id()

    results = await asyncio.gather(*(wallet.topup(user, wallet_id, 100 + (i % 2), tx=tx) for i in range(20)))

    codes = Counter(error_code(body) for body in results)
    winner = next(body["data"]["topupWallet"]["amount"] for body in results if not body.get("errors"))
    assert codes[None] == 10 and codes["IDEMPOTENCY_KEY_REUSED"] == 10
    assert await wallet.balance(user, wallet_id) == winner


async def test_opposite_transfers_in_a_loop_never_deadlock_and_conserve_the_total(
    wallet: WalletClient, wallet_process: WalletProcess
) -> None:
    alice, bob = new_id(), new_id()
    wallet_a = await wallet.create_wallet(alice)
    wallet_b = await wallet.create_wallet(bob)
    await wallet.topup(alice, wallet_a, 10_000)
    await wallet.topup(bob, wallet_b, 10_000)

    async def ping_pong(rounds: int) -> list[str | None]:
        codes: list[str | None] = []
        for _ in range(rounds):
            pair = await asyncio.gather(
                wallet.transfer(alice, wallet_a, wallet_b, 700),
                wallet.transfer(bob, wallet_b, wallet_a, 300),
            )
            codes += [error_code(body) for body in pair]
        return codes

    codes = [code for batch in await asyncio.gather(*(ping_pong(8) for _ in range(4))) for code in batch]

    assert set(codes) <= {None, "INSUFFICIENT_FUNDS"}, Counter(codes)
    assert codes.count(None) > len(codes) // 2
    balance_a = await wallet.balance(alice, wallet_a)
    balance_b = await wallet.balance(bob, wallet_b)
    assert float(balance_a) + float(balance_b) == 20_000.0  # exact: both are whole rupiah here
    assert balance_a != "10000.00" or balance_b != "10000.00"
    await assert_ledger_reconciles(wallet_process)


async def test_a_user_token_cannot_call_service_operations_even_directly_at_the_subgraph(
    wallet: WalletClient,
) -> None:
    user = new_id()
    wallet_id = await wallet.create_wallet(user)
    await wallet.topup(user, wallet_id, 500)
    own_token = user_token(user)
    admin_token = user_token(new_id(), role="ADMIN")
    variables = {"transactionId": new_id(), "userId": user, "walletId": wallet_id, "amount": 100}

    for token in (own_token, admin_token):
        body = await wallet.gql(DEDUCT, token, input=variables)
        assert error_code(body) == "FORBIDDEN"
        body = await wallet.gql(
            "query($tx: String!) { movementsOf(transactionId: $tx) { amount } }", token, tx="x"
        )
        assert error_code(body) == "FORBIDDEN"
    wrong_scope = await wallet.gql(DEDUCT, service_token("wallet:credit"), input=variables)
    assert error_code(wrong_scope) == "FORBIDDEN"
    anonymous = await wallet.client.post(
        wallet.url, json={"query": DEDUCT, "variables": {"input": variables}}
    )
    assert error_code(anonymous.json()) == "UNAUTHENTICATED"
    assert await wallet.balance(user, wallet_id) == "500.00"
