"""The benchmark's processes: the Node packages installed once, the subgraphs and every gateway
started pinned to its CPU, waited for, and stopped with their whole process group.

Every gateway gets the same subgraphs and the same supergraph; this module knows how each one is
launched (argv, environment, GraphQL path), so the measuring code treats them all alike.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from scripts.gateways_bench import BENCH_DIR, INSTALL_DIR, REPO_ROOT

COPIED = ("subgraphs.js", "data.json", "apollo-gateway.js", "hive-gateway.config.ts")
GATEWAY_CPU = "1"
LOAD_CPU = "0"


def pinned(cpu: str, argv: list[str]) -> list[str]:
    """`argv` run on that CPU only (taskset), where there is more than one CPU to choose."""
    return ["taskset", "-c", cpu, *argv] if shutil.which("taskset") and (os.cpu_count() or 1) > 1 else argv


@dataclass
class Gateway:
    """One gateway under test: how it is launched, where it answers, its process once started."""

    name: str
    argv: list[str]
    env: dict[str, str]
    path: str
    proc: subprocess.Popen[bytes] | None = None
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """A process in its own session (so `stop` ends its whole tree), its output appended to `log`."""
    handle = log.open("ab")
    try:
        return subprocess.Popen(
            argv, env={**os.environ, **env}, cwd=INSTALL_DIR, stdout=handle, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    finally:
        handle.close()


def wait_graphql(url: str, proc: subprocess.Popen[bytes], timeout_s: float = 60) -> None:
    """Until `url` answers `{ __typename }`; RuntimeError when the process exits or time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: process exited with {proc.returncode}")
        try:
            response = httpx.post(url, json={"query": "{ __typename }"}, timeout=2)
            if response.status_code == 200 and response.json().get("data") == {"__typename": "Query"}:
                return
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout_s}s")


def stop(proc: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM to the process group, SIGKILL if it is still there after 10 s."""
    if proc is None or proc.poll() is not None:
        return
    import signal

    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


def install() -> None:
    """The Node packages of package.json under INSTALL_DIR (once), and our files copied beside them."""
    INSTALL_DIR.mkdir(parents=True, exist_ok=True)
    wanted = (BENCH_DIR / "package.json").read_text()
    manifest = INSTALL_DIR / "package.json"
    if (
        not manifest.is_file()
        or manifest.read_text() != wanted
        or not (INSTALL_DIR / "node_modules").is_dir()
    ):
        manifest.write_text(wanted)
        print(f"installing the Node packages into {INSTALL_DIR} ...", flush=True)
        subprocess.run(["npm", "install", "--no-audit", "--no-fund"], cwd=INSTALL_DIR, check=True)
    for name in COPIED:
        shutil.copyfile(BENCH_DIR / name, INSTALL_DIR / name)


def baseline_tree(rev: str) -> Path:
    """A git worktree of our repository at `rev` (under .tmp/), to run that revision's router."""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", rev], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    tree = REPO_ROOT / ".tmp" / f"bench-baseline-{commit}"
    if not (tree / "supergraph" / "server.py").is_file():
        subprocess.run(
            ["git", "worktree", "add", "--force", "--detach", str(tree), commit], cwd=REPO_ROOT, check=True
        )
    return tree


def gateways(sdl: Path, names: list[str], baseline: Path | None = None) -> list[Gateway]:
    """The named gateways on free ports, serving `sdl`; with `baseline`, our router of that tree first."""
    router = [sys.executable, "-m", "supergraph.server"]
    router_env = {
        "SUPERGRAPH_SDL_FILE": str(sdl),
        "ROUTER_POLL_INTERVAL_S": "0",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(REPO_ROOT),
    }
    hive = str(INSTALL_DIR / "node_modules" / ".bin" / "hive-gateway")
    known: dict[str, Callable[[int], Gateway]] = {
        "ours": lambda port: Gateway(
            "ours", router, {**router_env, "ROUTER_PORT": str(port), "ROUTER_DEDUPLICATE_QUERIES": "true"},
            "/graphql",
        ),
        "ours-nodedup": lambda port: Gateway(
            "ours-nodedup", router,
            {**router_env, "ROUTER_PORT": str(port), "ROUTER_DEDUPLICATE_QUERIES": "false"}, "/graphql",
        ),
        "apollo": lambda port: Gateway(
            "apollo", ["node", "apollo-gateway.js", str(sdl), str(port)], {"NODE_ENV": "production"}, "/"
        ),
        "hive": lambda port: Gateway(
            "hive",
            [hive, "supergraph", str(sdl), "--host", "127.0.0.1", "--port", str(port)],
            {"NODE_ENV": "production"}, "/graphql",
        ),
        "hive-inbound": lambda port: Gateway(
            "hive-inbound",
            [hive, "supergraph", str(sdl), "--jit", "--config-path", "hive-gateway.config.ts",
             "--host", "127.0.0.1", "--port", str(port)],
            {"NODE_ENV": "production"}, "/graphql",
        ),
    }  # fmt: skip
    if baseline is not None:
        known["before"] = lambda port: Gateway(
            "before",
            router,
            {**router_env, "PYTHONPATH": str(baseline), "ROUTER_PORT": str(port)},
            "/graphql",
        )
        names = ["before", *names]
    out = []
    for name in names:
        port = free_port()
        gateway = known[name](port)
        gateway.port = port
        out.append(gateway)
    return out
