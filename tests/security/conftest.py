"""A stack of real processes for hostile requests: its own (its throttles get tripped on purpose)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.redis import fresh_prefix, redis_url
from tests.support.stack import Stack

LOGIN_CLIENT_MAX_FAILURES = 5
INVOICE_RATE_LIMIT = 4
LOGIN_WINDOW_S = 3


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory, base_env: dict[str, str]) -> Iterator[Stack]:
    extra = {
        "LOGIN_CLIENT_MAX_FAILURES": str(LOGIN_CLIENT_MAX_FAILURES),
        "LOGIN_MAX_FAILURES": "3",
        "LOGIN_WINDOW_S": str(LOGIN_WINDOW_S),
        "INVOICE_RATE_LIMIT": str(INVOICE_RATE_LIMIT),
        "REDIS_URL": redis_url(),
        "RATE_LIMIT_REDIS_PREFIX": fresh_prefix("security"),
    }
    running = Stack(tmp_path_factory.mktemp("stack-security"), base_env, extra_env=extra)
    running.start()
    try:
        yield running
    finally:
        running.stop()
