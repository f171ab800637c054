"""The same chain rules on PostgreSQL (row lock on the chain head instead of SQLite's one writer)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
from fastapi import FastAPI

from subgraphs.history.service import HistoryService
from tests.history.conftest import ADMIN, VERIFY, HistoryApi, add_some, client_of, running_app, tamper
from tests.support.postgres import fresh_database
from tests.support.tokens import user_token

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_url(postgres_admin_url: str) -> Iterator[str]:
    with fresh_database("sawit_history") as url:
        yield url


@pytest.fixture
async def pg_app(pg_url: str) -> AsyncIterator[FastAPI]:
    async with running_app(pg_url) as application:
        yield application


@pytest.fixture
async def pg_api(pg_app: FastAPI) -> AsyncIterator[HistoryApi]:
    async with client_of(pg_app) as client:
        yield client


async def test_on_postgresql_duplicates_hiding_and_tampering_behave_as_on_sqlite(
    pg_app: FastAPI, pg_api: HistoryApi
) -> None:
    service: HistoryService = pg_app.state.deps.service
    bodies = await asyncio.gather(*(pg_api.add(transactionId="pg-dup") for _ in range(10)))
    assert len({body["data"]["addHistory"]["historyId"] for body in bodies}) == 1
    entries = await add_some(pg_api, 4)
    hide = "mutation($id: ID!) { deleteHistory(historyId: $id) }"
    await pg_api.data(hide, {"id": entries[0]["historyId"]}, user_token("user-a"))
    assert (await pg_api.data(VERIFY, token=ADMIN))["verifyAuditTrail"] == {
        "ok": True,
        "checked": 5,
        "firstBrokenId": None,
    }
    await tamper(
        service,
        "UPDATE history_entries SET amount_minor = amount_minor + 1 WHERE history_id = :id",
        id=entries[2]["historyId"],
    )
    assert (await pg_api.data(VERIFY, token=ADMIN))["verifyAuditTrail"] == {
        "ok": False,
        "checked": 5,
        "firstBrokenId": entries[2]["historyId"],
    }


async def test_on_postgresql_a_deleted_entry_is_found_as_a_gap(pg_app: FastAPI, pg_api: HistoryApi) -> None:
    service: HistoryService = pg_app.state.deps.service
    entries = await add_some(pg_api, 3)
    await tamper(service, "DELETE FROM history_entries WHERE history_id = :id", id=entries[1]["historyId"])
    result = (await pg_api.data(VERIFY, token=ADMIN))["verifyAuditTrail"]
    assert result == {"ok": False, "checked": 2, "firstBrokenId": entries[2]["historyId"]}
