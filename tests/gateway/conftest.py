"""One real stack for the gateway area (started only by the tests that ask for it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.stack import Stack

GATEWAY_SECRET = "parity-test-" + "shared-secret"


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory, base_env: dict[str, str]) -> Iterator[Stack]:
    # Node gateways have no router key: they prove themselves with the documented shared secret.
    env = {**base_env, "ROUTER_SHARED_SECRET": GATEWAY_SECRET}
    running = Stack(tmp_path_factory.mktemp("gateway-stack"), env).start()
    try:
        yield running
    finally:
        running.stop()
