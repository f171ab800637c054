"""One real stack for the gateway area (started only by the tests that ask for it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.stack import Stack


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory, base_env: dict[str, str]) -> Iterator[Stack]:
    running = Stack(tmp_path_factory.mktemp("gateway-stack"), base_env).start()
    try:
        yield running
    finally:
        running.stop()
