"""The marketplace sandbox speaks contracts/marketplace.md: users, orders, VAs, notices, test hooks."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from scripts.marketplace_sandbox import SandboxSettings
from scripts.sandbox.apps import create_orders_app, create_users_app
from scripts.sandbox.store import Store
from scripts.sandbox.wallet import WalletGateway
from tests.support.procs import Process, free_port, python_module

REGISTER = """
mutation RegisterUser($nama: String!, $email: String!, $password: String!) {
  register(nama: $nama, email: $email, password: $password) {
    id nama email role isActive statusLabel
  }
}"""
LOGIN = """
mutation LoginUser($email: String!, $password: String!) {
  login(email: $email, password: $password) { token user { id nama email role isActive statusLabel } }
}"""
CREATE_ORDER = """
mutation BuatOrderBaru {
  createOrder(input: {
    productId: "1",
    quantity: 2,
    alamatPengiriman: "Jalan Konoha No. 02",
    metodePengiriman: "%s",
    kotaTujuanId: "1"
  }) { id productId quantity totalHarga nomorVA status paymentStatus ongkir nomorResi }
}"""
BY_VA = """
query ($va: String!) {
  getOrderByVA(vaNumber: $va) { id productId quantity totalHarga status paymentStatus nomorVA nomorResi }
}"""
NOTICE = "mutation ($va: String!, $s: String!) { updatePaymentStatus(vaNumber: $va, status: $s) }"


@dataclass
class FakeWallet:
    """Records what the sandbox sent to the wallet and answers as configured."""

    mode: str = "ok"  # ok | down | error | http500
    requests: list[httpx.Request] = field(default_factory=list)
    issued: int = 0

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.mode == "down":
            raise httpx.ConnectError("connection refused", request=request)
        if self.mode == "http500":
            return httpx.Response(500, text="boom")
        if self.mode == "error":
            return httpx.Response(
                200, json={"data": None, "errors": [{"message": "x", "extensions": {"code": "INTERNAL"}}]}
            )
        self.issued += 1
        return httpx.Response(200, json={"data": {"generateInvoiceVA": f"8808{self.issued:08d}"}})


@dataclass
class Sandbox:
    store: Store
    wallet: FakeWallet
    users: httpx.AsyncClient
    orders: httpx.AsyncClient

    async def call(
        self,
        client: httpx.AsyncClient,
        query: str,
        variables: dict[str, Any] | None = None,
        token: str | None = None,
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return await client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )

    async def gql(
        self,
        client: httpx.AsyncClient,
        query: str,
        variables: dict[str, Any] | None = None,
        token: str | None = None,
    ) -> dict[str, Any]:
        response = await self.call(client, query, variables, token)
        assert response.status_code == 200, response.text
        return response.json()

    async def buyer(self, email: str = "sakura@gmail.com") -> str:
        await self.gql(
            self.users, REGISTER, {"nama": "Sakura Haruno", "email": email, "password": "password123"}
        )
        body = await self.gql(self.users, LOGIN, {"email": email, "password": "password123"})
        return body["data"]["login"]["token"]

    async def order(self, token: str, method: str = "REGULER") -> dict[str, Any]:
        body = await self.gql(self.orders, CREATE_ORDER % method, token=token)
        assert "errors" not in body, body
        return body["data"]["createOrder"]


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[Sandbox]:
    store = Store(state_file=tmp_path / "state.json")
    fake = FakeWallet()
    gateway = WalletGateway("http://wallet.test/graphql", transport=httpx.MockTransport(fake.handler))
    users_app, orders_app = create_users_app(store), create_orders_app(store, gateway)
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=users_app), base_url="http://users") as users,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=orders_app), base_url="http://orders") as orders,
    ):
        yield Sandbox(store, fake, users, orders)
    await gateway.aclose()


async def test_register_returns_the_seed_fields_and_refuses_a_second_account_for_the_email(
    sandbox: Sandbox,
) -> None:
    variables = {"nama": "Sakura Haruno", "email": "sakura@gmail.com", "password": "password123"}
    first = await sandbox.gql(sandbox.users, REGISTER, variables)
    user = first["data"]["register"]
    assert user["nama"] == "Sakura Haruno" and user["email"] == "sakura@gmail.com"
    assert user["role"] == "USER" and user["isActive"] is True and user["statusLabel"] == "Aktif"
    assert user["id"]
    again = await sandbox.gql(sandbox.users, REGISTER, variables)
    assert again["errors"][0]["extensions"]["code"] == "CONFLICT"


async def test_login_gives_a_token_for_the_right_password_only(sandbox: Sandbox) -> None:
    token = await sandbox.buyer()
    assert token.count(".") == 1
    me = await sandbox.gql(sandbox.users, "{ me { email } }", token=token)
    assert me["data"]["me"]["email"] == "sakura@gmail.com"
    wrong = await sandbox.gql(sandbox.users, LOGIN, {"email": "sakura@gmail.com", "password": "nope123"})
    assert wrong["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert wrong["data"] is None


async def test_create_order_needs_a_valid_marketplace_token(sandbox: Sandbox) -> None:
    token = await sandbox.buyer()
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    for bad in (None, forged, "garbage"):
        body = await sandbox.gql(sandbox.orders, CREATE_ORDER % "REGULER", token=bad)
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert sandbox.store.orders == {}
    assert sandbox.wallet.requests == []


async def test_create_order_prices_goods_plus_shipping_and_takes_the_va_from_the_wallet(
    sandbox: Sandbox,
) -> None:
    token = await sandbox.buyer()
    order = await sandbox.order(token)
    assert order["totalHarga"] == 30000.0 and order["ongkir"] == 10000.0
    assert order["productId"] == "1" and order["quantity"] == 2
    assert order["status"] == "PENDING" and order["paymentStatus"] == "UNPAID"
    assert order["nomorVA"] == "880800000001" and order["nomorResi"] is None
    express = await sandbox.order(token, "EXPRESS")
    assert express["totalHarga"] == 40000.0 and express["ongkir"] == 20000.0

    sent = sandbox.wallet.requests[0]
    assert "authorization" not in sent.headers
    query = json.loads(sent.content)["query"]
    assert re.search(r'generateInvoiceVA\(amount: 30000\.0, description: "Order BlackDoctrine"\)', query)
    assert query.lstrip().startswith("mutation")


async def test_create_order_refuses_unknown_products_and_shipping_methods(sandbox: Sandbox) -> None:
    token = await sandbox.buyer()
    body = await sandbox.gql(sandbox.orders, CREATE_ORDER % "KILAT", token=token)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    unknown = CREATE_ORDER.replace('productId: "1"', 'productId: "999"') % "REGULER"
    body = await sandbox.gql(sandbox.orders, unknown, token=token)
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert sandbox.store.orders == {}


@pytest.mark.parametrize("mode", ["down", "error", "http500"])
async def test_an_order_falls_back_to_an_offline_va_when_the_wallet_cannot_issue_one(
    sandbox: Sandbox, mode: str
) -> None:
    sandbox.wallet.mode = mode
    token = await sandbox.buyer()
    order = await sandbox.order(token)
    assert re.fullmatch(r"OFFLINE-\d{13}", order["nomorVA"])
    assert len(sandbox.wallet.requests) == 1
    found = await sandbox.gql(sandbox.orders, BY_VA, {"va": order["nomorVA"]})
    assert found["data"]["getOrderByVA"]["id"] == order["id"]


async def test_get_order_by_va_needs_no_auth_and_is_null_for_an_unknown_va(sandbox: Sandbox) -> None:
    order = await sandbox.order(await sandbox.buyer())
    known = await sandbox.gql(sandbox.orders, BY_VA, {"va": order["nomorVA"]})
    assert known["data"]["getOrderByVA"] == {
        "id": order["id"],
        "productId": "1",
        "quantity": 2,
        "totalHarga": 30000.0,
        "status": "PENDING",
        "paymentStatus": "UNPAID",
        "nomorVA": order["nomorVA"],
        "nomorResi": None,
    }
    unknown = await sandbox.gql(sandbox.orders, BY_VA, {"va": "880899999999"})
    assert unknown == {"data": {"getOrderByVA": None}}


async def test_a_paid_notice_marks_the_order_paid_once_and_an_unknown_va_is_answered_false(
    sandbox: Sandbox,
) -> None:
    order = await sandbox.order(await sandbox.buyer())
    va = order["nomorVA"]
    first = await sandbox.gql(sandbox.orders, NOTICE, {"va": va, "s": "PAID"})
    assert first == {"data": {"updatePaymentStatus": True}}
    paid = (await sandbox.gql(sandbox.orders, BY_VA, {"va": va}))["data"]["getOrderByVA"]
    assert paid["paymentStatus"] == "PAID" and paid["status"] == "PROCESS"
    assert paid["nomorResi"].startswith("RESI-")

    repeat = await sandbox.gql(sandbox.orders, NOTICE, {"va": va, "s": "PAID"})
    assert repeat == {"data": {"updatePaymentStatus": True}}
    again = (await sandbox.gql(sandbox.orders, BY_VA, {"va": va}))["data"]["getOrderByVA"]
    assert again["nomorResi"] == paid["nomorResi"]

    unknown = await sandbox.gql(sandbox.orders, NOTICE, {"va": "880899999999", "s": "PAID"})
    assert unknown == {"data": {"updatePaymentStatus": False}}
    outcomes = [(n.va_number, n.outcome) for n in sandbox.store.notices]
    assert outcomes == [(va, "ACCEPTED"), (va, "ACCEPTED"), ("880899999999", "UNKNOWN_VA")]


async def test_sandbox_set_down_makes_only_the_notice_answer_503_until_it_is_back_up(
    sandbox: Sandbox,
) -> None:
    order = await sandbox.order(await sandbox.buyer())
    va = order["nomorVA"]
    down = await sandbox.gql(sandbox.orders, "mutation { sandboxSetDown(down: true) }")
    assert down == {"data": {"sandboxSetDown": ["updatePaymentStatus"]}}

    refused = await sandbox.call(sandbox.orders, NOTICE, {"va": va, "s": "PAID"})
    assert refused.status_code == 503
    still = await sandbox.gql(sandbox.orders, BY_VA, {"va": va})
    assert still["data"]["getOrderByVA"]["paymentStatus"] == "UNPAID"

    await sandbox.gql(sandbox.orders, "mutation { sandboxSetDown(down: false) }")
    accepted = await sandbox.gql(sandbox.orders, NOTICE, {"va": va, "s": "PAID"})
    assert accepted == {"data": {"updatePaymentStatus": True}}
    seen = await sandbox.gql(
        sandbox.orders, "query ($va: String) { sandboxNotices(vaNumber: $va) { outcome status } }", {"va": va}
    )
    assert seen["data"]["sandboxNotices"] == [
        {"outcome": "DOWN", "status": "PAID"},
        {"outcome": "ACCEPTED", "status": "PAID"},
    ]


async def test_everything_down_refuses_the_bill_lookup_too(sandbox: Sandbox) -> None:
    await sandbox.gql(sandbox.orders, 'mutation { sandboxSetDown(down: true, fields: ["*"]) }')
    refused = await sandbox.call(sandbox.orders, BY_VA, {"va": "x"})
    assert refused.status_code == 503
    await sandbox.gql(sandbox.orders, "mutation { sandboxSetDown(down: false) }")
    assert (await sandbox.call(sandbox.orders, BY_VA, {"va": "x"})).status_code == 200


async def test_the_state_file_keeps_users_and_orders_for_a_restarted_sandbox(sandbox: Sandbox) -> None:
    token = await sandbox.buyer()
    order = await sandbox.order(token)
    reloaded = Store(state_file=sandbox.store.state_file)
    assert reloaded.order_by_va(order["nomorVA"]).total_harga == 30000
    assert reloaded.login("sakura@gmail.com", "password123")[1].nama == "Sakura Haruno"


def test_settings_come_from_the_documented_environment_variables() -> None:
    settings = SandboxSettings.from_env(
        {
            "SANDBOX_HOST": "0.0.0.0",
            "SANDBOX_USERS_PORT": "9001",
            "SANDBOX_ORDERS_PORT": "9003",
            "WALLET_GATEWAY_URL": "http://router:8000/graphql",
            "SANDBOX_TEST_HOOKS": "0",
            "SANDBOX_DOWN_FIELDS": "updatePaymentStatus, getOrderByVA",
        }
    )
    assert (settings.host, settings.users_port, settings.orders_port) == ("0.0.0.0", 9001, 9003)
    assert settings.wallet_gateway_url == "http://router:8000/graphql"
    assert settings.test_hooks is False
    assert settings.down_fields == ("updatePaymentStatus", "getOrderByVA")
    defaults = SandboxSettings.from_env({})
    assert (defaults.users_port, defaults.orders_port) == (7001, 7003)
    assert defaults.wallet_gateway_url == "http://127.0.0.1:8000/graphql"


def test_the_module_serves_both_ports_in_one_process_and_stops_on_sigterm(tmp_path: Path) -> None:
    users_port, orders_port = free_port(), free_port()
    env = {
        "PATH": "/usr/bin:/bin",
        "SANDBOX_USERS_PORT": str(users_port),
        "SANDBOX_ORDERS_PORT": str(orders_port),
        "WALLET_GATEWAY_URL": "http://127.0.0.1:9/graphql",
        "SANDBOX_WALLET_TIMEOUT_S": "1",
    }
    proc = Process(
        python_module("scripts.marketplace_sandbox"),
        env,
        tmp_path / "sandbox.log",
        health_url=f"http://127.0.0.1:{users_port}/health",
    ).start()
    try:
        orders = httpx.get(f"http://127.0.0.1:{orders_port}/health", timeout=5)
        assert orders.json()["service"] == "marketplace-orders"
        hooks = httpx.post(
            f"http://127.0.0.1:{orders_port}/graphql",
            json={"query": '{ getOrderByVA(vaNumber: "none") { id } }'},
            timeout=5,
        )
        assert hooks.json() == {"data": {"getOrderByVA": None}}
    finally:
        proc.stop()
    assert proc.proc is not None and proc.proc.returncode == 0


async def test_the_wallet_offline_hook_gives_offline_vas_without_calling_the_wallet(sandbox: Sandbox) -> None:
    token = await sandbox.buyer()
    switched = await sandbox.gql(sandbox.orders, "mutation { sandboxSetWalletOffline(offline: true) }")
    assert switched == {"data": {"sandboxSetWalletOffline": True}}
    order = await sandbox.order(token)
    assert re.fullmatch(r"OFFLINE-\d{13}", order["nomorVA"])
    assert sandbox.wallet.requests == []
    await sandbox.gql(sandbox.orders, "mutation { sandboxSetWalletOffline(offline: false) }")
    assert (await sandbox.order(token))["nomorVA"] == "880800000001"


async def test_both_services_offer_graphiql_in_a_browser(sandbox: Sandbox) -> None:
    for client in (sandbox.users, sandbox.orders):
        page = await client.get("/graphql", headers={"accept": "text/html"})
        assert page.status_code == 200 and "graphiql" in page.text.lower()


async def test_an_order_without_a_destination_city_is_refused_as_the_real_order_service_refuses_it(
    sandbox: Sandbox,
) -> None:
    token = await sandbox.buyer()
    without_city = CREATE_ORDER.replace(',\n    kotaTujuanId: "1"', "") % "REGULER"
    body = await sandbox.gql(sandbox.orders, without_city, token=token)
    assert "kotaTujuanId" in body["errors"][0]["message"]
    blank_city = CREATE_ORDER.replace('kotaTujuanId: "1"', 'kotaTujuanId: " "') % "REGULER"
    body = await sandbox.gql(sandbox.orders, blank_city, token=token)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert sandbox.store.orders == {} and sandbox.wallet.requests == []


async def test_totals_are_summed_in_binary_floats_as_the_node_service_sums_them(sandbox: Sandbox) -> None:
    token = await sandbox.buyer()
    operation = CREATE_ORDER.replace('productId: "1"', 'productId: "4"').replace("quantity: 2", "quantity: 1")
    body = await sandbox.gql(sandbox.orders, operation % "EXPRESS", token=token)
    assert body["data"]["createOrder"]["totalHarga"] == 39999.990000000005
    query = json.loads(sandbox.wallet.requests[0].content)["query"]
    assert "generateInvoiceVA(amount: 39999.990000000005," in query


async def test_a_notice_repeated_with_the_same_idempotency_key_is_acknowledged_but_not_applied_again(
    sandbox: Sandbox,
) -> None:
    va = (await sandbox.order(await sandbox.buyer()))["nomorVA"]
    for _ in range(2):
        response = await sandbox.orders.post(
            "/graphql",
            json={"query": NOTICE, "variables": {"va": va, "s": "PAID"}},
            headers={"Idempotency-Key": "outbox-message-1"},
        )
        assert response.json() == {"data": {"updatePaymentStatus": True}}
    outcomes = [(n.outcome, n.idempotency_key) for n in sandbox.store.notices]
    assert outcomes == [("ACCEPTED", "outbox-message-1"), ("REPEATED", "outbox-message-1")]
