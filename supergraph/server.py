"""The router's HTTP server: `/graphql`, health, readiness, metrics, and optional static files."""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qsl

import orjson
import uvicorn
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from opentelemetry.trace import SpanKind
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.clientip import TrustedProxies
from shared.graphiql import ASSETS_PREFIX, GraphiQLAssets
from shared.tracing import extract, setup_tracing, shutdown_tracing, span
from supergraph import metrics
from supergraph.apq import PersistedQueries, PersistedQueryError
from supergraph.config import RouterSettings
from supergraph.defer import CONTENT_TYPE, IncrementalResponse, accepts_multipart
from supergraph.forwarding import headers_for_subgraphs
from supergraph.forwarding import subgraph_headers as subgraph_headers  # re-exported
from supergraph.gateway import RequestError
from supergraph.graphiql import router_page
from supergraph.logs import configure_logging, request_id_var
from supergraph.runtime import RouterRuntime
from supergraph.subscriptions import Subscriptions

log = logging.getLogger("supergraph.server")
JSON = b"application/json"
# What a browser sends cross-site without a CORS preflight (plus no content type at all).
SIMPLE_CONTENT_TYPES = frozenset({"text/plain", "application/x-www-form-urlencoded", "multipart/form-data"})


def _request_id(raw_headers: Iterable[tuple[bytes, bytes]]) -> str:
    for name, value in raw_headers:
        if name == b"x-request-id":
            rid = value.decode("latin-1")[:200]
            if rid:
                return rid
            break
    return uuid.uuid4().hex


def _error_body(message: str, code: str) -> bytes:
    return orjson.dumps({"errors": [{"message": message, "extensions": {"code": code}}]})


class ORJSONResponse(JSONResponse):
    """JSON responses via orjson (fast, and keeps key order)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


class RequestIdMiddleware:
    """Pure ASGI middleware for the non-GraphQL routes: request id in the log context and the
    response header. (Starlette's `BaseHTTPMiddleware` costs about a millisecond per request.)"""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = _request_id(scope.get("headers", ()))
        token = request_id_var.set(rid)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["X-Request-ID"] = rid
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)


