"""The real history process: service-only writes at its port, and a chain that never forks under load."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.history.conftest import ADMIN, HistoryApi, error_code, new_input
from tests.support.postgres import fresh_database
from tests.support.procs import Process, start_subgraph
from tests.support.tokens import service_token, user_token

pytestmark = pytest.mark.e2e

APPENDS = 200
VERIFY = "{ verifyAuditTrail { ok checked firstBrokenId } }"
AUDIT = "query($first: Int) { auditTrail(first: $first) { transactionId } }"
# The load test selects little, so the time goes to appending rather than to printing results.
LEAN_ADD = "mutation($input: AddHistoryInput!) { addHistory(input: $input) { historyId } }"


@pytest.fixture(scope="module")
def sqlite_history(tmp_path_factory: pytest.TempPathFactory, base_env: dict[str, str]) -> Iterator[int]:
    """One real process for this module (starting one costs seconds); tests write disjoint ids."""
    tmp_path = tmp_path_factory.mktemp("history-sqlite")
    env = {**base_env, "HISTORY_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'history.db'}"}
    proc, port = start_subgraph("history", env, tmp_path)
    try:
        yield port
    finally:
        proc.stop()


@pytest.fixture
def postgres_history(tmp_path: Path, base_env: dict[str, str], postgres_admin_url: str) -> Iterator[int]:
    with fresh_database("sawit_history") as url:
        proc: Process | None = None
        try:
            proc, port = start_subgraph("history", {**base_env, "HISTORY_DATABASE_URL": url}, tmp_path)
            yield port
        finally:
            if proc is not None:
                proc.stop()


async def concurrent_appends_keep_one_chain(port: int) -> None:
    """APPENDS concurrent appends through HTTP on an empty trail, then the chain verifies whole."""
    limits = httpx.Limits(max_connections=50)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=60) as http:
        api = HistoryApi(http)
        # Separate service tokens, as separate callers would present them.
        tokens = [service_token("history:write", service=f"caller{n % 4}") for n in range(4)]
        bodies = await asyncio.gather(
            *(
                api.call(
                    LEAN_ADD,
                    {"input": new_input(transactionId=f"load-{n}-{uuid.uuid4().hex[:6]}", amount=n + 1)},
                    tokens[n % 4],
                )
                for n in range(APPENDS)
            )
        )
        assert all(not body.get("errors") for body in bodies), [b for b in bodies if b.get("errors")][:3]
        verification = (await api.data(VERIFY, token=ADMIN))["verifyAuditTrail"]
        assert verification == {"ok": True, "checked": APPENDS, "firstBrokenId": None}
        trail = (await api.data(AUDIT, {"first": APPENDS}, ADMIN))["auditTrail"]
        assert len({entry["transactionId"] for entry in trail}) == APPENDS


async def test_a_user_token_cannot_add_history_at_the_real_port(sqlite_history: int) -> None:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{sqlite_history}") as http:
        api = HistoryApi(http)
        refused = f"refused-{uuid.uuid4().hex}"
        for token in (user_token("user-a"), user_token("root", role="ADMIN")):
            assert error_code(await api.add(token=token, transactionId=refused)) == "FORBIDDEN"
        body = await api.add(token=service_token("wallet:credit"), transactionId=refused)
        assert error_code(body) == "FORBIDDEN"
        trail = (await api.data(AUDIT, {"first": 200}, ADMIN))["auditTrail"]
        assert refused not in {entry["transactionId"] for entry in trail}
        sdl = (await api.data("{ _service { sdl } }"))["_service"]["sdl"]
        assert "addHistory(input: AddHistoryInput!): HistoryEntry! @inaccessible" in sdl


async def test_concurrent_appends_keep_the_chain_valid_on_sqlite(sqlite_history: int) -> None:
    await concurrent_appends_keep_one_chain(sqlite_history)


@pytest.mark.postgres
async def test_concurrent_appends_keep_the_chain_valid_on_postgresql(postgres_history: int) -> None:
    await concurrent_appends_keep_one_chain(postgres_history)
