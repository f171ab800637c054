"""One real stack (five subgraphs, the router, the marketplace sandbox) for the e2e session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.stack import Stack


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory, base_env: dict[str, str]) -> Iterator[Stack]:
    """The whole system on SQLite files in a temp dir: started once for the session's e2e tests and
    stopped right after the last of them (package scope), so it does not idle through other suites."""
    running = Stack(tmp_path_factory.mktemp("stack"), base_env).start()
    try:
        yield running
    finally:
        running.stop()
