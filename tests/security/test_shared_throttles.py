"""Two auth processes sharing Redis give an attacker no more tries than one; without Redis each
process counts on its own (the control that shows the test can tell)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.flows import error_codes
from tests.support.procs import Process, start_subgraph
from tests.support.redis import fresh_prefix, redis_url

LOGIN = "mutation ($e: String!, $p: String!) { loginUser(email: $e, password: $p) { access_token } }"
CLIENT_LIMIT = 4


@contextlib.contextmanager
def two_auth_replicas(tmp: Path, base_env: dict[str, str], shared: bool) -> Iterator[list[str]]:
    env = {
        **base_env,
        "AUTH_DATABASE_URL": f"sqlite+aiosqlite:///{tmp / 'auth.db'}",
        "DATA_DIR": str(tmp / "data"),
        "LOGIN_CLIENT_MAX_FAILURES": str(CLIENT_LIMIT),
        "LOGIN_MAX_FAILURES": "3",
    }
    if shared:
        env |= {"REDIS_URL": redis_url(), "RATE_LIMIT_REDIS_PREFIX": fresh_prefix("replicas")}
    processes: list[Process] = []
    try:
        urls = []
        for index in range(2):
            process, port = start_subgraph("auth", env, tmp / f"logs-{index}")
            processes.append(process)
            urls.append(f"http://127.0.0.1:{port}/graphql")
        yield urls
    finally:
        for process in processes:
            process.stop()


def first_code(url: str, email: str, password: str = "wrong-password") -> str | None:
    body = httpx.post(url, json={"query": LOGIN, "variables": {"e": email, "p": password}}, timeout=30).json()
    return (error_codes(body) or [None])[0]


@pytest.mark.parametrize(("shared", "tries"), [(True, CLIENT_LIMIT), (False, 2 * CLIENT_LIMIT)])
def test_failed_logins_from_one_client_across_two_replicas(
    tmp_path: Path, base_env: dict[str, str], shared: bool, tries: int
) -> None:
    with two_auth_replicas(tmp_path, base_env, shared) as urls:
        found = [first_code(urls[i % 2], f"sprayed{i}@example.test") for i in range(12)]
    assert found == ["UNAUTHENTICATED"] * tries + ["RATE_LIMITED"] * (12 - tries)


def test_one_accounts_failures_are_counted_across_replicas(tmp_path: Path, base_env: dict[str, str]) -> None:
    with two_auth_replicas(tmp_path, base_env, shared=True) as urls:
        found = [first_code(urls[i % 2], "victim@example.test") for i in range(5)]
    assert found == ["UNAUTHENTICATED"] * 3 + ["RATE_LIMITED"] * 2
