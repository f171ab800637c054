"""The one-command dev runner: every subgraph, the marketplace sandbox and the router, each its own process.

Starts the subgraphs that exist (each migrates its own database at start), waits for each
`/health`, then the sandbox (unless MARKETPLACE_URL names a marketplace), then the router composed
from the running subgraphs; prints the URLs; on Ctrl-C/SIGTERM stops every child's whole process
group, so nothing is left behind. If a child dies, the others are stopped too.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from scripts.keygen import ensure_keys
from shared.settings import SUBGRAPHS, Settings, get_settings

ROOT = Path(__file__).resolve().parents[1]
SANDBOX_USERS_PORT = int(os.environ.get("SANDBOX_USERS_PORT", "7001"))
SANDBOX_ORDERS_PORT = int(os.environ.get("SANDBOX_ORDERS_PORT", "7003"))
HEALTH_TIMEOUT_S = float(os.environ.get("DEVRUN_HEALTH_TIMEOUT_S", "90"))


@dataclass
class Child:
    """One started process and the URL that says it is healthy."""

    name: str
    args: list[str]
    env: dict[str, str]
    health_url: str
    binds: list[tuple[str, int]] = field(default_factory=list)  # (host, port) it will listen on
    proc: asyncio.subprocess.Process | None = None
    pump: asyncio.Task[None] | None = field(default=None, repr=False)


def existing_subgraphs() -> list[str]:
    return [name for name in SUBGRAPHS if (ROOT / "subgraphs" / name / "app.py").exists()]


def sandbox_wanted(settings: Settings) -> tuple[bool, str]:
    """(start the sandbox?, the MARKETPLACE_URL transactions should use).

    A MARKETPLACE_URL in the environment names a marketplace that is already running somewhere
    (the real one listens on :7003, the sandbox's own default port), so the sandbox starts only
    when MARKETPLACE_URL is unset."""
    configured = (os.environ.get("MARKETPLACE_URL") or "").strip()
    if configured:
        return False, configured
    exists = (ROOT / "scripts" / "marketplace_sandbox.py").exists()
    return exists, f"http://127.0.0.1:{SANDBOX_ORDERS_PORT}/graphql" if exists else ""


def port_clashes(children: list[Child]) -> list[str]:
    """What already listens where a child is about to: checked before anything starts."""
    clashes = []
    for child in children:
        for host, port in child.binds:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    probe.bind((host, port))
                except OSError:
                    clashes.append(f"{child.name}: port {port} on {host} is already in use")
    return clashes


def write_supergraph_config(settings: Settings, names: list[str]) -> Path:
    """A Rover-format supergraph.yaml for the subgraphs this run started, on their real ports."""
    lines = ["# written by scripts/devrun.py for this run", "federation_version: =2.3.1", "subgraphs:"]
    for name in names:
        url = f"http://127.0.0.1:{settings.port_of(name)}/graphql"
        lines += [f"  {name}:", f"    routing_url: {url}", "    schema:", f"      subgraph_url: {url}"]
    path = settings.data_dir / "supergraph.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


async def pump_output(name: str, stream: asyncio.StreamReader) -> None:
    """Prefix each child line with its name, so interleaved logs stay readable."""
    width = 12
    while line := await stream.readline():
        sys.stdout.write(f"{name:<{width}}| {line.decode(errors='replace')}")
        sys.stdout.flush()


async def start(child: Child) -> None:
    child.proc = await asyncio.create_subprocess_exec(
        *child.args,
        cwd=ROOT,
        env=child.env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
    )
    assert child.proc.stdout is not None
    child.pump = asyncio.create_task(pump_output(child.name, child.proc.stdout))


async def wait_healthy(child: Child, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if child.proc is not None and child.proc.returncode is not None:
                raise RuntimeError(f"{child.name} exited with code {child.proc.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(child.health_url)).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{child.name} did not answer {child.health_url} within {timeout_s:.0f}s")


async def stop_all(children: list[Child]) -> None:
    """SIGTERM every process group, then SIGKILL what is still alive after a grace period."""
    alive = [c for c in children if c.proc is not None and c.proc.returncode is None]
    for child in reversed(alive):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.proc.pid, signal.SIGTERM)  # type: ignore[union-attr]
    for child in alive:
        try:
            await asyncio.wait_for(child.proc.wait(), 15)  # type: ignore[union-attr]
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.proc.pid, signal.SIGKILL)  # type: ignore[union-attr]
            await child.proc.wait()  # type: ignore[union-attr]
    for child in children:
        if child.pump is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(child.pump, 2)


def plan(settings: Settings, with_router: bool) -> tuple[list[Child], list[Child]]:
    """(subgraphs, then-the-rest) to start, with each process's environment."""
    base_env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    names = existing_subgraphs()
    start_sandbox, marketplace_url = sandbox_wanted(settings)
    router_url = f"http://127.0.0.1:{settings.router_port}/graphql"
    subgraphs = []
    for name in names:
        env = dict(base_env)
        if name == "transactions" and marketplace_url:
            env["MARKETPLACE_URL"] = marketplace_url
        subgraphs.append(
            Child(
                name,
                [sys.executable, "-m", f"subgraphs.{name}.app"],
                env,
                f"http://127.0.0.1:{settings.port_of(name)}/health",
                binds=[(settings.host, settings.port_of(name))],
            )
        )
    rest = []
    if start_sandbox:
        sandbox_host = os.environ.get("SANDBOX_HOST", "127.0.0.1")
        env = {
            **base_env,
            "SANDBOX_USERS_PORT": str(SANDBOX_USERS_PORT),
            "SANDBOX_ORDERS_PORT": str(SANDBOX_ORDERS_PORT),
            "WALLET_GATEWAY_URL": os.environ.get("WALLET_GATEWAY_URL", router_url),
        }
        rest.append(
            Child(
                "marketplace",
                [sys.executable, "-m", "scripts.marketplace_sandbox"],
                env,
                f"http://127.0.0.1:{SANDBOX_ORDERS_PORT}/health",
                binds=[(sandbox_host, SANDBOX_USERS_PORT), (sandbox_host, SANDBOX_ORDERS_PORT)],
            )
        )
    if with_router and (ROOT / "supergraph" / "server.py").exists():
        env = dict(base_env)
        env.setdefault("SUPERGRAPH_CONFIG", str(write_supergraph_config(settings, names)))
        # The marketplace authenticates generateInvoiceVA with X-Merchant-Key when one is configured.
        env.setdefault("ROUTER_FORWARD_HEADERS", "authorization,x-merchant-key")
        web = ROOT / "web"
        if (web / "index.html").exists():
            env.setdefault("ROUTER_STATIC_DIR", str(web))
        rest.append(
            Child(
                "router",
                [sys.executable, "-m", "supergraph.server"],
                env,
                f"http://127.0.0.1:{settings.router_port}/health",
                binds=[(os.environ.get("ROUTER_HOST", "127.0.0.1"), settings.router_port)],
            )
        )
    return subgraphs, rest


def banner(settings: Settings, children: list[Child]) -> str:
    lines = ["", "Dompet Digital Sawit is running:"]
    for child in children:
        base = child.health_url.removesuffix("/health")
        suffix = "/graphql" if child.name != "marketplace" else "/graphql (orders)"
        lines.append(f"  {child.name:<13} {base}{suffix}")
    if any(c.name == "marketplace" for c in children):
        lines.append(f"  {'marketplace':<13} http://127.0.0.1:{SANDBOX_USERS_PORT}/graphql (users)")
    if any(c.name == "router" for c in children):
        base = f"http://127.0.0.1:{settings.router_port}"
        lines.append(f"  -> the API (a query page in a browser): {base}/graphql")
        if (ROOT / "web" / "index.html").exists():
            lines.append(f"  -> the web app: {base}/")
    lines.append("Press Ctrl-C to stop everything.")
    return "\n".join(lines)


async def run(with_router: bool) -> int:
    settings = get_settings()
    for line in ensure_keys(settings.keys_dir):
        print(f"keys: {line}")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    subgraphs, rest = plan(settings, with_router)
    if not subgraphs:
        print("no subgraphs found under subgraphs/", file=sys.stderr)
        return 1
    clashes = port_clashes([*subgraphs, *rest])
    if clashes:
        print("start-up refused, nothing was started:", file=sys.stderr)
        for clash in clashes:
            print(f"  {clash}", file=sys.stderr)
        print(
            "Stop what uses these ports or choose others (<NAME>_PORT, ROUTER_PORT, SANDBOX_*_PORT).",
            file=sys.stderr,
        )
        return 2
    children: list[Child] = []
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        for group in (subgraphs, rest):
            for child in group:
                await start(child)
                children.append(child)
            await asyncio.gather(*(wait_healthy(c, HEALTH_TIMEOUT_S) for c in group))
        print(banner(settings, children), flush=True)
        waiters = [asyncio.create_task(c.proc.wait()) for c in children]  # type: ignore[union-attr]
        stopper = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait([stopper, *waiters], return_when=asyncio.FIRST_COMPLETED)
        for task in (stopper, *waiters):
            task.cancel()
        if stopper in done:
            print("\nstopping...", flush=True)
            return 0
        dead = [c.name for c in children if c.proc and c.proc.returncode is not None]
        print(f"\n{', '.join(dead)} exited; stopping the rest", file=sys.stderr, flush=True)
        return 1
    except RuntimeError as exc:
        print(f"start-up failed: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        await stop_all(children)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--no-router", action="store_true", help="start only the subgraphs")
    args = parser.parse_args(argv)
    return asyncio.run(run(with_router=not args.no_router))


if __name__ == "__main__":
    sys.exit(main())
