"""The gateway tests skip, saying why, exactly when Node or its registry lets them down; with fake
`node`/`npm` programs on PATH, no network is touched."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.gateway import node_gateway
from tests.gateway.node_gateway import APOLLO_GATEWAY, HIVE_GATEWAY, ensure_installed


def fake_tools(directory: Path, node_version: str, npm_script: str) -> str:
    directory.mkdir()
    (directory / "node").write_text(f"#!/bin/sh\necho {node_version}\n")
    (directory / "npm").write_text(f"#!/bin/sh\n{npm_script}\n")
    for tool in ("node", "npm"):
        (directory / tool).chmod(0o755)
    return f"{directory}{os.pathsep}/usr/bin{os.pathsep}/bin"


def test_without_node_on_the_path_the_reason_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert ensure_installed(APOLLO_GATEWAY) == (None, "node/npm are not installed")


def test_a_node_too_old_is_named_in_the_reason(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", fake_tools(tmp_path / "bin", "v18.19.0", "exit 0"))
    directory, reason = ensure_installed(HIVE_GATEWAY)
    assert directory is None and "v18.19.0" in reason and "20" in reason


def test_a_failed_npm_install_is_a_reason_with_npm_s_own_words(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(node_gateway, "CACHE_DIR", tmp_path / "cache")
    monkeypatch.setenv(
        "PATH", fake_tools(tmp_path / "bin", "v20.20.2", "echo 'npm error code E404' >&2; exit 1")
    )
    directory, reason = ensure_installed(APOLLO_GATEWAY)
    assert directory is None
    assert reason.startswith("npm install of apollo-gateway failed") and "E404" in reason
    # what was asked of npm: exactly the pinned packages
    written = (tmp_path / "cache" / "apollo-gateway" / "package.json").read_text()
    assert all(f'"{name}": "{version}"' in written for name, version in APOLLO_GATEWAY.packages.items())


def test_an_install_that_matches_the_pins_is_reused_without_npm(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(node_gateway, "CACHE_DIR", tmp_path / "cache")
    for name, version in APOLLO_GATEWAY.packages.items():
        manifest = tmp_path / "cache" / "apollo-gateway" / "node_modules" / name / "package.json"
        manifest.parent.mkdir(parents=True)
        manifest.write_text(f'{{"name": "{name}", "version": "{version}"}}')
    monkeypatch.setenv("PATH", fake_tools(tmp_path / "bin", "v20.20.2", "echo npm must not run >&2; exit 1"))
    directory, reason = ensure_installed(APOLLO_GATEWAY)
    assert (directory, reason) == (tmp_path / "cache" / "apollo-gateway", "")
    assert (directory / "apollo-gateway.js").read_text() == (
        node_gateway.FILES_DIR / "apollo-gateway.js"
    ).read_text()
