"""In-process auth apps on their own SQLite files, and a tiny GraphQL helper."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from shared.settings import Settings
from subgraphs.auth.app import create_app
from subgraphs.auth.config import AuthConfig
from tests.support.tokens import as_router_if_federation


def auth_settings(db_path: Path) -> Settings:
    """Shared settings (test keys from the env) with this test's database."""
    return Settings(auth_database_url=f"sqlite+aiosqlite:///{db_path}")


class Api:
    """Posts GraphQL to one app and returns the parsed body."""

    def __init__(self, app: FastAPI, client: httpx.AsyncClient) -> None:
        self.app = app
        self.client = client

    async def gql(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        response = await self.client.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers=as_router_if_federation(query, headers),
        )
        assert response.status_code == 200, response.text
        return response.json()

    async def count_users(self) -> int:
        service = self.app.state.deps.service
        return await service.db.read(
            lambda session: int(session.execute(text("SELECT count(*) FROM users")).scalar_one())
        )

    @property
    def service(self) -> Any:
        return self.app.state.deps.service


@asynccontextmanager
async def running(settings: Settings, config: AuthConfig | None = None) -> AsyncIterator[Api]:
    """`config`: auth's own knobs; by default as the env says (cheap argon2 in tests)."""
    app = create_app(settings, config or AuthConfig())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://auth") as client:
            yield Api(app, client)


@pytest.fixture(scope="module")
async def api(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Api]:
    """One app per test module (fresh database); tests use distinct emails."""
    db = tmp_path_factory.mktemp("auth") / "users.db"
    async with running(auth_settings(db)) as app_api:
        yield app_api


@pytest.fixture
def fresh_api(tmp_path: Path) -> Callable[..., Any]:
    """`async with fresh_api(login_max_failures=3) as api:` for tests that need their own limits."""

    def make(**overrides: Any) -> Any:
        return running(auth_settings(tmp_path / "users.db"), AuthConfig(**overrides))

    return make


REGISTER = """
mutation Register($username: String!, $fullname: String!, $email: String!, $password: String!) {
  registerUser(username: $username, fullname: $fullname, email: $email, password: $password)
}
"""

LOGIN = """
mutation Login($email: String!, $password: String!) {
  loginUser(email: $email, password: $password) {
    access_token token_type expires_in
    user { id username fullname email role createdAt }
  }
}
"""

ME = "query { me { id username fullname email role createdAt } }"


def code_of(body: dict[str, Any]) -> str | None:
    errors = body.get("errors") or []
    return errors[0]["extensions"]["code"] if errors else None


async def register(api: Api, name: str, password: str = "password123", **fields: str) -> str:
    variables = {
        "username": name,
        "fullname": f"{name} Full",
        "email": f"{name}@example.com",
        "password": password,
        **fields,
    }
    body = await api.gql(REGISTER, variables)
    assert "errors" not in body, body
    return str(body["data"]["registerUser"])


async def login(api: Api, email: str, password: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return await api.gql(LOGIN, {"email": email, "password": password}, headers=headers)
