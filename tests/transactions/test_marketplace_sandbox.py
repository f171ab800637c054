"""The buyer's flow of marketplace.md against the real marketplace sandbox process.

The transactions app is served over real HTTP here (the sandbox calls its `generateInvoiceVA`
without a token, as the real marketplace does, and the app calls the sandbox back for
`getOrderByVA` and `updatePaymentStatus`).
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx

from subgraphs.transactions.app import create_app
from tests.support.procs import Process, free_port, python_module
from tests.transactions.conftest import Stack, make_config, make_settings
from tests.transactions.fakes import LocalServer, url_of

CREATE_ORDER = """mutation {
  createOrder(input: {productId: "3", quantity: 1, alamatPengiriman: "Jl. Sawit 1",
                      metodePengiriman: "REGULER", kotaTujuanId: "1"}) {
    id totalHarga nomorVA status paymentStatus } }"""


async def gql(
    http: httpx.AsyncClient, url: str, query: str, token: str | None = None, **variables: object
) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = (await http.post(url, json={"query": query, "variables": variables}, headers=headers)).json()
    assert not body.get("errors"), body
    return body["data"]


async def _new_order(http: httpx.AsyncClient, users_url: str, orders_url: str) -> dict:
    """A new buyer registers and logs in at the sandbox, and orders one product (UNPAID, with a VA)."""
    email = f"buyer-{uuid.uuid4().hex[:8]}@example.com"
    await gql(
        http,
        users_url,
        'mutation($e: String!) { register(nama: "Bu", email: $e, password: "rahasia1") { id } }',
        e=email,
    )
    login = await gql(
        http, users_url, f'mutation {{ login(email: "{email}", password: "rahasia1") {{ token }} }}'
    )
    return (await gql(http, orders_url, CREATE_ORDER, login["login"]["token"]))["createOrder"]


async def test_a_buyer_pays_a_sandbox_order_by_va_and_the_order_becomes_paid(
    stack: Stack, tmp_path: Path
) -> None:
    users_port, orders_port, tx_port = free_port(), free_port(), free_port()
    orders_url = url_of(orders_port)
    app = create_app(
        make_settings(stack, tmp_path / "tx.db"), make_config(marketplace_url=orders_url, outbox_poll_s=0.1)
    )
    async with app.router.lifespan_context(app):
        server = await LocalServer(app, tx_port).start()
        sandbox = Process(
            python_module("scripts.marketplace_sandbox"),
            {
                **stack.env,
                "SANDBOX_USERS_PORT": str(users_port),
                "SANDBOX_ORDERS_PORT": str(orders_port),
                "WALLET_GATEWAY_URL": url_of(tx_port),
            },
            tmp_path / "sandbox.log",
            health_url=f"http://127.0.0.1:{orders_port}/health",
        )
        try:
            sandbox.start()
            async with httpx.AsyncClient(timeout=30.0) as http:
                order = await _new_order(http, url_of(users_port), orders_url)
                va = order["nomorVA"]
                assert va.startswith("DS-8800"), order
                assert order["paymentStatus"] == "UNPAID"

                payer = await stack.new_user()
                wallet = await stack.new_wallet(payer)
                await stack.topup(payer, wallet, 500_000)
                paid = await gql(
                    http,
                    url_of(tx_port),
                    """mutation($w: ID!, $a: Money!, $va: String!) {
                         createTransaction(input: {walletId: $w, amount: $a, type: PAYMENT, vaNumber: $va}) {
                           transactionId status failureReason { code } } }""",
                    payer.token,
                    w=wallet,
                    a=order["totalHarga"],  # the marketplace's Float, sent back as the JSON number it is
                    va=va,
                )
                assert paid["createTransaction"]["status"] == "SUCCESS", paid
                assert await stack.balance(payer, wallet) == f"{500_000 - order['totalHarga']:.2f}"

                async def order_paid() -> bool:
                    query = "query($va: String!) { getOrderByVA(vaNumber: $va) { paymentStatus } }"
                    data = await gql(http, orders_url, query, va=va)
                    return data["getOrderByVA"]["paymentStatus"] == "PAID"

                for _ in range(200):
                    if await order_paid():
                        break
                    await asyncio.sleep(0.05)
                assert await order_paid()
        finally:
            sandbox.stop()
            await server.stop()
