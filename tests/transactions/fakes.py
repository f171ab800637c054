"""The stand-ins the transactions tests serve in their own event loop: a fake marketplace and a wallet
proxy whose behaviour the test sets, on a restartable local server (`serving` starts one for a block).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from tests.support.procs import free_port


def url_of(port: int) -> str:
    return f"http://127.0.0.1:{port}/graphql"


# ------------------------------------------------------------------------- in-process servers


class LocalServer:
    """An ASGI app served by uvicorn inside the test's event loop, on a fixed port (restartable)."""

    def __init__(self, app: ASGIApp, port: int | None = None) -> None:
        self.app = app
        self.port = port or free_port()
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return url_of(self.port)

    async def start(self) -> LocalServer:
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        for _ in range(200):
            if self._server.started:
                return self
            await asyncio.sleep(0.01)
        raise RuntimeError(f"local server on {self.port} did not start")

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
            self._server = None
            self._task = None


@dataclass
class FakeMarketplace:
    """The marketplace of marketplace.md, as far as the wallet uses it; the test sets its behaviour."""

    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    notices: list[tuple[str, str]] = field(default_factory=list)
    down: bool = False  # answer HTTP 503 without JSON
    notices_down: bool = False  # only updatePaymentStatus answers 503
    answer_false: bool = False  # updatePaymentStatus answers false
    server: LocalServer | None = None
    notice_headers: list[dict[str, str]] = field(default_factory=list)  # of every updatePaymentStatus

    def add_order(self, va: str, total_text: str, payment_status: str = "UNPAID") -> None:
        """`total_text` is the JSON number exactly as the marketplace would write it (e.g. 150000.0)."""
        self.orders[va] = {"id": uuid.uuid4().hex[:8], "total": total_text, "paymentStatus": payment_status}

    def acknowledged(self, va: str) -> int:
        return sum(1 for seen, outcome in self.notices if seen == va and outcome == "ack")

    async def handle(self, request: Request) -> Response:
        body = await request.json()
        query = body.get("query", "")
        variables = body.get("variables") or {}
        if self.down:
            return Response("down", status_code=503)
        if "getOrderByVA" in query:
            order = self.orders.get(variables.get("va", ""))
            if order is None:
                return Response('{"data":{"getOrderByVA":null}}', media_type="application/json")
            found = {"id": order["id"], "status": "PENDING", "paymentStatus": order["paymentStatus"]}
            # totalHarga goes out as the exact JSON number text the test chose (e.g. 150000.0).
            text = json.dumps({"data": {"getOrderByVA": {**found, "totalHarga": "@TOTAL@"}}})
            text = text.replace('"@TOTAL@"', order["total"])
            return Response(text, media_type="application/json")
        if "updatePaymentStatus" in query:
            va = variables.get("va", "")
            self.notice_headers.append({k.lower(): v for k, v in request.headers.items()})
            if self.notices_down:
                self.notices.append((va, "down"))
                return Response("notices down", status_code=503)
            if self.answer_false or va not in self.orders:
                self.notices.append((va, "false"))
                return Response('{"data":{"updatePaymentStatus":false}}', media_type="application/json")
            self.orders[va]["paymentStatus"] = "PAID"
            self.notices.append((va, "ack"))
            return Response('{"data":{"updatePaymentStatus":true}}', media_type="application/json")
        return Response('{"errors":[{"message":"unknown operation"}]}', media_type="application/json")

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/graphql", self.handle, methods=["POST"])])


@dataclass
class WalletProxy:
    """Sits between transactions and the real wallet. Modes: pass; "down" (503, nothing forwarded);
    "lose_answer" (forwards, so the wallet acts, then answers 503 as if the reply was lost)."""

    target: str
    mode: str = "pass"
    forwarded: int = 0
    server: LocalServer | None = None
    _http: httpx.AsyncClient = field(default_factory=lambda: httpx.AsyncClient(timeout=10.0))

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        if self.mode == "down":
            return Response("wallet down", status_code=503)
        headers = {k: v for k, v in request.headers.items() if k.lower() in ("authorization", "content-type")}
        upstream = await self._http.post(self.target, content=body, headers=headers)
        self.forwarded += 1
        if self.mode == "lose_answer" and b"movementsOf" not in body:
            return Response("lost", status_code=502)
        return Response(upstream.content, status_code=upstream.status_code, media_type="application/json")

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/graphql", self.handle, methods=["POST"])])


class Served(Protocol):
    """A fake with a Starlette app, served as `server` while a test uses it."""

    server: LocalServer | None

    def app(self) -> Starlette: ...


F = TypeVar("F", bound=Served)


@asynccontextmanager
async def serving(fake: F) -> AsyncIterator[F]:
    """`fake` served on a new LocalServer (its `server`) for the block, stopped after it."""
    server = await LocalServer(fake.app()).start()
    fake.server = server
    try:
        yield fake
    finally:
        await server.stop()