class GraphQLEndpoint:
    """`POST` and `GET /graphql` as a pure ASGI app: no framework layer on the hot path.

    One JSON log line per request (at INFO), the request id in the log context, the response
    header and every subgraph request, and the router's request metrics.
    """

    def __init__(self, settings: RouterSettings, runtime: RouterRuntime, page: bytes) -> None:
        self.settings = settings
        self.page = page
        self.trusted = TrustedProxies(settings.router_trusted_proxies)
        self.runtime = runtime
        self.apq = PersistedQueries()
        self.subscriptions = Subscriptions(settings, runtime)
        self._status_counters: dict[int, Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if Subscriptions.wants_event_stream(scope):  # SSE (graphql-sse): supergraph/subscriptions.py
            await self.subscriptions.serve_sse(self, scope, receive, send)
            return
        raw_headers = scope.get("headers", ())
        rid = _request_id(raw_headers)
        token = request_id_var.set(rid)
        started = time.perf_counter()
        status = 500
        server_span = span(
            f"{scope.get('method', '')} /graphql",
            kind=SpanKind.SERVER,
            parent=extract(raw_headers),
            attributes={"sawit.service": "router"},
        )
        # Entered by hand so that the request's log line below is written inside the span.
        server_span.__enter__()
        try:
            try:
                status, body, content_type = await self._respond(scope, receive, raw_headers, rid)
            except Exception:  # noqa: BLE001 - never leak a stack trace to clients
                log.exception("request failed")
                status, body, content_type = 500, _error_body("Internal server error", "INTERNAL"), JSON
            if isinstance(body, IncrementalResponse):  # @defer: multipart/mixed parts (supergraph/defer.py)
                await body.send(send, rid)
                return
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [
                        (b"content-type", content_type),
                        (b"content-length", str(len(body)).encode()),
                        (b"x-request-id", rid.encode("latin-1")),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
        finally:
            elapsed = time.perf_counter() - started
            counter = self._status_counters.get(status)
            if counter is None:
                counter = self._status_counters[status] = metrics.REQUESTS.labels(status=str(status))
            counter.inc()
            metrics.REQUEST_LATENCY.observe(elapsed)
            if log.isEnabledFor(logging.INFO):
                log.info(
                    "request",
                    extra={
                        "method": scope.get("method"),
                        "path": "/graphql",
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 2),
                    },
                )
            request_id_var.reset(token)
            server_span.__exit__(None, None, None)

    def _csrf_refusal(self, raw_headers: Iterable[tuple[bytes, bytes]]) -> tuple[int, bytes, bytes] | None:
        """Apollo Router's CSRF prevention: run an operation only when a browser would have had to ask
        (preflight) before sending it: a content type that is not one of the three "simple" ones, or
        one of the required headers. A cross-site form or `fetch(..., {mode: "no-cors"})` has neither."""
        if not self.settings.router_csrf_prevention:
            return None
        required = self.settings.csrf_required_headers
        content_type = None
        for name, value in raw_headers:
            lowered = name.decode("latin-1").lower()
            if lowered in required:
                return None
            if lowered == "content-type":
                content_type = value.decode("latin-1").split(";", 1)[0].strip().lower()
        if content_type and content_type not in SIMPLE_CONTENT_TYPES:
            return None
        message = (
            "This operation has been blocked as a potential Cross-Site Request Forgery (CSRF). Send it "
            "with Content-Type: application/json, or with one of these headers: "
            + ", ".join(sorted(required))
        )
        return 400, _error_body(message, "CSRF_PREVENTED"), JSON

    async def _respond(
        self, scope: Scope, receive: Receive, raw_headers: Iterable[tuple[bytes, bytes]], rid: str
    ) -> tuple[int, bytes, bytes]:
        method = scope.get("method")
        if method == "POST":
            refused = self._csrf_refusal(raw_headers)
            if refused is not None:
                return refused
            payload_or_error = await self._read_json(receive, raw_headers)
            if isinstance(payload_or_error, tuple):
                return payload_or_error
            return await self._execute(scope, raw_headers, payload_or_error, rid, is_get=False)
        if method == "GET":
            params = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))
            accept = next((v for k, v in raw_headers if k == b"accept"), b"").decode("latin-1")
            if "query" not in params and "extensions" not in params and "text/html" in accept:
                return 200, self.page, b"text/html; charset=utf-8"
            refused = self._csrf_refusal(raw_headers)
            if refused is not None:
                return refused
            payload: dict[str, Any] = {
                "query": params.get("query"),
                "operationName": params.get("operationName"),
            }
            for name in ("variables", "extensions"):
                raw = params.get(name)
                if raw:
                    try:
                        payload[name] = orjson.loads(raw)
                    except orjson.JSONDecodeError:
                        return 400, _error_body(f"'{name}' is not valid JSON", "BAD_REQUEST"), JSON
            return await self._execute(scope, raw_headers, payload, rid, is_get=True)
        return 405, _error_body("Use GET or POST", "METHOD_NOT_ALLOWED"), JSON

    async def _read_json(
        self, receive: Receive, raw_headers: Iterable[tuple[bytes, bytes]]
    ) -> Any | tuple[int, bytes, bytes]:
        limit = self.settings.router_max_body_bytes
        declared = next((v for k, v in raw_headers if k == b"content-length"), None)
        too_large = 413, _error_body(f"Request body exceeds {limit} bytes", "BODY_TOO_LARGE"), JSON
        if limit > 0 and declared is not None and declared.isdigit() and int(declared) > limit:
            return too_large
        message = await receive()
        body = message.get("body", b"")
        if message.get("more_body"):
            chunks = bytearray(body)
            while message.get("more_body"):
                message = await receive()
                chunks.extend(message.get("body", b""))
                if limit > 0 and len(chunks) > limit:
                    return too_large
            body = bytes(chunks)
        if limit > 0 and len(body) > limit:
            return too_large
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            return 400, _error_body("Request body is not valid JSON", "BAD_REQUEST"), JSON

    async def _execute(
        self,
        scope: Scope,
        raw_headers: Iterable[tuple[bytes, bytes]],
        payload: Any,
        rid: str,
        *,
        is_get: bool,
    ) -> tuple[int, bytes, bytes]:
        if not isinstance(payload, dict):
            return 400, _error_body("Request body must be a JSON object", "BAD_REQUEST"), JSON
        gateway = self.runtime.gateway
        if gateway is None:
            error = self.runtime.last_error
            detail = f": {error}" if error else ""
            message = f"The supergraph is not composed yet{detail}"
            return 503, _error_body(message, "SUPERGRAPH_NOT_READY"), JSON
        query = payload.get("query")
        if query is not None and not isinstance(query, str):
            return 400, _error_body("'query' must be a string", "BAD_REQUEST"), JSON
        try:
            query = self.apq.resolve(query, payload.get("extensions"))
        except PersistedQueryError as exc:
            status = 200 if exc.code == "PERSISTED_QUERY_NOT_FOUND" else 400
            return status, _error_body(str(exc), exc.code), JSON
        if not query:
            return 400, _error_body("Must provide a query string.", "BAD_REQUEST"), JSON
        operation_name = payload.get("operationName") or None
        client = scope.get("client")
        headers = headers_for_subgraphs(
            raw_headers, client[0] if client else None, self.settings.forward_headers, rid, self.trusted
        )
        include_plan = self.settings.router_debug and any(
            k == b"x-debug-query-plan" and v == b"1" for k, v in raw_headers
        )
        try:
            if is_get:
                prepared = gateway.prepare(query, operation_name)
                if prepared.operation.operation.value != "query":
                    return 405, _error_body("Only queries may be sent with GET", "BAD_REQUEST"), JSON
            run = gateway.execute_incremental if accepts_multipart(raw_headers) else gateway.execute
            result = await run(query, operation_name, payload.get("variables"), headers, include_plan)
        except RequestError as exc:
            errors = [{"message": m, "extensions": {"code": exc.code}} for m in exc.messages]
            return exc.status, orjson.dumps({"errors": errors}), JSON
        if isinstance(result, IncrementalResponse):
            return 200, result, CONTENT_TYPE  # type: ignore[return-value] # streamed by __call__
        return 200, orjson.dumps(result), JSON


