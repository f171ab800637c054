"""The saga's own database on PostgreSQL: row locks, the VA claim, recovery and pagination there."""

from __future__ import annotations

import pytest

from tests.support.tokens import user_token
from tests.transactions.conftest import CREATE, Stack, TxApi, error_code, running_app
from tests.transactions.fakes import WalletProxy, serving

pytestmark = pytest.mark.postgres


async def test_the_saga_settles_pays_recovers_and_reverses_on_postgresql(
    postgres_admin_url: str, pg_url: str, stack: Stack
) -> None:
    async with serving(WalletProxy(stack.wallet_url)) as proxy:
        async with running_app(stack, pg_url, wallet_url=proxy.server.url) as api:
            await _flow(api, stack, proxy)


async def _flow(api: TxApi, stack: Stack, proxy: WalletProxy) -> None:
    user = await stack.new_user()
    wallet = await stack.new_wallet(user)
    deposit = await api.create(user, walletId=wallet, amount="250000.75", type="DEPOSIT", idempotencyKey="d1")
    assert deposit["status"] == "SUCCESS"
    replay = await api.create(user, walletId=wallet, amount="250000.75", type="DEPOSIT", idempotencyKey="d1")
    assert replay["transactionId"] == deposit["transactionId"]

    receiver = await stack.new_user()
    target = await stack.new_wallet(receiver)
    transfer = await api.create(user, walletId=wallet, amount=50_000, type="TRANSFER", toWalletId=target)
    assert transfer["status"] == "SUCCESS"

    va = await api.invoice("100000")
    proxy.mode = "lose_answer"
    pending = await api.create(user, walletId=wallet, amount=100_000, type="PAYMENT", vaNumber=va)
    assert pending["status"] == "PENDING"
    proxy.mode = "pass"
    assert await api.service.recover_once() == 1
    assert (await api.get(user, pending["transactionId"]))["status"] == "SUCCESS"
    again = await api.create(user, walletId=wallet, amount=100_000, type="PAYMENT", vaNumber=va)
    assert again["failureReason"]["code"] == "VA_ALREADY_PAID"
    assert await stack.balance(user, wallet) == "100000.75"
    assert await stack.balance(receiver, target) == "50000.00"

    admin = user_token("pg-admin", role="ADMIN")
    reverse = "mutation($id: ID!) { reverseTransaction(transactionId: $id) { status } }"
    reversed_ = await api.data(reverse, {"id": transfer["transactionId"]}, admin)
    assert reversed_["reverseTransaction"]["status"] == "REVERSED"
    assert await stack.balance(receiver, target) == "0.00"

    query = "query($a: String) { myTransactions(first: 2, after: $a) { transactionId status } }"
    page1 = (await api.data(query, {"a": None}, user.token))["myTransactions"]
    page2 = (await api.data(query, {"a": page1[-1]["transactionId"]}, user.token))["myTransactions"]
    listed = [t["transactionId"] for t in page1 + page2]
    assert listed == [
        again["transactionId"],
        pending["transactionId"],
        transfer["transactionId"],
        deposit["transactionId"],
    ]


async def test_a_nul_character_in_any_input_is_a_clear_error_not_internal_on_postgresql(
    postgres_admin_url: str, pg_url: str, stack: Stack
) -> None:
    """PostgreSQL refuses NUL in any text parameter; every entry point answers with our codes."""
    async with running_app(stack, pg_url) as api:
        user = await stack.new_user()
        wallet = await stack.new_wallet(user)
        va = await api.invoice("1000")
        base = {"walletId": wallet, "amount": 1000, "type": "DEPOSIT"}
        for fields in (
            {"description": "Gaji\u0000"},
            {"idempotencyKey": "k\u0000"},
            {"walletId": f"{wallet}\u0000"},
            {"type": "PAYMENT", "vaNumber": f"{va}\u0000"},
            {"type": "TRANSFER", "toWalletId": "\u0000"},
        ):
            body = await api.call(CREATE, {"input": {**base, **fields}}, user.token)
            assert error_code(body) == "BAD_USER_INPUT", (fields, body)
        assert await api.data("{ myTransactions { transactionId } }", token=user.token) == {
            "myTransactions": []
        }

        admin = user_token("pg-admin", role="ADMIN")
        refused = {
            'query { transaction(transactionId: "\\u0000") { status } }': ("NOT_FOUND", user.token),
            'query { myTransactions(after: "\\u0000") { status } }': ("BAD_USER_INPUT", user.token),
            'mutation { generateInvoiceVA(amount: 5, description: "x\\u0000") }': ("BAD_USER_INPUT", None),
            'mutation { reverseTransaction(transactionId: "\\u0000") { status } }': ("NOT_FOUND", admin),
            'mutation { retryOutboxMessage(id: "\\u0000") { state } }': ("NOT_FOUND", admin),
        }
        for query, (code, token) in refused.items():
            assert error_code(await api.call(query, token=token)) == code, query
        invoice = await api.data('query { invoice(vaNumber: "\\u0000") { status } }', token=user.token)
        assert invoice == {"invoice": None}
        entities = """query($r: [_Any!]!) { _entities(representations: $r) {
            ... on User { transactions { transactionId } } ... on Wallet { transactions { transactionId } }
            ... on Transaction { status } } }"""
        representations = [
            {"__typename": "User", "id": "\u0000"},
            {"__typename": "Wallet", "walletId": "\u0000"},
            {"__typename": "Transaction", "transactionId": "\u0000"},
        ]
        found = await api.data(entities, {"r": representations}, admin)
        assert found["_entities"] == [{"transactions": []}, {"transactions": []}, None]
