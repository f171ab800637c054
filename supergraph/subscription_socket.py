"""Subscriptions, the client side over WebSocket: one client connection speaking graphql-transport-ws
(connection_init/ack, subscribe/next/error/complete, ping/pong), its deadlines and its operations."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

import orjson
from starlette.types import Receive, Send

from supergraph.errors import StreamError as StreamError  # re-exported
from supergraph.gateway import RequestError
from supergraph.subgraph_stream import EVENTS, OPEN, REFUSED, _errors

if TYPE_CHECKING:
    from supergraph.subscriptions import Subscriptions

log = logging.getLogger("supergraph.subscriptions")


class Socket:
    """One graphql-transport-ws connection: its messages and its operations."""

    def __init__(self, owner: Subscriptions, receive: Receive, send: Send, headers: dict[str, str]) -> None:
        self.owner = owner
        self.settings = owner.settings
        self.receive = receive
        self._send = send
        self.headers = headers
        self.authorization = headers.get("authorization")
        self.acknowledged = False
        self.init_received = False
        self.operations: dict[str, asyncio.Task[None]] = {}
        self._lock = asyncio.Lock()
        self.closed = False
        self.last_activity = time.monotonic()
        self._pending: asyncio.Future[Any] | None = None

    async def send(self, message: dict[str, Any]) -> None:
        async with self._lock:
            if not self.closed:
                await self._send({"type": "websocket.send", "text": orjson.dumps(message).decode()})

    async def close(self, code: int, reason: str) -> None:
        async with self._lock:
            if not self.closed:
                self.closed = True
                with contextlib.suppress(Exception):
                    await self._send({"type": "websocket.close", "code": code, "reason": reason})

    async def _next_message(self) -> dict[str, Any] | None:
        """The next client message; None once the socket is gone, or closed for a timeout: no
        `connection_init` within the init timeout, or no operation and no message for the idle
        timeout (checked twice a second, so an idle period that starts when the last operation ends
        counts too)."""
        if self._pending is None:
            self._pending = asyncio.ensure_future(self.receive())
        while True:
            done, _ = await asyncio.wait({self._pending}, timeout=0.5)
            if done:
                message = self._pending.result()
                self._pending = None
                self.last_activity = time.monotonic()
                return message
            quiet = time.monotonic() - self.last_activity
            if not self.acknowledged and quiet > self.settings.router_subscriptions_init_timeout_s:
                await self.close(4408, "Connection initialisation timeout")
                return None
            idle = self.settings.router_subscriptions_idle_timeout_s
            if self.acknowledged and not self.operations and idle > 0 and quiet > idle:
                REFUSED.labels("idle").inc()
                await self.close(1000, "Idle timeout")
                return None

    async def run(self) -> None:
        try:
            while not self.closed:
                message = await self._next_message()
                if message is None or message["type"] == "websocket.disconnect":
                    return
                if message["type"] != "websocket.receive":
                    continue
                await self.handle(message.get("text") or message.get("bytes") or b"")
        finally:
            self.closed = True
            if self._pending is not None:
                self._pending.cancel()
            tasks = list(self.operations.values())
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def handle(self, raw: str | bytes) -> None:
        try:
            frame = orjson.loads(raw)
        except orjson.JSONDecodeError:
            await self.close(4400, "Invalid message")
            return
        kind = frame.get("type") if isinstance(frame, dict) else None
        if kind == "ping":
            await self.send({"type": "pong"})
        elif kind == "pong":
            return
        elif kind == "connection_init":
            await self._init(frame.get("payload"))
        elif kind == "subscribe":
            await self._subscribe(frame)
        elif kind == "complete":
            task = self.operations.pop(str(frame.get("id")), None)
            if task is not None:
                task.cancel()
        else:
            await self.close(4400, f"Unknown message type: {kind}")

    async def _init(self, payload: Any) -> None:
        if self.init_received:
            await self.close(4429, "Too many initialisation requests")
            return
        self.init_received = True
        if payload is not None and not isinstance(payload, dict):
            await self.close(4400, "Invalid connection init payload")
            return
        token = (payload or {}).get("Authorization", (payload or {}).get("authorization"))
        if isinstance(token, str) and token:
            self.authorization = token
        self.acknowledged = True
        await self.send({"type": "connection_ack"})

    async def _subscribe(self, frame: dict[str, Any]) -> None:
        if not self.acknowledged:
            await self.close(4401, "Unauthorized")
            return
        op_id, payload = frame.get("id"), frame.get("payload")
        if not isinstance(op_id, str) or not op_id or not isinstance(payload, dict):
            await self.close(4400, "Invalid subscribe message")
            return
        if op_id in self.operations:
            await self.close(4409, f"Subscriber for {op_id} already exists")
            return
        limit = self.settings.router_subscriptions_max_per_connection
        if limit > 0 and len(self.operations) >= limit:
            REFUSED.labels("per_connection").inc()
            errors = _errors("Too many operations on this connection", "TOO_MANY_SUBSCRIPTIONS")
            await self.send({"id": op_id, "type": "error", "payload": errors})
            return
        self.operations[op_id] = asyncio.ensure_future(self._operation(op_id, payload))

    async def _operation(self, op_id: str, payload: dict[str, Any]) -> None:
        OPEN.labels("ws").inc()
        try:
            async with aclosing(self.owner.paced(payload, self.headers, self.authorization)) as results:
                async for result in results:
                    EVENTS.labels("ws").inc()
                    await self.send({"id": op_id, "type": "next", "payload": result})
            await self.send({"id": op_id, "type": "complete"})
        except RequestError as exc:
            errors = [{"message": m, "extensions": {"code": exc.code}} for m in exc.messages]
            await self.send({"id": op_id, "type": "error", "payload": errors})
        except StreamError as exc:
            await self.send({"id": op_id, "type": "error", "payload": exc.errors})
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - one operation's fault must not end the connection
            log.exception("subscription failed")
            await self.send({"id": op_id, "type": "error", "payload": _errors("Internal error", "INTERNAL")})
        finally:
            OPEN.labels("ws").dec()
            self.last_activity = time.monotonic()
            if self.operations.get(op_id) is asyncio.current_task():
                del self.operations[op_id]
