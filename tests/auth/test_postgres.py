"""The same migrations and rules on PostgreSQL: case-insensitive unique indexes, races, the seed."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from shared.settings import Settings
from tests.auth.conftest import REGISTER, code_of, login, register, running

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def pg_url(postgres_admin_url: str) -> Iterator[str]:
    from tests.support.postgres import fresh_database

    with fresh_database("sawit_auth") as url:
        yield url


async def test_auth_runs_on_postgresql_with_case_insensitive_uniqueness(pg_url: str) -> None:
    async with running(Settings(auth_database_url=pg_url)) as api:
        user_id = await register(api, "pg_user", email="PG.User@Example.com")
        body = await login(api, "pg.user@example.com", "password123")
        assert body["data"]["loginUser"]["user"]["id"] == user_id
        before = await api.count_users()
        for field, value in (("email", "pg.USER@example.COM"), ("username", "PG_USER")):
            variables = {
                "username": "pg_other",
                "fullname": "Other",
                "email": "pg.other@example.com",
                "password": "password123",
                field: value,
            }
            body = await api.gql(REGISTER, variables)
            assert code_of(body) == "CONFLICT" and body["errors"][0]["extensions"]["field"] == field
        assert await api.count_users() == before


async def test_the_database_itself_refuses_a_duplicate_in_another_case(pg_url: str) -> None:
    async with running(Settings(auth_database_url=pg_url)) as api:
        await register(api, "pg_index", email="pg.index@example.com")
        insert = text(
            "INSERT INTO users (id, username, fullname, email, password_hash, role, created_at, "
            "updated_at) VALUES (:id, :u, 'X', :e, 'h', 'USER', now(), now())"
        )
        for username, email in (("PG_INDEX", "new1@example.com"), ("pg_new", "pg.index@example.com")):
            params = {"id": username, "u": username, "e": email}
            with pytest.raises(IntegrityError):
                await api.service.db.write(lambda session, params=params: session.execute(insert, params))


async def test_concurrent_registrations_on_postgresql_store_one_and_conflict_the_rest(
    pg_url: str,
) -> None:
    async with running(Settings(auth_database_url=pg_url)) as api:
        variables: list[dict[str, Any]] = [
            {
                "username": f"pg_race{i}",
                "fullname": "Racer",
                "email": "pg.race@example.com",
                "password": "password123",
            }
            for i in range(5)
        ]
        bodies = await asyncio.gather(*(api.gql(REGISTER, v) for v in variables))
        assert sorted(str(code_of(b)) for b in bodies) == ["CONFLICT"] * 4 + ["None"]
        admins = await login(api, api.service.config.admin_email, api.service.config.admin_password)
        assert admins["data"]["loginUser"]["user"]["role"] == "ADMIN"
