"""A real stack whose router serves web/ at `/`, and a headless Debian Chromium driven by Playwright."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.procs import REPO_ROOT
from tests.support.stack import Stack

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = REPO_ROOT / "test-artifacts"
# The velocity rule trips after this many checks per user per minute (the security-words test).
VELOCITY_MAX_CHECKS = 5


@pytest.fixture(scope="module")
def web_stack(tmp_path_factory: pytest.TempPathFactory, base_env: dict[str, str]) -> Iterator[Stack]:
    running = Stack(
        tmp_path_factory.mktemp("web-stack"),
        base_env,
        extra_env={
            "ROUTER_STATIC_DIR": str(REPO_ROOT / "web"),
            "FRAUD_VELOCITY_MAX_CHECKS": str(VELOCITY_MAX_CHECKS),
        },
    ).start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        pytest.skip(f"browser test skipped: {CHROMIUM} is missing (.ci/run installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
