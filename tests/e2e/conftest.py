"""One real stack (five subgraphs, the router, the marketplace sandbox) for the e2e session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.stack import Stack


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


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory, base_env: dict[str, str]) -> Iterator[Stack]:
    """The whole system on SQLite files in a temp dir: started once for the session's e2e tests and
    stopped right after the last of them (package scope), so it does not idle through other suites."""
    running = Stack(tmp_path_factory.mktemp("stack"), base_env).start()
    try:
        yield running
    finally:
        running.stop()
