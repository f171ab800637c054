"""Node gateways serving a supergraph SDL file: Apollo Gateway and Hive Gateway.

Each is installed once with `npm install --no-audit --no-fund` into its own folder under
.tmp/gateway-node/ (git-ignored) and reused while its pinned versions match; the server or config
file from deploy/node-gateways/ (the one the README hands out) is copied in at test time.
When Node or the npm registry is unavailable, `ensure_installed` answers None plus the reason, so
the caller can skip saying why.

Both forward `Authorization` and `X-Request-ID` to the subgraphs, as our router does.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.procs import REPO_ROOT, Process, free_port

# SAWIT_GATEWAY_NODE_DIR moves the install out of the work tree, e.g. to keep it across fresh clones.
CACHE_DIR = Path(os.environ.get("SAWIT_GATEWAY_NODE_DIR") or REPO_ROOT / ".tmp" / "gateway-node")
MIN_NODE_MAJOR = 20  # @apollo/server 5 and @graphql-hive/gateway 2 need Node >= 20

# The server/config files the deployment docs hand out; copied next to node_modules at test time so
# that their `require`/`import` of the gateway package resolves there.
FILES_DIR = REPO_ROOT / "deploy" / "node-gateways"


@dataclass(frozen=True)
class NodeGateway:
    name: str
    packages: dict[str, str]
    files: tuple[str, ...]  # from deploy/node-gateways/
    command: Callable[[Path, Path, int], list[str]]  # (install dir, SDL file, port) -> argv
    path: str  # where it serves GraphQL

    @property
    def directory(self) -> Path:
        return CACHE_DIR / self.name


APOLLO_GATEWAY = NodeGateway(
    name="apollo-gateway",
    packages={"@apollo/gateway": "2.14.4", "@apollo/server": "5.5.1", "graphql": "16.11.0"},
    files=("apollo-gateway.js",),
    command=lambda d, sdl, port: ["node", str(d / "apollo-gateway.js"), str(sdl), str(port)],
    path="/",
)
HIVE_GATEWAY = NodeGateway(
    name="hive-gateway",
    packages={"@graphql-hive/gateway": "2.15.1"},
    files=("hive-gateway.config.ts",),
    command=lambda d, sdl, port: [
        str(d / "node_modules" / ".bin" / "hive-gateway"),
        "supergraph",
        str(sdl),
        "--config-path",
        str(d / "hive-gateway.config.ts"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ],  # fmt: skip
    path="/graphql",
)


def _installed_versions(gateway: NodeGateway) -> dict[str, str]:
    found = {}
    for name in gateway.packages:
        manifest = gateway.directory / "node_modules" / name / "package.json"
        if manifest.is_file():
            found[name] = json.loads(manifest.read_text()).get("version", "")
    return found


def node_problem() -> str | None:
    """Why no Node gateway can run here, or None."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        return "node/npm are not installed"
    version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    try:
        major = int(version.lstrip("v").split(".")[0])
    except ValueError:
        return f"cannot read the Node version ({version!r})"
    if major < MIN_NODE_MAJOR:
        return f"Node {version} is older than {MIN_NODE_MAJOR}"
    return None


def ensure_installed(gateway: NodeGateway, timeout_s: float = 600.0) -> tuple[Path | None, str]:
    """(install dir, "") once the pinned packages are installed and its files written, else (None, why)."""
    problem = node_problem()
    if problem:
        return None, problem
    directory = gateway.directory
    directory.mkdir(parents=True, exist_ok=True)
    if _installed_versions(gateway) != gateway.packages:
        package = {
            "name": f"sawit-{gateway.name}-check",
            "private": True,
            "description": "Written by tests/gateway: a Node gateway serving our composed supergraph",
            "dependencies": gateway.packages,
        }
        (directory / "package.json").write_text(json.dumps(package, indent=2) + "\n")
        try:
            result = subprocess.run(
                ["npm", "install", "--no-audit", "--no-fund"],
                cwd=directory,
                capture_output=True,
                text=True,
                timeout=timeout_s,
            )
        except subprocess.TimeoutExpired:
            return None, f"npm install of {gateway.name} did not finish within {timeout_s:.0f}s"
        if result.returncode != 0 or _installed_versions(gateway) != gateway.packages:
            return (
                None,
                f"npm install of {gateway.name} failed: {(result.stderr or result.stdout).strip()[-500:]}",
            )
    for name in gateway.files:
        shutil.copyfile(FILES_DIR / name, directory / name)
    return directory, ""


def start(
    gateway: NodeGateway, sdl_file: Path, log_dir: Path, timeout_s: float = 60.0
) -> tuple[Process, str]:
    """Run the gateway on a free port; returns the process and its GraphQL URL once it answers."""
    port = free_port()
    # no stack traces in errors, as deployed; LOG_LEVEL in the Node spelling (Hive Gateway reads it)
    env = {**os.environ, "NODE_ENV": "production", "LOG_LEVEL": "info", "HOST": "127.0.0.1"}
    from tests.gateway.conftest import GATEWAY_SECRET

    env["ROUTER_SHARED_SECRET"] = GATEWAY_SECRET
    process = Process(
        gateway.command(gateway.directory, sdl_file, port), env, log_dir / f"{gateway.name}.log"
    )
    process.start()
    url = f"http://127.0.0.1:{port}{gateway.path}"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert process.proc is not None
        if process.proc.poll() is not None:
            raise RuntimeError(f"{gateway.name} exited with {process.proc.returncode}:\n{process.tail()}")
        try:
            response = httpx.post(url, json={"query": "{ __typename }"}, timeout=2.0)
            if response.status_code == 200 and response.json().get("data") == {"__typename": "Query"}:
                return process, url
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.2)
    process.stop()
    raise RuntimeError(f"{gateway.name} did not answer within {timeout_s}s:\n{process.tail()}")
