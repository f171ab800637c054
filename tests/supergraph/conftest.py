"""Fixtures: the test subgraphs on real loopback ports (uvicorn) and the router in-process."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
import yaml

from supergraph.config import RouterSettings
from supergraph.runtime import RouterRuntime
from supergraph.server import create_app
from tests.supergraph.subgraph_apps import SCHEMAS, asgi_app


def free_socket() -> socket.socket:
    """A listening-ready socket on a free loopback port (no race between picking and binding)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@dataclass
class ServedApp:
    """One ASGI app served by uvicorn inside the test event loop."""

    name: str
    app: Any
    sock: socket.socket = field(default_factory=free_socket)
    server: uvicorn.Server | None = None
    task: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/graphql"

    async def start(self) -> None:
        config = uvicorn.Config(self.app, log_level="warning", lifespan="off", access_log=False)
        self.server = uvicorn.Server(config)
        self.task = asyncio.create_task(self.server.serve(sockets=[self.sock]))
        for _ in range(200):
            if self.server.started:
                return
            await asyncio.sleep(0.01)
        raise RuntimeError(f"subgraph {self.name} did not start")

    async def stop(self) -> None:
        if self.server is not None and self.task is not None:
            self.server.should_exit = True
            await self.task
            self.server = None
            self.task = None
        self.sock.close()


@pytest.fixture(scope="session")
async def subgraphs() -> AsyncIterator[dict[str, ServedApp]]:
    """Every test subgraph, started once per session."""
    served = {name: ServedApp(name, asgi_app(name)) for name in SCHEMAS}
    for app in served.values():
        await app.start()
    yield served
    for app in served.values():
        await app.stop()


def write_rover_config(directory: Path, urls: dict[str, str]) -> Path:
    """A Rover `supergraph.yaml` naming each subgraph (introspected through `_service`)."""
    config = {
        "federation_version": "=2.9.0",
        "subgraphs": {
            name: {"routing_url": url, "schema": {"subgraph_url": url}} for name, url in urls.items()
        },
    }
    path = directory / "supergraph.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="session")
def rover_config(subgraphs: dict[str, ServedApp], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_rover_config(tmp_path_factory.mktemp("rover"), {n: s.url for n, s in subgraphs.items()})


RouterFactory = Callable[..., Any]


@pytest.fixture
def make_router(rover_config: Path) -> Callable[..., Any]:
    """Build an in-process router (ASGI) over the real subgraphs; settings override by keyword."""

    @asynccontextmanager
    async def factory(**overrides: Any) -> AsyncIterator[tuple[httpx.AsyncClient, RouterRuntime]]:
        values: dict[str, Any] = {"SUPERGRAPH_CONFIG": str(rover_config), "ROUTER_POLL_INTERVAL_S": 0}
        values.update(overrides)
        settings = RouterSettings(**values)
        runtime = RouterRuntime(settings)
        await runtime.refresh()
        app = create_app(settings, runtime)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://router") as client:
            try:
                yield client, runtime
            finally:
                await runtime.stop()

    return factory


@pytest.fixture
async def router(make_router: Callable[..., Any]) -> AsyncIterator[tuple[httpx.AsyncClient, RouterRuntime]]:
    """The router with debug plans enabled and default limits."""
    async with make_router(ROUTER_DEBUG=True) as pair:
        yield pair
