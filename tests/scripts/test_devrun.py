"""The dev runner starts every process on its port, waits for health, and stops them all on SIGTERM."""

from __future__ import annotations

import os
import re
import signal
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


@pytest.mark.e2e
def test_the_runner_serves_every_process_and_leaves_no_orphan_on_sigterm(
    tmp_path: Path, base_env: dict[str, str]
) -> None:
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