class RouterApp:
    """The router's ASGI app: `/graphql` straight to its endpoint, everything else to FastAPI."""

    def __init__(self, graphql: GraphQLEndpoint, rest: FastAPI) -> None:
        self.graphql = graphql
        self.rest = rest
        self.state = rest.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/graphql":
            await self.graphql(scope, receive, send)
        elif scope["type"] == "websocket" and scope["path"] == "/graphql":  # graphql-transport-ws
            await self.graphql.subscriptions.serve_websocket(scope, receive, send)
        else:
            await self.rest(scope, receive, send)


def create_app(settings: RouterSettings | None = None, runtime: RouterRuntime | None = None) -> ASGIApp:
    """Build the router's ASGI app; tests pass their own runtime to drive composition directly."""
    settings = settings or RouterSettings()
    runtime = runtime or RouterRuntime(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # One bounded attempt before serving, so a ready supergraph is there at the first request;
        # on failure the background loop keeps retrying while /health already answers.
        try:
            await asyncio.wait_for(runtime.refresh(), timeout=5)
        except TimeoutError:
            log.warning("first composition attempt timed out; retrying in the background")
        runtime.start()
        try:
            yield
        finally:
            await endpoint.subscriptions.aclose()  # the subgraph streams' own pooled session
            await runtime.stop()
            shutdown_tracing()

    rest = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    rest.state.runtime = runtime
    rest.state.settings = settings
    rest.add_middleware(RequestIdMiddleware)

    @rest.get("/health")
    async def health() -> Response:
        return ORJSONResponse({"status": "ok"})

    @rest.get("/ready")
    async def ready() -> Response:
        if runtime.gateway is None:
            return ORJSONResponse({"status": "not ready", "error": runtime.last_error}, status_code=503)
        if not await runtime.subgraphs_reachable():
            return ORJSONResponse(
                {"status": "not ready", "error": "a subgraph is unreachable"}, status_code=503
            )
        return ORJSONResponse({"status": "ready"})

    @rest.get("/metrics")
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    graphiql = GraphiQLAssets()
    if graphiql.reason:
        log.warning("GraphiQL: %s", graphiql.reason)
    # before the static mount at "/": Starlette takes the first route that matches
    rest.mount(ASSETS_PREFIX, graphiql.static_app(), name="graphiql")
    if settings.router_static_dir:
        rest.mount("/", StaticFiles(directory=settings.router_static_dir, html=True), name="static")
    endpoint = GraphQLEndpoint(settings, runtime, router_page(graphiql))
    app: ASGIApp = RouterApp(endpoint, rest)
    if settings.cors_origins:
        app = CORSMiddleware(
            app,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["*"],
            expose_headers=["X-Request-ID"],
        )
    return app


def _parse_args(argv: list[str] | None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        prog="sawit-router", description="Federation v2 router (settings also via ROUTER_* env vars)"
    )
    parser.add_argument("--host", dest="ROUTER_HOST")
    parser.add_argument("--port", dest="ROUTER_PORT", type=int)
    parser.add_argument("--config", dest="SUPERGRAPH_CONFIG", help="Rover supergraph.yaml")
    parser.add_argument("--supergraph", dest="SUPERGRAPH_SDL_FILE", help="a composed supergraph SDL file")
    parser.add_argument("--poll-interval", dest="ROUTER_POLL_INTERVAL_S", type=float)
    parser.add_argument("--debug", dest="ROUTER_DEBUG", action="store_const", const=True)
    parser.add_argument("--static-dir", dest="ROUTER_STATIC_DIR")
    args = parser.parse_args(argv)
    return {k: v for k, v in vars(args).items() if v is not None}


def main(argv: list[str] | None = None) -> None:
    """Console script `sawit-router`: serve until interrupted."""
    settings = RouterSettings(**_parse_args(argv))
    configure_logging(logging.getLevelName(settings.log_level.upper()))
    setup_tracing("router")
    app = create_app(settings)
    uvicorn.run(
        app,
        host=settings.router_host,
        port=settings.router_port,
        log_config=None,
        access_log=False,
        loop="uvloop",
        http="httptools",
        proxy_headers=False,
    )


if __name__ == "__main__":
    main()
