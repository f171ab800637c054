"""The admin account comes from the settings, once, and can sign in as ADMIN."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import delete, select

from shared.security import build_verifier
from shared.settings import get_settings
from subgraphs.auth.config import get_auth_config
from subgraphs.auth.models import User
from tests.auth.conftest import code_of, login

ADMIN = {
    "admin_email": "Boss@Sawit.Example",
    "admin_password": "boss-password-1",
    "admin_username": "boss",
    "admin_fullname": "The Boss",
}


async def admins(api: Any) -> list[User]:
    query = select(User).where(User.role == "ADMIN")
    return await api.service.db.read(lambda session: list(session.execute(query).scalars()))


async def test_the_admin_is_seeded_at_start_and_can_log_in_as_admin(fresh_api: Any) -> None:
    async with fresh_api(**ADMIN) as api:
        [admin] = await admins(api)
        assert (admin.username, admin.fullname, admin.email) == (
            "boss",
            "The Boss",
            "boss@sawit.example",
        )
        body = await login(api, "boss@sawit.example", "boss-password-1")
        payload = body["data"]["loginUser"]
        assert payload["user"]["role"] == "ADMIN"
        principal = build_verifier(get_settings()).verify(payload["access_token"])
        assert principal.is_admin and principal.subject == admin.id


async def test_restarting_never_duplicates_or_changes_the_admin(fresh_api: Any) -> None:
    async with fresh_api(**ADMIN) as api:
        [first] = await admins(api)
    # A restart with a different password in the environment leaves the stored account alone.
    async with fresh_api(**{**ADMIN, "admin_password": "another-password"}) as api:
        [again] = await admins(api)
        assert again.id == first.id and again.password_hash == first.password_hash
        assert await api.count_users() == 1
        assert code_of(await login(api, "boss@sawit.example", "boss-password-1")) is None
        assert code_of(await login(api, "boss@sawit.example", "another-password")) == ("UNAUTHENTICATED")


async def test_seeding_twice_at_the_same_moment_stores_one_admin(fresh_api: Any) -> None:
    async with fresh_api(**ADMIN) as api:
        await api.service.db.write(lambda session: session.execute(delete(User)))
        results = await asyncio.gather(*(api.service.seed_admin() for _ in range(3)))
        assert sum(result is not None for result in results) == 1
        assert len(await admins(api)) == 1
        assert await api.count_users() == 1


async def test_the_default_admin_settings_seed_a_working_admin(fresh_api: Any) -> None:
    config = get_auth_config()
    async with fresh_api() as api:
        [admin] = await admins(api)
        assert admin.email == config.admin_email.lower()
        body = await login(api, config.admin_email, config.admin_password)
        user = body["data"]["loginUser"]["user"]
        assert (user["role"], user["username"]) == ("ADMIN", config.admin_username)


async def test_invalid_admin_settings_stop_the_start_with_a_clear_message(fresh_api: Any) -> None:
    with pytest.raises(ValueError, match="admin account settings"):
        async with fresh_api(**{**ADMIN, "admin_password": "short"}):
            pass
