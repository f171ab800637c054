"""A real stack for subscriptions: Redis pub/sub with a fresh prefix, and two wallet replicas.

Replica A is the stack's own wallet process: the router composes it and opens every subscription
there. Replica B (same database file) is where every other subgraph sends money movements
(`WALLET_URL`), so each event a test sees was published by B and reached A's subscriber only
through Redis: the replica property is exercised by every test, and asserted by one.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.procs import free_port, start_subgraph
from tests.support.redis import fresh_prefix, redis_url
from tests.support.stack import Stack

MAX_PER_CLIENT = 3
INIT_TIMEOUT_S = 3


class Replicas:
    """The stack plus the URLs of both wallet replicas (A: subscriptions, B: movements)."""

    def __init__(self, stack: Stack, replica_b_port: int) -> None:
        self.stack = stack
        self.a_base = f"http://127.0.0.1:{stack.ports['wallet']}"
        self.b_base = f"http://127.0.0.1:{replica_b_port}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    """A failed test shows the tail of the router's and both wallets' logs."""
    outcome = yield
    report = outcome.get_result()
    running = getattr(item, "funcargs", {}).get("replicas")
    if report.when == "call" and report.failed and isinstance(running, Replicas):
        for name in ("router", "wallet", "wallet_b", "transactions"):
            report.sections.append((f"{name} log (last lines)", running.stack.logs(name, 30)))


@pytest.fixture(scope="package")
def replicas(tmp_path_factory: pytest.TempPathFactory, base_env: dict[str, str]) -> Iterator[Replicas]:
    port_b = free_port()
    extra = {
        "REDIS_URL": redis_url(),
        "WALLET_EVENTS_REDIS_PREFIX": fresh_prefix("wallet-events"),
        "RATE_LIMIT_REDIS_PREFIX": fresh_prefix("subscriptions"),
        "WALLET_URL": f"http://127.0.0.1:{port_b}/graphql",  # every service's movements go to B
        "ROUTER_SUBSCRIPTIONS_MAX_PER_CLIENT": str(MAX_PER_CLIENT),
        "ROUTER_SUBSCRIPTIONS_INIT_TIMEOUT_S": str(INIT_TIMEOUT_S),
    }
    work_dir = tmp_path_factory.mktemp("stack-subscriptions")
    stack = Stack(work_dir, base_env, extra_env=extra)
    stack.start()
    try:
        process, _ = start_subgraph("wallet", stack._env, stack.log_dir / "wallet_b", port=port_b)  # noqa: SLF001
        stack.processes["wallet_b"] = process
        yield Replicas(stack, port_b)
    finally:
        stack.stop()
