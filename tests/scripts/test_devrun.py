"""The dev runner starts every process on its port, waits for health, and stops them all on SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from shared.settings import SUBGRAPHS
from tests.support.procs import REPO_ROOT, free_port


def processes_with_env(marker: str) -> list[int]:
    """Pids whose environment contains `marker` (children inherit the test's unique DATA_DIR)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker.encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def runner_env(tmp_path: Path, base_env: dict[str, str]) -> tuple[dict[str, int], dict[str, str]]:
    """Free ports for every process and the runner's environment (its own DATA_DIR, no marketplace)."""
    ports = {name: free_port() for name in (*SUBGRAPHS, "router")}
    env = {
        **os.environ,
        **base_env,
        "DATA_DIR": str(tmp_path / "data"),
        "SANDBOX_USERS_PORT": str(free_port()),
        "SANDBOX_ORDERS_PORT": str(free_port()),
        **{f"{name.upper()}_PORT": str(port) for name, port in ports.items()},
    }
    env.pop("MARKETPLACE_URL", None)
    return ports, env


@pytest.mark.e2e
def test_the_runner_serves_every_process_and_leaves_no_orphan_on_sigterm(
    tmp_path: Path, base_env: dict[str, str]
) -> None:
    ports, env = runner_env(tmp_path, base_env)
    log = (tmp_path / "devrun.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "scripts.devrun"], cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 120
        output = ""
        while time.monotonic() < deadline and "Press Ctrl-C" not in output:
            assert proc.poll() is None, (tmp_path / "devrun.log").read_text()[-3000:]
            time.sleep(0.3)
            output = (tmp_path / "devrun.log").read_text(errors="replace")
        assert "Press Ctrl-C" in output, output[-3000:]
        started = [name for name in SUBGRAPHS if (REPO_ROOT / "subgraphs" / name / "app.py").exists()]
        for name in started:
            assert httpx.get(f"http://127.0.0.1:{ports[name]}/health", timeout=2).status_code == 200
            assert re.search(rf"{name}\s+http://127\.0\.0\.1:{ports[name]}/graphql", output)
        assert processes_with_env(str(tmp_path / "data")), "children should be running"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        log.close()
    assert proc.returncode == 0
    time.sleep(0.5)
    assert processes_with_env(str(tmp_path / "data")) == []
    for port in ports.values():
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)


def test_a_marketplace_url_means_no_sandbox_even_on_the_sandboxs_own_port(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from scripts import devrun
    from shared.settings import get_settings

    monkeypatch.setenv("MARKETPLACE_URL", "http://127.0.0.1:7003/graphql")  # the real marketplace's default
    subgraphs, rest = devrun.plan(get_settings(), with_router=True)
    assert "marketplace" not in {child.name for child in rest}
    [transactions] = [child for child in subgraphs if child.name == "transactions"]
    assert transactions.env["MARKETPLACE_URL"] == "http://127.0.0.1:7003/graphql"


def test_without_a_marketplace_url_the_sandbox_starts_on_both_its_ports(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from scripts import devrun
    from shared.settings import get_settings

    monkeypatch.delenv("MARKETPLACE_URL", raising=False)
    _, rest = devrun.plan(get_settings(), with_router=True)
    [sandbox] = [child for child in rest if child.name == "marketplace"]
    assert {port for _, port in sandbox.binds} == {devrun.SANDBOX_USERS_PORT, devrun.SANDBOX_ORDERS_PORT}


@pytest.mark.e2e
def test_a_port_already_in_use_stops_the_start_before_anything_runs(
    tmp_path: Path, base_env: dict[str, str]
) -> None:
    ports, env = runner_env(tmp_path, base_env)
    with socket.socket() as occupied:
        occupied.bind(("127.0.0.1", ports["wallet"]))
        occupied.listen()
        done = subprocess.run(
            [sys.executable, "-m", "scripts.devrun"],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"wallet: port {ports['wallet']} on 127.0.0.1 is already in use" in done.stderr
    assert processes_with_env(str(tmp_path / "data")) == []
    for name in ("auth", "router"):
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{ports[name]}/health", timeout=1)
