"""Federated subscriptions: graphql-transport-ws and SSE at `/graphql`, the root field's subgraph over
a WebSocket, and every other field of each event through the normal plan (`_entities`).

A subscription is planned as a query (`build_plan`); its root fetch group is not sent as a request
but opened as a graphql-transport-ws stream to its subgraph (the router's credential headers and
the client's Authorization on the handshake, the Authorization also in `connection_init`). Each
`next` the subgraph sends is merged as that root fetch's answer would be (`Executor.merge_root`),
the plan's remaining fetches run for it (`Executor.execute_after_root`), and the shaped response
goes to the client. When the client leaves (socket closed, SSE disconnect, `complete`) or the
subscription ends for a bound, the subgraph stream is closed with it: nothing outlives its client.

Bounds (supergraph/README.md): open connections per client address (WebSocket connections and SSE
streams together), operations per WebSocket, events per second per subscription (paced, not
dropped: the router stops reading the subgraph's stream until the client may have more), an idle
timeout (a subscription without an event for that long is completed; a socket without an operation
for that long is closed), and a `connection_init` deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import aclosing
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import aiohttp
import orjson
from graphql import OperationType
from prometheus_client import Counter, Gauge
from starlette.types import Receive, Scope, Send

from shared.clientip import TrustedProxies, client_from
from supergraph.config import RouterSettings
from supergraph.errors import StreamError as StreamError  # re-exported
from supergraph.executor import ExecutionState
from supergraph.gateway import Gateway, RequestError
from supergraph.logs import request_id_var
from supergraph.plan import PlanningError
from supergraph.response import shape_response
from supergraph.runtime import RouterRuntime

if TYPE_CHECKING:
    from supergraph.server import GraphQLEndpoint

log = logging.getLogger("supergraph.subscriptions")

PROTOCOL = "graphql-transport-ws"
OPEN = Gauge("router_subscriptions_open", "Client subscriptions being served", ["protocol"])
SUBGRAPH_STREAMS = Gauge(
    "router_subgraph_streams_open", "Subscription streams open to subgraphs", ["subgraph"]
)
EVENTS = Counter("router_subscription_events_total", "Subscription events sent to clients", ["protocol"])
REFUSED = Counter("router_subscriptions_refused_total", "Subscriptions or connections refused", ["reason"])
MAX_FRAME_BYTES = 1_000_000


def _errors(message: str, code: str, **extensions: Any) -> list[dict[str, Any]]:
    return [{"message": message, "extensions": {"code": code, **extensions}}]


class ClientSlots:
    """Open subscription connections per client address (ROUTER_SUBSCRIPTIONS_MAX_PER_CLIENT)."""

    def __init__(self, max_per_client: int) -> None:
        self.max_per_client = max_per_client
        self._open: dict[str, int] = {}

    def acquire(self, client: str) -> bool:
        count = self._open.get(client, 0)
        if self.max_per_client > 0 and count >= self.max_per_client:
            return False
        self._open[client] = count + 1
        return True

    def release(self, client: str) -> None:
        count = self._open.get(client, 0) - 1
        if count > 0:
            self._open[client] = count
        else:
            self._open.pop(client, None)


class Pace:
    """A token bucket (rate per second, burst of one second's worth): `wait()` before each event."""

    def __init__(self, per_s: float) -> None:
        self.per_s = per_s
        self.tokens = max(1.0, per_s)
        self.stamp = time.monotonic()

    async def wait(self) -> None:
        if self.per_s <= 0:
            return
        now = time.monotonic()
        self.tokens = min(max(1.0, self.per_s), self.tokens + (now - self.stamp) * self.per_s)
        self.stamp = now
        if self.tokens < 1.0:
            await asyncio.sleep((1.0 - self.tokens) / self.per_s)
            self.stamp = time.monotonic()
            self.tokens = 1.0
        self.tokens -= 1.0


def _ws_url(url: str) -> str:
    if url.startswith("https://"):
        return "wss://" + url[len("https://") :]
    if url.startswith("http://"):
        return "ws://" + url[len("http://") :]
    return url


async def subgraph_stream(
    session: aiohttp.ClientSession,
    subgraph: str,
    url: str,
    query: str,
    variables: Mapping[str, Any],
    headers: Mapping[str, str],
    init_payload: Mapping[str, Any],
    init_timeout_s: float,
) -> AsyncIterator[dict[str, Any]]:
    """One graphql-transport-ws subscription to a subgraph: its `next` payloads; StreamError for its
    `error`, for a refused handshake or a socket closed without `complete`. Closing the generator
    sends `complete` and closes the socket."""
    unavailable = _errors(
        f"subgraph '{subgraph}' is unreachable", "SUBGRAPH_UNAVAILABLE", serviceName=subgraph
    )
    try:
        ws = await session.ws_connect(
            _ws_url(url),
            protocols=(PROTOCOL,),
            headers=dict(headers),
            timeout=aiohttp.ClientWSTimeout(ws_close=2.0),
            max_msg_size=MAX_FRAME_BYTES,
            autoping=True,
        )
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise StreamError(unavailable) from exc
    SUBGRAPH_STREAMS.labels(subgraph).inc()
    completed = False
    try:
        await ws.send_str(orjson.dumps({"type": "connection_init", "payload": dict(init_payload)}).decode())
        deadline = time.monotonic() + init_timeout_s
        while True:
            message = await ws.receive(timeout=max(0.1, deadline - time.monotonic()))
            if message.type != aiohttp.WSMsgType.TEXT:
                raise StreamError(unavailable)
            frame = orjson.loads(message.data)
            if frame.get("type") == "connection_ack":
                break
            if frame.get("type") == "ping":
                await ws.send_str('{"type":"pong"}')
        body: dict[str, Any] = {"query": query}
        if variables:
            body["variables"] = dict(variables)
        await ws.send_str(orjson.dumps({"id": "1", "type": "subscribe", "payload": body}).decode())
        async for message in ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            frame = orjson.loads(message.data)
            kind = frame.get("type")
            if kind == "next" and isinstance(frame.get("payload"), dict):
                yield frame["payload"]
            elif kind == "error":
                completed = True
                payload = frame.get("payload")
                raise StreamError(payload if isinstance(payload, list) and payload else unavailable)
            elif kind == "complete":
                completed = True
                return
            elif kind == "ping":
                await ws.send_str('{"type":"pong"}')
        raise StreamError(unavailable)
    except (aiohttp.ClientError, TimeoutError, orjson.JSONDecodeError) as exc:
        raise StreamError(unavailable) from exc
    finally:
        SUBGRAPH_STREAMS.labels(subgraph).dec()
        with contextlib.suppress(Exception):
            if not completed and not ws.closed:
                await ws.send_str('{"id":"1","type":"complete"}')
            await ws.close()


class Subscriptions:
    """Serves subscriptions (and any other operation sent over these transports) for the router."""

    def __init__(self, settings: RouterSettings, runtime: RouterRuntime) -> None:
        self.settings = settings
        self.runtime = runtime
        self.trusted = TrustedProxies(settings.router_trusted_proxies)
        self.slots = ClientSlots(settings.router_subscriptions_max_per_client)
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        """A session of its own: no total timeout (a stream lives as long as its client)."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(
                    total=None, sock_connect=self.settings.router_subgraph_timeout_s
                ),
                skip_auto_headers=("User-Agent",),
            )
        return self._session

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()

    # ---- the operation, whatever the transport ---------------------------------------------------

    def _gateway(self) -> Gateway:
        gateway = self.runtime.gateway
        if gateway is None:
            raise RequestError("The supergraph is not composed yet", "SUPERGRAPH_NOT_READY", 503)
        return gateway

    def prepare(self, query: Any, operation_name: Any) -> bool:
        """Validate before a stream opens (RequestError); True for a subscription."""
        if not isinstance(query, str) or not query:
            raise RequestError("Must provide a query string.", "BAD_REQUEST")
        name = operation_name if isinstance(operation_name, str) and operation_name else None
        prepared = self._gateway().prepare(query, name)
        return prepared.operation.operation == OperationType.SUBSCRIPTION

    async def results(
        self, payload: Mapping[str, Any], headers: Mapping[str, str], authorization: str | None
    ) -> AsyncIterator[dict[str, Any]]:
        """The responses of one operation: one for a query or mutation, one per event for a
        subscription. RequestError before anything is sent; StreamError when a stream fails."""
        gateway = self._gateway()
        query = payload.get("query")
        name = payload.get("operationName") or None
        if authorization:
            headers = {**headers, "authorization": authorization}
        if not self.prepare(query, name):
            yield await gateway.execute(query, name, payload.get("variables"), headers)  # type: ignore[arg-type]
            return
        prepared = gateway.prepare(query, name)  # type: ignore[arg-type]
        variables = gateway.coerce_variables(prepared, payload.get("variables"))
        try:
            plan = gateway.plan_for(prepared, variables)
        except PlanningError as exc:
            raise RequestError(f"Query planning failed: {exc}", "QUERY_PLANNING_FAILED", 200) from exc
        roots = [g for g in plan.phases[0] if not g.is_entity and g.operation_kind == "subscription"]
        if len(roots) != 1:
            raise RequestError("A subscription selects exactly one root field", "GRAPHQL_VALIDATION_FAILED")
        root = roots[0]
        graph = gateway.supergraph.graphs[root.graph]
        sent = {**headers, **gateway.executor.clients.router_headers()}
        init = {"Authorization": authorization} if authorization else {}
        stream = subgraph_stream(
            self.session(),
            graph.name,
            graph.url,
            root.query_text,
            {k: variables[k] for k in root.variables if k in variables},
            sent,
            init,
            self.settings.router_subscriptions_init_timeout_s,
        )
        async with aclosing(stream) as events:
            async for event in events:
                state = ExecutionState()
                gateway.executor.merge_root(root, event, state)
                await gateway.executor.execute_after_root(plan, root, state, variables, headers)
                data = shape_response(
                    gateway.supergraph.api_schema,
                    prepared.operation,
                    prepared.fragments,
                    variables,
                    state.data,
                    state.errors,
                    None,
                )
                yield {"errors": state.errors, "data": data} if state.errors else {"data": data}

    async def paced(
        self, payload: Mapping[str, Any], headers: Mapping[str, str], authorization: str | None
    ) -> AsyncIterator[dict[str, Any]]:
        """`results` within the per-subscription bounds: events per second, idle timeout."""
        pace = Pace(self.settings.router_subscriptions_events_per_s)
        idle = self.settings.router_subscriptions_idle_timeout_s
        async with aclosing(self.results(payload, headers, authorization)) as results:
            while True:
                try:
                    result = await asyncio.wait_for(anext(results), idle if idle > 0 else None)
                except StopAsyncIteration:
                    return
                except TimeoutError:
                    log.info("subscription idle for %ss: completed", idle)
                    REFUSED.labels("idle").inc()
                    return
                await pace.wait()
                yield result

    def _client(self, scope: Scope) -> tuple[str, dict[str, str]]:
        """The client address (shared.clientip) and the headers subgraphs get (server.py's rule)."""
        from supergraph.forwarding import headers_for_subgraphs

        raw = scope.get("headers", ())
        peer = scope.get("client")
        headers = headers_for_subgraphs(
            raw,
            peer[0] if peer else None,
            self.settings.forward_headers,
            request_id_var.get() or uuid.uuid4().hex,
            self.trusted,
        )
        forwarded = next((v.decode("latin-1") for k, v in raw if k == b"x-forwarded-for"), None)
        client = client_from(peer[0] if peer else None, forwarded, self.trusted) or "unknown"
        return client, headers

    # ---- graphql-transport-ws --------------------------------------------------------------------

    async def serve_websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The graphql-transport-ws server (github.com/enisdenjo/graphql-ws PROTOCOL.md)."""
        first = await receive()
        if first["type"] != "websocket.connect":
            return
        token = request_id_var.set(uuid.uuid4().hex)
        try:
            if PROTOCOL not in (scope.get("subprotocols") or ()):
                await send({"type": "websocket.accept"})
                await send({"type": "websocket.close", "code": 4406, "reason": "Subprotocol not acceptable"})
                return
            client, headers = self._client(scope)
            if not self.slots.acquire(client):
                REFUSED.labels("per_client").inc()
                await send({"type": "websocket.accept", "subprotocol": PROTOCOL})
                await send({"type": "websocket.close", "code": 1013, "reason": "Too many subscriptions"})
                return
            try:
                await send({"type": "websocket.accept", "subprotocol": PROTOCOL})
                await _Socket(self, receive, send, headers).run()
            finally:
                self.slots.release(client)
        finally:
            request_id_var.reset(token)

    # ---- SSE (graphql-sse, distinct connections mode) ---------------------------------------------

    @staticmethod
    def wants_event_stream(scope: Scope) -> bool:
        accept = next((v for k, v in scope.get("headers", ()) if k == b"accept"), b"")
        return scope.get("method") in ("GET", "POST") and b"text/event-stream" in accept

    async def serve_sse(self, endpoint: GraphQLEndpoint, scope: Scope, receive: Receive, send: Send) -> None:
        """`event: next` per result, then `event: complete`; the stream ends when the client leaves."""
        raw_headers = scope.get("headers", ())
        rid = next((v.decode("latin-1")[:200] for k, v in raw_headers if k == b"x-request-id"), "")
        token = request_id_var.set(rid or uuid.uuid4().hex)
        try:
            payload = await self._sse_payload(endpoint, scope, receive, raw_headers)
            if isinstance(payload, tuple):
                await _respond(send, *payload)
                return
            try:
                self.prepare(payload.get("query"), payload.get("operationName"))
            except RequestError as exc:
                body = {"errors": [{"message": m, "extensions": {"code": exc.code}} for m in exc.messages]}
                await _respond(send, exc.status, orjson.dumps(body))
                return
            client, headers = self._client(scope)
            if not self.slots.acquire(client):
                REFUSED.labels("per_client").inc()
                body = {
                    "errors": _errors("Too many subscriptions from this client", "TOO_MANY_SUBSCRIPTIONS")
                }
                await _respond(send, 429, orjson.dumps(body))
                return
            try:
                await self._stream_sse(payload, headers, receive, send)
            finally:
                self.slots.release(client)
        finally:
            request_id_var.reset(token)

    async def _sse_payload(
        self,
        endpoint: GraphQLEndpoint,
        scope: Scope,
        receive: Receive,
        raw_headers: Iterable[tuple[bytes, bytes]],
    ) -> dict[str, Any] | tuple[int, bytes]:
        refused = endpoint._csrf_refusal(raw_headers)  # noqa: SLF001 - the same rule as every request
        if refused is not None:
            return refused[0], refused[1]
        if scope.get("method") == "POST":
            read = await endpoint._read_json(receive, raw_headers)  # noqa: SLF001
            if isinstance(read, tuple):
                return read[0], read[1]
            if not isinstance(read, dict):
                return 400, orjson.dumps(
                    {"errors": _errors("Request body must be a JSON object", "BAD_REQUEST")}
                )
            return read
        params = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))
        payload: dict[str, Any] = {"query": params.get("query"), "operationName": params.get("operationName")}
        if params.get("variables"):
            try:
                payload["variables"] = orjson.loads(params["variables"])
            except orjson.JSONDecodeError:
                return 400, orjson.dumps({"errors": _errors("'variables' is not valid JSON", "BAD_REQUEST")})
        return payload

    async def _stream_sse(
        self, payload: Mapping[str, Any], headers: Mapping[str, str], receive: Receive, send: Send
    ) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/event-stream; charset=utf-8"),
                    (b"cache-control", b"no-cache"),
                    (b"x-accel-buffering", b"no"),
                    (b"x-request-id", request_id_var.get().encode("latin-1")),
                ],
            }
        )
        lock = asyncio.Lock()

        async def emit(chunk: bytes) -> None:
            async with lock:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})

        async def produce() -> None:
            OPEN.labels("sse").inc()
            try:
                async with aclosing(self.paced(payload, headers, None)) as results:
                    async for result in results:
                        EVENTS.labels("sse").inc()
                        await emit(b"event: next\ndata: " + orjson.dumps(result) + b"\n\n")
            except (RequestError, StreamError) as exc:
                errors = (
                    exc.errors
                    if isinstance(exc, StreamError)
                    else [{"message": m, "extensions": {"code": exc.code}} for m in exc.messages]
                )
                await emit(b"event: next\ndata: " + orjson.dumps({"errors": errors}) + b"\n\n")
            finally:
                OPEN.labels("sse").dec()
            await emit(b"event: complete\ndata:\n\n")

        async def keepalive() -> None:
            while True:
                await asyncio.sleep(self.settings.router_subscriptions_keepalive_s)
                await emit(b":\n\n")

        async def disconnected() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass

        tasks = [asyncio.ensure_future(coro) for coro in (produce(), disconnected(), keepalive())]
        try:
            await asyncio.wait(tasks[:2], return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await send({"type": "http.response.body", "body": b"", "more_body": False})


class _Socket:
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


async def _respond(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
