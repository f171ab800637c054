"""Faults: the marketplace, the wallet or fraud away, answers lost, the process killed mid-saga.

Invariants checked after each: money moved at most once (wallet `movementsOf`, balances), nothing
reported FAILED while money may have moved, and every settled payment's notice is delivered.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx

from shared.money import format_minor
from tests.support.procs import free_port, start_subgraph
from tests.support.tokens import bearer, user_token
from tests.transactions.conftest import CREATE, GET, Stack, TxApi, User, error_code, running_app
from tests.transactions.fakes import FakeMarketplace, WalletProxy, serving, url_of

OUTBOX = (
    """query($s: String) { outboxMessages(state: $s) { id transactionId kind state attempts lastError } }"""
)
RETRY = "mutation($id: ID!) { retryOutboxMessage(id: $id) { id state attempts } }"


async def notification(api: TxApi, user: User, transaction_id: str) -> dict[str, Any]:
    return (await api.get(user, transaction_id))["notification"]


async def paid_while_notices_fail(
    api: TxApi, marketplace: FakeMarketplace, funds: int, amount: int
) -> tuple[User, str, str, dict[str, Any]]:
    """A new user's wallet holding `funds` pays a marketplace order of `amount` by VA while the
    marketplace refuses every notice: (user, wallet, VA, the SUCCESS transaction)."""
    user, wallet = await api.funded_wallet(funds)
    va = await api.invoice(str(amount))
    marketplace.add_order(va, str(amount))
    marketplace.notices_down = True
    paid = await api.create(user, walletId=wallet, amount=amount, type="PAYMENT", vaNumber=va)
    assert paid["status"] == "SUCCESS", paid
    return user, wallet, va, paid


async def test_a_marketplace_that_is_down_or_says_false_never_unsettles_a_payment_and_gets_the_notice_later(
    stack: Stack, tmp_path: Path, marketplace: FakeMarketplace
) -> None:
    assert marketplace.server is not None
    url = marketplace.server.url
    async with running_app(stack, tmp_path / "tx.db", marketplace_url=url) as api:
        user, wallet, va, paid = await paid_while_notices_fail(api, marketplace, 200_000, 99000)
        tx_id = paid["transactionId"]

        async def failing_with(text: str) -> bool:
            notice = await notification(api, user, tx_id)
            return notice["state"] == "PENDING" and text in (notice["lastError"] or "")

        await api.wait_for(lambda: failing_with("MARKETPLACE_UNAVAILABLE"))
        marketplace.notices_down = False
        marketplace.answer_false = True
        await api.wait_for(lambda: failing_with("false"))
        assert (await api.get(user, tx_id))["status"] == "SUCCESS"
        assert marketplace.orders[va]["paymentStatus"] == "UNPAID"
        marketplace.answer_false = False

        async def delivered() -> bool:
            return (await notification(api, user, tx_id))["state"] == "DELIVERED"

        await api.wait_for(delivered)
        notice = await notification(api, user, tx_id)
        assert notice["attempts"] >= 3 and notice["deliveredAt"] and notice["lastError"] is None
        assert marketplace.acknowledged(va) == 1
        # every try carried the same stable id, so the marketplace could drop repeats
        keys = {h.get("idempotency-key") for h in marketplace.notice_headers}
        assert len(keys) == 1 and None not in keys
        assert {h.get("x-transaction-id") for h in marketplace.notice_headers} == {tx_id}
        assert marketplace.orders[va]["paymentStatus"] == "PAID"
        assert await stack.balance(user, wallet) == "101000.00"


async def test_an_undeliverable_notice_goes_dead_and_an_admin_can_retry_it(
    stack: Stack, tmp_path: Path, marketplace: FakeMarketplace
) -> None:
    assert marketplace.server is not None
    async with running_app(
        stack, tmp_path / "tx.db", marketplace_url=marketplace.server.url, outbox_retry_horizon_s=0.5
    ) as api:
        user, wallet, va, paid = await paid_while_notices_fail(api, marketplace, 10_000, 1000)

        async def dead() -> bool:
            return (await notification(api, user, paid["transactionId"]))["state"] == "DEAD"

        await api.wait_for(dead)
        admin = user_token(str(uuid.uuid4()), role="ADMIN")
        assert error_code(await api.call(OUTBOX, {"s": "DEAD"}, user.token)) == "FORBIDDEN"
        messages = (await api.data(OUTBOX, {"s": "DEAD"}, admin))["outboxMessages"]
        [message] = [
            m for m in messages if m["transactionId"] == paid["transactionId"] and m["kind"] == "MARKETPLACE"
        ]
        assert message["kind"] == "MARKETPLACE" and message["attempts"] >= 1
        assert error_code(await api.call(RETRY, {"id": message["id"]}, user.token)) == "FORBIDDEN"
        marketplace.notices_down = False
        retried = (await api.data(RETRY, {"id": message["id"]}, admin))["retryOutboxMessage"]
        assert retried["state"] == "PENDING" and retried["attempts"] == 0

        async def delivered() -> bool:
            return (await notification(api, user, paid["transactionId"]))["state"] == "DELIVERED"

        await api.wait_for(delivered)
        assert marketplace.acknowledged(va) == 1


async def test_an_unreachable_wallet_leaves_the_transaction_pending_and_recovery_settles_it_once(
    stack: Stack, tmp_path: Path
) -> None:
    async with serving(WalletProxy(stack.wallet_url)) as proxy:
        async with running_app(stack, tmp_path / "tx.db", wallet_url=proxy.server.url) as api:
            user = await stack.new_user()
            wallet = await stack.new_wallet(user)
            await proxy.server.stop()  # connection refused from now on
            pending = await api.create(user, walletId=wallet, amount=42_000, type="DEPOSIT")
            assert pending["status"] == "PENDING"
            assert pending["failureReason"]["code"] == "SUBGRAPH_UNAVAILABLE"
            assert await stack.movements(pending["transactionId"]) == []
            assert await api.service.recover_once() == 0
            assert (await api.get(user, pending["transactionId"]))["status"] == "PENDING"
            await proxy.server.start()
            assert await api.service.recover_once() == 1
            settled = await api.get(user, pending["transactionId"])
            assert settled["status"] == "SUCCESS" and settled["failureReason"] is None
            assert await api.service.recover_once() == 0
            assert len(await stack.movements(pending["transactionId"])) == 1
            assert await stack.balance(user, wallet) == "42000.00"


async def test_a_lost_wallet_answer_is_settled_from_the_ledger_without_moving_money_twice(
    stack: Stack, tmp_path: Path
) -> None:
    async with serving(WalletProxy(stack.wallet_url)) as proxy:
        async with running_app(stack, tmp_path / "tx.db", wallet_url=proxy.server.url) as api:
            user, wallet = await api.funded_wallet(50_000)
            va = await api.invoice("30000")
            proxy.mode = "lose_answer"
            pending = await api.create(user, walletId=wallet, amount=30000, type="PAYMENT", vaNumber=va)
            assert pending["status"] == "PENDING", pending
            assert pending["failureReason"]["code"] == "SUBGRAPH_UNAVAILABLE"
            assert await stack.balance(user, wallet) == "20000.00"  # the wallet did debit
            # Nobody else can pay the claimed VA meanwhile.
            proxy.mode = "pass"
            other, other_wallet = await api.funded_wallet(30_000)
            blocked = await api.create(
                other, walletId=other_wallet, amount=30000, type="PAYMENT", vaNumber=va
            )
            assert blocked["failureReason"]["code"] == "VA_ALREADY_PAID"
            forwarded = proxy.forwarded
            assert await api.service.recover_once() == 1
            assert proxy.forwarded == forwarded + 1  # one movementsOf, no second debit
            settled = await api.get(user, pending["transactionId"])
            assert settled["status"] == "SUCCESS"
            assert [m["direction"] for m in await stack.movements(pending["transactionId"])] == ["DEBIT"]
            assert await stack.balance(user, wallet) == "20000.00"
            invoice = await api.data(
                "query($v: String!) { invoice(vaNumber: $v) { status } }", {"v": va}, user.token
            )
            assert invoice["invoice"]["status"] == "PAID"


async def test_an_unreachable_fraud_service_fails_the_transaction_before_any_money_moves(
    stack: Stack, tmp_path: Path
) -> None:
    async with running_app(stack, tmp_path / "tx.db", fraud_url=url_of(free_port())) as api:
        user = await stack.new_user()
        wallet = await stack.new_wallet(user)
        failed = await api.create(user, walletId=wallet, amount=1000, type="DEPOSIT")
        assert failed["status"] == "FAILED"
        assert failed["failureReason"]["code"] == "SUBGRAPH_UNAVAILABLE"
        assert await stack.movements(failed["transactionId"]) == []
        assert await stack.balance(user, wallet) == "0.00"


async def _post(
    http: httpx.AsyncClient, url: str, query: str, variables: dict[str, Any] | None = None, token: str = ""
) -> dict[str, Any]:
    """The JSON body of one GraphQL call to a transactions process (as `token`'s user, if given)."""
    response = await http.post(
        url, json={"query": query, "variables": variables or {}}, headers=bearer(token) if token else {}
    )
    return response.json()


async def test_a_process_killed_between_debit_and_success_settles_after_restart(
    stack: Stack, tmp_path: Path
) -> None:
    port = free_port()
    env = {
        **stack.env,
        "TRANSACTIONS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'tx.db'}",
        "WALLET_URL": stack.wallet_url,
        "FRAUD_URL": stack.fraud_url,
        "HISTORY_URL": stack.history_url,
        "RECOVERY_GRACE_S": "0",
        "RECOVERY_INTERVAL_S": "0.3",
        "OUTBOX_POLL_S": "0.1",
    }
    url = url_of(port)
    user = await stack.new_user()
    wallet = await stack.new_wallet(user)
    await stack.topup(user, wallet, 80_000)
    crashing, _ = start_subgraph(
        "transactions", {**env, "TRANSACTIONS_CRASH_AFTER_DEBIT": "1"}, tmp_path / "logs", port=port
    )
    try:
        async with httpx.AsyncClient(timeout=30.0) as http:
            va = await _post(http, url, "mutation { generateInvoiceVA(amount: 80000) }")
            va_number = va["data"]["generateInvoiceVA"]
            fields = {"walletId": wallet, "amount": 80000, "type": "PAYMENT", "vaNumber": va_number}
            try:
                await _post(http, url, CREATE, {"input": fields}, user.token)
                raise AssertionError("the crash hook did not fire")
            except httpx.TransportError:
                pass
            assert crashing.proc is not None and crashing.proc.wait(10) != 0
            assert await stack.balance(user, wallet) == "0.00"  # debited; SUCCESS not yet recorded
            restarted, _ = start_subgraph("transactions", env, tmp_path / "logs", port=port)
            try:
                listed = await _post(http, url, "{ myTransactions { transactionId } }", token=user.token)
                [entry] = listed["data"]["myTransactions"]
                tx_id = entry["transactionId"]

                async def settled() -> bool:
                    body = await _post(http, url, GET, {"id": tx_id}, user.token)
                    return body["data"]["transaction"]["status"] == "SUCCESS"

                await TxApi.wait_for(None, settled)  # type: ignore[arg-type]
                movements = await stack.movements(tx_id)
                assert [(m["direction"], m["amount"]) for m in movements] == [
                    ("DEBIT", format_minor(8_000_000))
                ]
                assert await stack.balance(user, wallet) == "0.00"
                query = "query($v: String!) { invoice(vaNumber: $v) { status } }"
                invoice = await _post(http, url, query, {"v": va_number}, user.token)
                assert invoice["data"]["invoice"]["status"] == "PAID"
            finally:
                restarted.stop()
    finally:
        crashing.kill()


async def test_a_failing_notice_is_retried_past_the_old_eight_attempts_and_is_listed_as_overdue(
    stack: Stack, tmp_path: Path, marketplace: FakeMarketplace
) -> None:
    assert marketplace.server is not None
    async with running_app(
        stack,
        tmp_path / "tx.db",
        marketplace_url=marketplace.server.url,
        outbox_backoff_s=0.01,
        outbox_backoff_max_s=0.02,
        outbox_overdue_s=0.2,
    ) as api:
        user, wallet, va, paid = await paid_while_notices_fail(api, marketplace, 10_000, 1000)
        tx_id = paid["transactionId"]

        async def many_attempts() -> bool:
            return (await notification(api, user, tx_id))["attempts"] >= 12

        await api.wait_for(many_attempts, timeout_s=20)
        assert (await notification(api, user, tx_id))["state"] == "PENDING"  # not DEAD: within the horizon
        admin = user_token(str(uuid.uuid4()), role="ADMIN")
        overdue = OUTBOX.replace("outboxMessages(state: $s)", "outboxMessages(state: $s, overdue: true)")
        listed = (await api.data(overdue, {"s": None}, admin))["outboxMessages"]
        assert tx_id in {m["transactionId"] for m in listed if m["kind"] == "MARKETPLACE"}
        await api.outbox.update_backlog_gauge()
        from shared.metrics import OUTBOX_OVERDUE

        assert OUTBOX_OVERDUE.labels("MARKETPLACE")._value.get() >= 1
        marketplace.notices_down = False

        async def delivered() -> bool:
            return (await notification(api, user, tx_id))["state"] == "DELIVERED"

        await api.wait_for(delivered)
        assert marketplace.acknowledged(va) == 1
        not_overdue = (await api.data(overdue, {"s": None}, admin))["outboxMessages"]
        assert tx_id not in {m["transactionId"] for m in not_overdue if m["kind"] == "MARKETPLACE"}
