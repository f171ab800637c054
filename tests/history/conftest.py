"""Fixtures for the history tests: an in-process history app on a fresh SQLite file, and helpers."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from shared.migrations import upgrade_to_head_sync
from shared.settings import get_settings
from subgraphs.history.app import MIGRATIONS_DIR, create_app
from subgraphs.history.chain import GENESIS_HASH, ChainedFacts
from subgraphs.history.service import HistoryService
from tests.support.tokens import as_router_if_federation, bearer, service_token, user_token

ADD_HISTORY = """
mutation Add($input: AddHistoryInput!) {
  addHistory(input: $input) {
    historyId transactionId userId walletId amount type status vaNumber occurredAt createdAt hidden
  }
}
"""

WRITER = service_token("history:write", service="transactions")


MOMENT = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def chain_facts(**changes: Any) -> ChainedFacts:
    """An entry's hashed facts: an OUT deposit of 100 sen, first in the chain; override any fact."""
    defaults: dict[str, Any] = {
        "seq": 1,
        "history_id": "h1",
        "transaction_id": "tx",
        "user_id": "u",
        "wallet_id": "w",
        "amount_minor": 100,
        "type": "DEPOSIT",
        "status": "SUCCESS",
        "va_number": None,
        "occurred_at": MOMENT,
        "created_at": MOMENT,
        "prev_hash": GENESIS_HASH,
    }
    return ChainedFacts(**{**defaults, **changes})


def new_input(**overrides: Any) -> dict[str, Any]:
    """A valid addHistory input with fresh ids; override any field."""
    values: dict[str, Any] = {
        "transactionId": uuid.uuid4().hex,
        "userId": "user-a",
        "walletId": "wallet-a",
        "amount": "150000.00",
        "type": "DEPOSIT",
        "status": "SUCCESS",
        "vaNumber": None,
        "occurredAt": "2026-11-20T10:00:00Z",
    }
    values.update(overrides)
    return values


@dataclass
class HistoryApi:
    """Talks to one history app over HTTP (in-process or a real port)."""

    http: httpx.AsyncClient
    url: str = "/graphql"

    async def call(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        headers = bearer(token) if token else {}
        response = await self.http.post(
            self.url,
            json={"query": query, "variables": variables or {}},
            headers=as_router_if_federation(query, headers),
        )
        return response.json()

    async def data(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        body = await self.call(query, variables, token)
        assert not body.get("errors"), body
        return body["data"]

    async def add(self, token: str = WRITER, **overrides: Any) -> dict[str, Any]:
        body = await self.call(ADD_HISTORY, {"input": new_input(**overrides)}, token)
        return body

    async def added(self, **overrides: Any) -> dict[str, Any]:
        body = await self.add(**overrides)
        assert not body.get("errors"), body
        return body["data"]["addHistory"]


def error_code(body: dict[str, Any]) -> str:
    errors = body.get("errors") or []
    assert errors, body
    return errors[0]["extensions"]["code"]


ADMIN = user_token("admin-1", role="ADMIN", username="admin")
VERIFY = "{ verifyAuditTrail { ok checked firstBrokenId } }"


async def tamper(service: HistoryService, sql: str, **params: object) -> None:
    """Change the database behind the service's back, as an intruder with SQL access would."""
    await service.db.write(lambda session: session.execute(text(sql), params))


async def add_some(api: HistoryApi, count: int) -> list[dict[str, object]]:
    return [await api.added(transactionId=f"c{n}", amount=f"{1000 + n}.00") for n in range(count)]


@asynccontextmanager
async def running_app(database_url: str) -> AsyncIterator[FastAPI]:
    """The history app on `database_url`, migrated and started (lifespan) in this process."""
    settings = get_settings().model_copy(update={"history_database_url": database_url})
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@asynccontextmanager
async def client_of(app: FastAPI) -> AsyncIterator[HistoryApi]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://history") as http:
        yield HistoryApi(http)


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty history database migrated once; each test starts from a copy (start-up stays cheap)."""
    path = tmp_path_factory.mktemp("history-template") / "history.db"
    upgrade_to_head_sync(MIGRATIONS_DIR, f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture
async def app(tmp_path: Path, migrated_template: Path) -> AsyncIterator[FastAPI]:
    database = tmp_path / "history.db"
    shutil.copyfile(migrated_template, database)
    async with running_app(f"sqlite+aiosqlite:///{database}") as application:
        yield application


@pytest.fixture
async def api(app: FastAPI) -> AsyncIterator[HistoryApi]:
    async with client_of(app) as client:
        yield client


@pytest.fixture
def service(app: FastAPI) -> HistoryService:
    return app.state.deps.service
