"""One real stack (five subgraphs, the router, the marketplace sandbox) for the e2e session."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from tests.support.postgres import admin_url
from tests.support.stack import Stack, fresh_postgres_urls


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    """A failed e2e test shows the tail of every process's log beside its traceback."""
    outcome = yield
    report = outcome.get_result()
    running = getattr(item, "funcargs", {}).get("stack")
    if report.when == "call" and report.failed and isinstance(running, Stack):
        for name in running.processes:
            report.sections.append((f"{name} log (last lines)", running.logs(name, 25)))


@pytest.fixture(scope="package", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, base_env: dict[str, str]
) -> Iterator[Stack]:
    """The whole system, started once per backend: every subgraph on its own SQLite file, then every
    subgraph on its own fresh PostgreSQL database, so the whole e2e suite proves both. Package scope
    stops it right after the last e2e test, so it does not idle through other suites."""
    with contextlib.ExitStack() as cleanup:
        database_urls = None
        if request.param == "postgresql":
            admin, reason = admin_url()
            if admin is None:
                pytest.skip(f"PostgreSQL e2e run skipped: {reason}")
            database_urls = cleanup.enter_context(fresh_postgres_urls())
        running = Stack(
            tmp_path_factory.mktemp(f"stack-{request.param}"), base_env, database_urls=database_urls
        )
        running.start()
        cleanup.callback(running.stop)
        yield running
