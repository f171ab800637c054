"""Invoices (VAs) and PAYMENTs: issuing, validating against our invoice and the marketplace, paying once."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.tokens import as_router
from tests.transactions.conftest import CREATE, Stack, TxApi, error_code, running_app
from tests.transactions.fakes import FakeMarketplace

VA_SHAPE = re.compile(r"^DS-8800\d{10}$")
INVOICE = """query($va: String!) { invoice(vaNumber: $va) {
    vaNumber amount description status expiresAt paidAt } }"""
SEED_PAYMENT = """
mutation {
  createTransaction(input: {
    walletId: "%s",
    amount: %s,
    type: PAYMENT,
    vaNumber: "%s"
  }) {
    transactionId
    status
    vaNumber
  }
}"""


async def test_the_marketplace_gets_a_va_without_a_token_for_int_and_float_literals(tx: TxApi) -> None:
    whole = await tx.invoice("150000")
    floaty = await tx.invoice("150000.0")
    assert VA_SHAPE.match(whole) and VA_SHAPE.match(floaty) and whole != floaty
    user = await tx.stack.new_user()
    seen = (await tx.data(INVOICE, {"va": floaty}, user.token))["invoice"]
    assert seen["amount"] == "150000.00" and seen["status"] == "UNPAID"
    assert seen["description"] == "Order BlackDoctrine"
    expires = datetime.fromisoformat(seen["expiresAt"])
    assert timedelta(hours=23) < expires - datetime.now(UTC) <= timedelta(hours=24)
    assert (await tx.data(INVOICE, {"va": "DS-88000000000000"}, user.token))["invoice"] is None


async def test_invalid_invoice_amounts_are_bad_user_input(tx: TxApi) -> None:
    for literal in ("0", "-5", "10.001", '"abc"'):
        body = await tx.call(f"mutation {{ generateInvoiceVA(amount: {literal}) }}")
        assert error_code(body) == "BAD_USER_INPUT", (literal, body)


async def test_the_seed_payment_pays_our_invoice_once_and_marks_it_paid(tx: TxApi, stack: Stack) -> None:
    user, wallet = await tx.funded_wallet(100_000)
    va = await tx.invoice("20000")
    data = await tx.data(SEED_PAYMENT % (wallet, "20000", va), token=user.token)
    paid = data["createTransaction"]
    assert paid["status"] == "SUCCESS" and paid["vaNumber"] == va
    assert await stack.balance(user, wallet) == "80000.00"
    invoice = (await tx.data(INVOICE, {"va": va}, user.token))["invoice"]
    assert invoice["status"] == "PAID" and invoice["paidAt"]
    assert await stack.fraud_log(paid["transactionId"]) is not None

    async def recorded() -> bool:
        entries = await stack.history(user)
        return any(e["transactionId"] == paid["transactionId"] and e["vaNumber"] == va for e in entries)

    await tx.wait_for(recorded)
    again = await tx.create(user, walletId=wallet, amount=20000, type="PAYMENT", vaNumber=va)
    assert again["status"] == "FAILED" and again["failureReason"]["code"] == "VA_ALREADY_PAID"
    assert await stack.balance(user, wallet) == "80000.00"


async def test_unpayable_vas_fail_with_their_code_and_debit_nothing(tx: TxApi, stack: Stack) -> None:
    user, wallet = await tx.funded_wallet(500_000)
    va = await tx.invoice("150000")
    cases = [
        ("DS-88009999999999", "150000", "VA_NOT_FOUND"),
        ("OFFLINE-1732600000000", "150000", "VA_NOT_FOUND"),
        (va, "150000.01", "VA_AMOUNT_MISMATCH"),
        (va, "15000", "VA_AMOUNT_MISMATCH"),
    ]
    for va_number, amount, code in cases:
        result = await tx.create(user, walletId=wallet, amount=amount, type="PAYMENT", vaNumber=va_number)
        assert result["status"] == "FAILED", result
        assert result["failureReason"]["code"] == code, (va_number, amount, result)
        assert await stack.movements(result["transactionId"]) == []
    assert await stack.balance(user, wallet) == "500000.00"
    # The invoice is still payable after the failed attempts.
    ok = await tx.create(user, walletId=wallet, amount="150000.00", type="PAYMENT", vaNumber=va)
    assert ok["status"] == "SUCCESS"


async def test_an_expired_invoice_cannot_be_paid(stack: Stack, tmp_path: Path) -> None:
    async with running_app(stack, tmp_path / "tx.db", invoice_ttl_s=0) as api:
        user, wallet = await api.funded_wallet(10_000)
        va = await api.invoice("5000")
        seen = (await api.data(INVOICE, {"va": va}, user.token))["invoice"]
        assert seen["status"] == "EXPIRED"
        result = await api.create(user, walletId=wallet, amount=5000, type="PAYMENT", vaNumber=va)
        assert result["status"] == "FAILED" and result["failureReason"]["code"] == "VA_EXPIRED"
        assert await stack.balance(user, wallet) == "10000.00"


async def test_invoices_are_rate_limited_per_client_and_need_the_merchant_key_when_set(
    stack: Stack, tmp_path: Path
) -> None:
    async with running_app(stack, tmp_path / "tx.db", invoice_rate_limit=3, merchant_api_key="s3cret") as api:
        mutation = "mutation { generateInvoiceVA(amount: 1000) }"
        assert error_code(await api.call(mutation)) == "UNAUTHENTICATED"
        wrong = await api.call(mutation, headers={"X-Merchant-Key": "guess"})
        assert error_code(wrong) == "UNAUTHENTICATED"
        key = {"X-Merchant-Key": "s3cret"}
        results = [await api.call(mutation, headers=key) for _ in range(2)]
        # The two refused attempts above counted too: one success is left, then RATE_LIMITED.
        assert [error_code(r) for r in results] == [None, "RATE_LIMITED"]
        # Another client named by the router (its credential, X-Forwarded-For) has its own budget.
        other = await api.call(mutation, headers=as_router({**key, "X-Forwarded-For": "203.0.113.9"}))
        assert VA_SHAPE.match(other["data"]["generateInvoiceVA"])
        # A caller without the router's credential cannot escape its budget with its own header.
        spoofed = await api.call(mutation, headers={**key, "X-Forwarded-For": "198.51.100.7"})
        assert error_code(spoofed) == "RATE_LIMITED"


async def test_the_marketplace_order_must_exist_match_exactly_and_be_unpaid(
    stack: Stack, tmp_path: Path, marketplace: FakeMarketplace
) -> None:
    assert marketplace.server is not None
    async with running_app(stack, tmp_path / "tx.db", marketplace_url=marketplace.server.url) as api:
        user, wallet = await api.funded_wallet(1_000_000)
        unknown = await api.invoice("150000")
        mismatch = await api.invoice("150000")
        marketplace.add_order(mismatch, "150000.01")
        paid_there = await api.invoice("150000")
        marketplace.add_order(paid_there, "150000", payment_status="PAID")
        exact = await api.invoice("150000")
        marketplace.add_order(exact, "150000.0")
        expected = {unknown: "VA_NOT_FOUND", mismatch: "VA_AMOUNT_MISMATCH", paid_there: "VA_ALREADY_PAID"}
        for va, code in expected.items():
            result = await api.create(user, walletId=wallet, amount=150000, type="PAYMENT", vaNumber=va)
            assert result["status"] == "FAILED" and result["failureReason"]["code"] == code, result
        assert await stack.balance(user, wallet) == "1000000.00"
        marketplace.down = True
        down = await api.create(user, walletId=wallet, amount=150000, type="PAYMENT", vaNumber=exact)
        assert down["status"] == "FAILED"
        assert down["failureReason"]["code"] == "MARKETPLACE_UNAVAILABLE"
        assert await stack.balance(user, wallet) == "1000000.00"
        marketplace.down = False
        ok = await api.create(user, walletId=wallet, amount=150000, type="PAYMENT", vaNumber=exact)
        assert ok["status"] == "SUCCESS", ok
        assert await stack.balance(user, wallet) == "850000.00"

        async def delivered() -> bool:
            return (await api.get(user, ok["transactionId"]))["notification"]["state"] == "DELIVERED"

        await api.wait_for(delivered)
        assert marketplace.acknowledged(exact) == 1
        assert marketplace.orders[exact]["paymentStatus"] == "PAID"


async def _twenty_payments_of_one_va(api: TxApi, marketplace: FakeMarketplace) -> None:
    stack = api.stack
    user, wallet = await api.funded_wallet(2_000_000)
    va = await api.invoice("75000.50")
    marketplace.add_order(va, "75000.5")
    fields = {"walletId": wallet, "amount": "75000.50", "type": "PAYMENT", "vaNumber": va}
    bodies = await asyncio.gather(*(api.call(CREATE, {"input": fields}, user.token) for _ in range(20)))
    results = [body["data"]["createTransaction"] for body in bodies]
    statuses = sorted(r["status"] for r in results)
    assert statuses == ["FAILED"] * 19 + ["SUCCESS"], results
    assert {r["failureReason"]["code"] for r in results if r["status"] == "FAILED"} == {"VA_ALREADY_PAID"}
    assert await stack.balance(user, wallet) == "1924999.50"
    winner = next(r for r in results if r["status"] == "SUCCESS")
    moved = await asyncio.gather(*(stack.movements(r["transactionId"]) for r in results))
    assert [len(m) for m in moved] == [1 if r is winner else 0 for r in results]

    async def delivered() -> bool:
        return (await api.get(user, winner["transactionId"]))["notification"]["state"] == "DELIVERED"

    await api.wait_for(delivered)
    await asyncio.sleep(0.3)  # room for a duplicate notice, if there were one
    assert marketplace.acknowledged(va) == 1
    assert [n for n in marketplace.notices if n[0] == va] == [(va, "ack")]


async def test_twenty_concurrent_payments_of_one_va_pay_it_exactly_once(
    stack: Stack, tmp_path: Path, marketplace: FakeMarketplace
) -> None:
    assert marketplace.server is not None
    async with running_app(stack, tmp_path / "tx.db", marketplace_url=marketplace.server.url) as api:
        await _twenty_payments_of_one_va(api, marketplace)


@pytest.mark.postgres
async def test_twenty_concurrent_payments_of_one_va_pay_it_exactly_once_on_postgresql(
    postgres_admin_url: str, pg_url: str, stack: Stack, marketplace: FakeMarketplace
) -> None:
    assert marketplace.server is not None
    async with running_app(stack, pg_url, marketplace_url=marketplace.server.url) as api:
        await _twenty_payments_of_one_va(api, marketplace)


async def test_a_va_number_collision_draws_another_number(tx: TxApi, monkeypatch: pytest.MonkeyPatch) -> None:
    from subgraphs.transactions import invoices as invoices_module

    taken = await tx.invoice("1000")
    draws = iter([taken, taken, "DS-88001111111111"])
    monkeypatch.setattr(invoices_module, "new_va_number", lambda: next(draws))
    fresh = await tx.service.generate_invoice(500, "retry")
    assert fresh.va_number == "DS-88001111111111"
    assert (await tx.service.get_invoice(taken)).amount_minor == 100_000  # the first invoice is untouched
