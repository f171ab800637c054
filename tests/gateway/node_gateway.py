"""Apollo Gateway (Node) serving a supergraph SDL file: installed once into .tmp/gateway-node/.

The install is cached (git-ignored `.tmp/`) and reused while its pinned versions match; the tiny
server file is written at test time. Everything here answers None plus a reason instead of raising
when Node or the npm registry is not available, so the caller can skip saying why.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import httpx

from tests.support.procs import REPO_ROOT, Process, free_port

CACHE_DIR = REPO_ROOT / ".tmp" / "gateway-node"
# @apollo/server 5 needs Node >= 20; @apollo/gateway 2 composes nothing, it only serves the SDL.
PACKAGES = {"@apollo/gateway": "2.14.4", "@apollo/server": "5.5.1", "graphql": "16.11.0"}
MIN_NODE_MAJOR = 20

SERVER_JS = r"""// Written by tests/gateway: Apollo Gateway serving a supergraph SDL composed elsewhere.
// usage: node apollo-gateway.js <supergraph.graphql> <port>
'use strict';
const fs = require('fs');
const { ApolloServer } = require('@apollo/server');
const { startStandaloneServer } = require('@apollo/server/standalone');
const { ApolloGateway, RemoteGraphQLDataSource } = require('@apollo/gateway');

const [sdlPath, port] = process.argv.slice(2);
const FORWARDED = ['authorization', 'x-request-id'];

class ForwardingDataSource extends RemoteGraphQLDataSource {
  willSendRequest({ request, context }) {
    for (const name of FORWARDED) {
      if (context[name]) request.http.headers.set(name, context[name]);
    }
  }
}

const gateway = new ApolloGateway({
  supergraphSdl: fs.readFileSync(sdlPath, 'utf8'),
  buildService: ({ url }) => new ForwardingDataSource({ url }),
});
const server = new ApolloServer({ gateway, introspection: true });
startStandaloneServer(server, {
  listen: { host: '127.0.0.1', port: Number(port) },
  context: async ({ req }) => Object.fromEntries(FORWARDED.map((h) => [h, req.headers[h]])),
})
  .then(({ url }) => console.log(`apollo gateway ready at ${url}`))
  .catch((error) => {
    console.error(error);
    process.exit(1);
  });
"""


def _installed_versions() -> dict[str, str]:
    found = {}
    for name in PACKAGES:
        manifest = CACHE_DIR / "node_modules" / name / "package.json"
        if manifest.is_file():
            found[name] = json.loads(manifest.read_text()).get("version", "")
    return found


def ensure_installed(timeout_s: float = 300.0) -> tuple[Path | None, str]:
    """(the server file, "") once the pinned packages are installed, else (None, why not)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        return None, "node/npm are not installed"
    version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    try:
        major = int(version.lstrip("v").split(".")[0])
    except ValueError:
        return None, f"cannot read the Node version ({version!r})"
    if major < MIN_NODE_MAJOR:
        return None, f"Node {version} is older than the {MIN_NODE_MAJOR} that @apollo/server needs"
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    if _installed_versions() != PACKAGES:
        package = {
            "name": "sawit-gateway-check",
            "private": True,
            "description": "Written by tests/gateway: Node gateways serving our composed supergraph",
            "dependencies": PACKAGES,
        }
        (CACHE_DIR / "package.json").write_text(json.dumps(package, indent=2) + "\n")
        try:
            result = subprocess.run(
                [npm, "install", "--no-audit", "--no-fund"],
                cwd=CACHE_DIR,
                capture_output=True,
                text=True,
                timeout=timeout_s,
            )
        except subprocess.TimeoutExpired:
            return None, f"npm install did not finish within {timeout_s:.0f}s"
        if result.returncode != 0 or _installed_versions() != PACKAGES:
            return None, f"npm install failed: {(result.stderr or result.stdout).strip()[-500:]}"
    server = CACHE_DIR / "apollo-gateway.js"
    server.write_text(SERVER_JS)
    return server, ""


def start_apollo_gateway(
    server_js: Path, sdl_file: Path, log_dir: Path, timeout_s: float = 45.0
) -> tuple[Process, str]:
    """Run the gateway on a free port; returns the process and its /graphql URL once it answers."""
    port = free_port()
    env = {**os.environ, "NODE_ENV": "production"}  # no stack traces in errors, as deployed
    process = Process(["node", str(server_js), str(sdl_file), str(port)], env, log_dir / "apollo-gateway.log")
    process.start()
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert process.proc is not None
        if process.proc.poll() is not None:
            raise RuntimeError(f"Apollo Gateway exited with {process.proc.returncode}:\n{process.tail()}")
        try:
            response = httpx.post(url, json={"query": "{ __typename }"}, timeout=2.0)
            if response.status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.stop()
    raise RuntimeError(f"Apollo Gateway did not answer within {timeout_s}s:\n{process.tail()}")
