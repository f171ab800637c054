"""Fixtures for the fraud tests: a migrated temp database, a settable clock, configs, an in-process app."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from shared.db import Database
from shared.migrations import upgrade_to_head, upgrade_to_head_sync
from shared.settings import Settings
from subgraphs.fraud.app import MIGRATIONS_DIR, create_app
from subgraphs.fraud.config import RULE_CODES, FraudConfig
from subgraphs.fraud.models import FraudLog
from subgraphs.fraud.service import FraudService
from tests.support.tokens import as_router_if_federation


def rp(rupiah: int | str) -> int:
    """Rupiah (int or "123.45") as minor units."""
    units, _, cents = str(rupiah).partition(".")
    return int(units) * 100 + int((cents or "0").ljust(2, "0"))


def only(*codes: str, **overrides: Any) -> FraudConfig:
    """A config in which only the named rules run (so one rule is tested at a time)."""
    disabled = [code for code in RULE_CODES if code not in codes]
    return FraudConfig(disabled_rules=disabled, **overrides)


class Clock:
    """A clock the test moves by hand; starts at noon UTC so day boundaries are explicit."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 3, 10, 12, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


async def log_count(db: Database, **where: str) -> int:
    query = select(func.count()).select_from(FraudLog)
    for column, value in where.items():
        query = query.where(getattr(FraudLog, column) == value)
    return await db.read(lambda session: int(session.execute(query).scalar_one()))


MakeService = Callable[..., Awaitable[FraudService]]


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite file migrated to head; tests copy it instead of migrating again (keeps them fast)."""
    path = tmp_path_factory.mktemp("fraud-template") / "template.db"
    upgrade_to_head_sync(MIGRATIONS_DIR, f"sqlite+aiosqlite:///{path}")
    return path


def fresh_sqlite(template: Path, target: Path) -> str:
    shutil.copyfile(template, target)
    return f"sqlite+aiosqlite:///{target}"


@pytest.fixture
async def make_service(tmp_path: Path, migrated_template: Path) -> AsyncIterator[MakeService]:
    """Builds a FraudService on a fresh migrated SQLite file (or a migrated copy of the given URL)."""
    databases: list[Database] = []

    async def make(
        config: FraudConfig | None = None, clock: Clock | None = None, url: str | None = None
    ) -> FraudService:
        if url is None:
            db_url = fresh_sqlite(migrated_template, tmp_path / f"fraud{len(databases)}.db")
        else:
            db_url = url
            await upgrade_to_head(MIGRATIONS_DIR, db_url)
        db = Database(db_url)
        databases.append(db)
        return FraudService(db, config or FraudConfig(), clock or Clock())

    yield make
    for db in databases:
        await db.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


class Api:
    """An in-process fraud app and a client for it."""

    def __init__(self, app: Any, client: httpx.AsyncClient) -> None:
        self.app = app
        self.client = client

    @property
    def service(self) -> FraudService:
        return self.app.state.deps.service

    async def gql(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await self.client.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers=as_router_if_federation(query, headers),
        )
        return response.json()


MakeApi = Callable[..., Awaitable[Api]]


@pytest.fixture
async def make_api(tmp_path: Path, migrated_template: Path) -> AsyncIterator[MakeApi]:
    """An in-process app (its lifespan runs, so it migrates: a no-op on the migrated copy)."""
    stack: list[tuple[Any, Any, httpx.AsyncClient]] = []

    async def make(config: FraudConfig | None = None) -> Api:
        url = fresh_sqlite(migrated_template, tmp_path / f"api{len(stack)}.db")
        app = create_app(Settings(fraud_database_url=url), config or FraudConfig())
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://fraud")
        stack.append((app, lifespan, client))
        return Api(app, client)

    yield make
    for _app, lifespan, client in reversed(stack):
        await client.aclose()
        await lifespan.__aexit__(None, None, None)
