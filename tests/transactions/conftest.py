"""Fixtures for the transactions tests: real wallet/fraud/history processes, an in-process
transactions app per scenario and how to call it; the fake marketplace and the wallet proxy whose
behaviour a test sets are in fakes.py.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.settings import Settings
from subgraphs.transactions.app import create_app
from subgraphs.transactions.config import TransactionsConfig
from subgraphs.transactions.service import TransactionService
from tests.support.procs import Process, start_subgraph
from tests.support.tokens import as_router_if_federation, bearer, service_token, user_token
from tests.transactions.fakes import FakeMarketplace, serving, url_of

# Every test user does many checks a minute; the velocity rule is exercised in the fraud suite.
FRAUD_ENV = {"FRAUD_VELOCITY_MAX_CHECKS": "100000"}

CREATE = """
mutation Create($input: CreateTransactionInput!) {
  createTransaction(input: $input) {
    transactionId walletId amount type status vaNumber toWalletId description idempotencyKey flagged
    createdAt updatedAt failureReason { code message } notification { state attempts lastError deliveredAt }
  }
}"""

GET = """
query Get($id: ID!) {
  transaction(transactionId: $id) {
    transactionId status amount type vaNumber flagged failureReason { code message }
    notification { state attempts lastError deliveredAt }
  }
}"""


# ----------------------------------------------------------------------------- the real services


@dataclass
class Stack:
    """Real wallet, fraud and history processes (SQLite), shared by the whole transactions suite."""

    wallet_url: str
    fraud_url: str
    history_url: str
    procs: list[Process]
    http: httpx.AsyncClient
    env: dict[str, str]
    root: Path

    async def call(
        self, url: str, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        response = await self.http.post(
            url,
            json={"query": query, "variables": variables or {}},
            headers=as_router_if_federation(query, bearer(token) if token else {}),
        )
        return response.json()

    async def data(
        self, url: str, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        body = await self.call(url, query, variables, token)
        assert not body.get("errors"), body
        return body["data"]

    async def new_user(self) -> User:
        user_id = str(uuid.uuid4())
        return User(user_id, user_token(user_id))

    async def new_wallet(self, user: User, name: str = "Tabungan") -> str:
        data = await self.data(
            self.wallet_url,
            "mutation($n: String!) { createWallet(walletName: $n) { walletId } }",
            {"n": name},
            user.token,
        )
        return str(data["createWallet"]["walletId"])

    async def balance(self, user: User, wallet_id: str) -> str:
        data = await self.data(
            self.wallet_url,
            "query($w: ID!) { wallet(walletId: $w) { balance } }",
            {"w": wallet_id},
            user.token,
        )
        return str(data["wallet"]["balance"])

    async def topup(self, user: User, wallet_id: str, amount: int) -> None:
        """Fund a wallet directly at the wallet (setup only; not a transaction of ours)."""
        await self.data(
            self.wallet_url,
            """mutation($t: String!, $u: ID!, $w: ID!, $a: Money!) {
                 topupWallet(input: {transactionId: $t, userId: $u, walletId: $w, amount: $a}) {
                   balanceAfter } }""",
            {"t": f"fund-{uuid.uuid4()}", "u": user.id, "w": wallet_id, "a": str(amount)},
            service_token("wallet:credit"),
        )

    async def movements(self, transaction_id: str, *, system: bool = False) -> list[dict[str, Any]]:
        """What a transaction id moved in customer wallets; with `system`, also the other side of
        each movement (the funding or the merchant's settlement account)."""
        data = await self.data(
            self.wallet_url,
            "query($t: String!) { movementsOf(transactionId: $t) { walletId direction amount } }",
            {"t": transaction_id},
            service_token("wallet:read"),
        )
        return [m for m in data["movementsOf"] if system or not m["walletId"].startswith("sys:")]

    async def history(self, user: User) -> list[dict[str, Any]]:
        data = await self.data(
            self.history_url,
            "{ myHistory(first: 200) { transactionId amount type status vaNumber } }",
            token=user.token,
        )
        return list(data["myHistory"])

    async def fraud_log(self, transaction_id: str) -> dict[str, Any] | None:
        query = """query($r: [_Any!]!) { _entities(representations: $r) {
            ... on Transaction { fraudCheck { transactionId status userId amount } } } }"""
        data = await self.data(
            self.fraud_url,
            query,
            {"r": [{"__typename": "Transaction", "transactionId": transaction_id}]},
            service_token("fraud:read"),
        )
        return data["_entities"][0]["fraudCheck"]


@dataclass(frozen=True)
class User:
    id: str
    token: str


@pytest.fixture(scope="session")
async def stack(base_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    root = tmp_path_factory.mktemp("transactions-stack")
    env = {
        **base_env,
        **FRAUD_ENV,
        "WALLET_DATABASE_URL": f"sqlite+aiosqlite:///{root / 'wallets.db'}",
        "FRAUD_DATABASE_URL": f"sqlite+aiosqlite:///{root / 'fraud.db'}",
        "HISTORY_DATABASE_URL": f"sqlite+aiosqlite:///{root / 'history.db'}",
    }
    started = await asyncio.gather(
        *(
            asyncio.to_thread(start_subgraph, name, env, root / "logs")
            for name in ("wallet", "fraud", "history")
        )
    )
    (wallet, wallet_port), (fraud, fraud_port), (history, history_port) = started
    http = httpx.AsyncClient(timeout=15.0)
    try:
        yield Stack(
            wallet_url=url_of(wallet_port),
            fraud_url=url_of(fraud_port),
            history_url=url_of(history_port),
            procs=[wallet, fraud, history],
            http=http,
            env=env,
            root=root,
        )
    finally:
        await http.aclose()
        for proc in (wallet, fraud, history):
            proc.stop()


# --------------------------------------------------------------------- the transactions subgraph


@dataclass
class TxApi:
    """An in-process transactions app (its workers run in the test loop) and how to call it."""

    http: httpx.AsyncClient
    service: TransactionService
    stack: Stack
    config: TransactionsConfig
    outbox: Any = None  # the app's OutboxWorker

    async def call(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        all_headers = {**(bearer(token) if token else {}), **(headers or {})}
        response = await self.http.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers=as_router_if_federation(query, all_headers),
        )
        return response.json()

    async def data(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        body = await self.call(query, variables, token)
        assert not body.get("errors"), body
        return body["data"]

    async def create(self, user: User, **fields: Any) -> dict[str, Any]:
        return (await self.data(CREATE, {"input": fields}, user.token))["createTransaction"]

    async def get(self, user: User, transaction_id: str) -> dict[str, Any]:
        return (await self.data(GET, {"id": transaction_id}, user.token))["transaction"]

    async def invoice(self, amount: str = "150000", description: str = "Order BlackDoctrine") -> str:
        data = await self.data(
            f'mutation {{ generateInvoiceVA(amount: {amount}, description: "{description}") }}'
        )
        return str(data["generateInvoiceVA"])

    async def funded_wallet(self, amount: int = 1_000_000, *, via_saga: bool = False) -> tuple[User, str]:
        """A new user with a new wallet holding `amount` rupiah: through a DEPOSIT saga, or (cheaper,
        for tests about something else) by the wallet's own top-up."""
        user = await self.stack.new_user()
        wallet_id = await self.stack.new_wallet(user)
        if via_saga:
            deposit = await self.create(user, walletId=wallet_id, amount=amount, type="DEPOSIT")
            assert deposit["status"] == "SUCCESS", deposit
        else:
            await self.stack.topup(user, wallet_id, amount)
        return user, wallet_id

    async def wait_for(self, check: Callable[[], Awaitable[bool]], timeout_s: float = 10.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout_s
        while asyncio.get_running_loop().time() < deadline:
            if await check():
                return
            await asyncio.sleep(0.05)
        raise AssertionError("condition not reached in time")


def make_settings(
    stack: Stack, database: Path | str, wallet_url: str | None = None, fraud_url: str | None = None
) -> Settings:
    url = database if isinstance(database, str) else f"sqlite+aiosqlite:///{database}"
    return Settings(
        wallet_url=wallet_url or stack.wallet_url,
        fraud_url=fraud_url or stack.fraud_url,
        history_url=stack.history_url,
        transactions_database_url=url,
        subgraph_timeout_s=15.0,  # generous: a loaded 2-core CI machine must not turn calls into PENDING
    )


def make_config(**overrides: Any) -> TransactionsConfig:
    values: dict[str, Any] = {
        "marketplace_url": None,
        "outbox_poll_s": 0.1,
        "outbox_backoff_s": 0.05,
        "outbox_backoff_max_s": 0.2,
        "recovery_grace_s": 0.0,
        "recovery_interval_s": 3600.0,  # tests run recovery explicitly
    }
    values.update(overrides)
    return TransactionsConfig(**values)


@asynccontextmanager
async def running_app(
    stack: Stack,
    database: Path | str,
    *,
    wallet_url: str | None = None,
    fraud_url: str | None = None,
    **config: Any,
) -> AsyncIterator[TxApi]:
    """An in-process transactions app on `database` (a SQLite path or a URL) with config overrides."""
    cfg = make_config(**config)
    app = create_app(make_settings(stack, database, wallet_url, fraud_url), cfg)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tx.test", timeout=30.0) as http:
            yield TxApi(
                http=http, service=app.state.service, stack=stack, config=cfg, outbox=app.state.outbox
            )


@pytest.fixture(scope="module")
async def tx(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[TxApi]:
    """A transactions app without a marketplace, shared by a module's tests."""
    db = tmp_path_factory.mktemp("tx") / "transactions.db"
    async with running_app(stack, db) as api:
        yield api


@pytest.fixture
async def pg_url(postgres_admin_url: str) -> AsyncIterator[str]:
    """A fresh PostgreSQL database for the transactions subgraph (skips without a server)."""
    from tests.support.postgres import fresh_database

    database = fresh_database("sawit_tx")
    url = await asyncio.to_thread(database.__enter__)
    try:
        yield url
    finally:
        await asyncio.to_thread(database.__exit__, None, None, None)


@pytest.fixture
async def marketplace() -> AsyncIterator[FakeMarketplace]:
    async with serving(FakeMarketplace()) as fake:
        yield fake


def error_code(body: dict[str, Any]) -> str | None:
    errors = body.get("errors") or []
    return errors[0].get("extensions", {}).get("code") if errors else None
