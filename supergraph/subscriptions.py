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
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import aclosing
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import aiohttp
import orjson
from graphql import OperationType
from starlette.types import Receive, Scope, Send

from shared.asgi import send_json
from shared.clientip import TrustedProxies, client_from
from supergraph.config import RouterSettings
from supergraph.errors import StreamError as StreamError  # re-exported
from supergraph.executor import ExecutionState
from supergraph.gateway import Gateway, RequestError, planning_failed
from supergraph.logs import request_id_var
from supergraph.plan import PlanningError
from supergraph.runtime import RouterRuntime
from supergraph.subgraph_stream import (
    EVENTS,
    OPEN,
    PROTOCOL,
    REFUSED,
    ClientSlots,
    Pace,
    _errors,
    subgraph_stream,
)
from supergraph.subscription_socket import Socket

if TYPE_CHECKING:
    from supergraph.server import GraphQLEndpoint

log = logging.getLogger("supergraph.subscriptions")


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
            raise planning_failed(exc) from exc
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
                state = ExecutionState(variables, headers)
                gateway.executor.merge_root(root, event, state)
                await gateway.executor.execute_after_root(plan, root, state)
                yield gateway.respond(prepared, state, None)

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
                await Socket(self, receive, send, headers).run()
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
                await send_json(send, *payload)
                return
            try:
                self.prepare(payload.get("query"), payload.get("operationName"))
            except RequestError as exc:
                body = {"errors": [{"message": m, "extensions": {"code": exc.code}} for m in exc.messages]}
                await send_json(send, exc.status, orjson.dumps(body))
                return
            client, headers = self._client(scope)
            if not self.slots.acquire(client):
                REFUSED.labels("per_client").inc()
                body = {
                    "errors": _errors("Too many subscriptions from this client", "TOO_MANY_SUBSCRIPTIONS")
                }
                await send_json(send, 429, orjson.dumps(body))
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
