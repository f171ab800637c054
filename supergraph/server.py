"""The router's HTTP server: `/graphql`, health, readiness, metrics, and optional static files."""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
import uvicorn
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from supergraph import metrics
from supergraph.apq import PersistedQueries, PersistedQueryError
from supergraph.config import RouterSettings
from supergraph.gateway import RequestError
from supergraph.graphiql import GRAPHIQL_HTML
from supergraph.logs import configure_logging, request_id_var
from supergraph.runtime import RouterRuntime

log = logging.getLogger("supergraph.server")


def subgraph_headers(request: Request, forward: frozenset[str]) -> dict[str, str]:
    """What subgraphs receive: the configured client headers, the request id, and X-Forwarded-For
    with the address this router saw appended last (subgraphs that trust the router key their
    per-client limits on that last hop; whatever the client wrote before it is kept, not trusted)."""
    headers = {k: v for k, v in request.headers.items() if k.lower() in forward}
    headers["x-request-id"] = request_id_var.get() or uuid.uuid4().hex
    if request.client is not None:
        previous = request.headers.get("x-forwarded-for")
        peer = request.client.host
        headers["x-forwarded-for"] = f"{previous}, {peer}" if previous else peer
    return headers


class ORJSONResponse(JSONResponse):
    """JSON responses via orjson (fast, and keeps key order)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


class RequestIdMiddleware:
    """Pure ASGI middleware: request id in the log context and response header, one access line.

    (Starlette's `BaseHTTPMiddleware` costs about a millisecond per request; this does not.)
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = ""
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                rid = value.decode("latin-1")[:200]
                break
        rid = rid or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid
        token = request_id_var.set(rid)
        started = time.perf_counter()
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = rid
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if scope.get("path") == "/graphql":
                log.info(
                    "request",
                    extra={
                        "method": scope.get("method"),
                        "path": "/graphql",
                        "status": status,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    },
                )
            request_id_var.reset(token)


def _error(message: str, code: str, status: int) -> ORJSONResponse:
    return ORJSONResponse(
        {"errors": [{"message": message, "extensions": {"code": code}}]}, status_code=status
    )


def create_app(settings: RouterSettings | None = None, runtime: RouterRuntime | None = None) -> FastAPI:
    """Build the FastAPI app; tests pass their own runtime to drive composition directly."""
    settings = settings or RouterSettings()
    runtime = runtime or RouterRuntime(settings)
    apq = PersistedQueries()

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
            await runtime.stop()

    app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.runtime = runtime
    app.state.settings = settings
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["*"],
            expose_headers=["X-Request-ID"],
        )

    app.add_middleware(RequestIdMiddleware)

    async def handle(request: Request, payload: Any, is_get: bool) -> Response:
        started = time.perf_counter()
        try:
            response = await _handle(request, payload, is_get)
        except Exception:  # noqa: BLE001 - never leak a stack trace to clients
            log.exception("request failed")
            response = _error("Internal server error", "INTERNAL", 500)
        metrics.REQUESTS.labels(status=str(response.status_code)).inc()
        metrics.REQUEST_LATENCY.observe(time.perf_counter() - started)
        return response

    async def _handle(request: Request, payload: Any, is_get: bool) -> Response:
        if not isinstance(payload, dict):
            return _error("Request body must be a JSON object", "BAD_REQUEST", 400)
        gateway = runtime.gateway
        if gateway is None:
            detail = f": {runtime.last_error}" if runtime.last_error else ""
            return _error(f"The supergraph is not composed yet{detail}", "SUPERGRAPH_NOT_READY", 503)
        query = payload.get("query")
        if query is not None and not isinstance(query, str):
            return _error("'query' must be a string", "BAD_REQUEST", 400)
        try:
            query = apq.resolve(query, payload.get("extensions"))
        except PersistedQueryError as exc:
            status = 200 if exc.code == "PERSISTED_QUERY_NOT_FOUND" else 400
            return _error(str(exc), exc.code, status)
        if not query:
            return _error("Must provide a query string.", "BAD_REQUEST", 400)
        operation_name = payload.get("operationName") or None
        headers = subgraph_headers(request, settings.forward_headers)
        include_plan = settings.router_debug and request.headers.get("x-debug-query-plan") == "1"
        try:
            if is_get:
                prepared = gateway.prepare(query, operation_name)
                if prepared.operation.operation.value != "query":
                    return _error("Only queries may be sent with GET", "BAD_REQUEST", 405)
            result = await gateway.execute(
                query, operation_name, payload.get("variables"), headers, include_plan
            )
        except RequestError as exc:
            errors = [{"message": m, "extensions": {"code": exc.code}} for m in exc.messages]
            return ORJSONResponse({"errors": errors}, status_code=exc.status)
        return ORJSONResponse(result)

    @app.post("/graphql")
    async def graphql_post(request: Request) -> Response:
        limit = settings.router_max_body_bytes
        declared = request.headers.get("content-length")
        if limit > 0 and declared and declared.isdigit() and int(declared) > limit:
            return _error(f"Request body exceeds {limit} bytes", "BODY_TOO_LARGE", 413)
        body = bytearray()
        async for chunk in request.stream():
            body.extend(chunk)
            if limit > 0 and len(body) > limit:
                return _error(f"Request body exceeds {limit} bytes", "BODY_TOO_LARGE", 413)
        try:
            payload = orjson.loads(bytes(body))
        except orjson.JSONDecodeError:
            return _error("Request body is not valid JSON", "BAD_REQUEST", 400)
        return await handle(request, payload, is_get=False)

    @app.get("/graphql")
    async def graphql_get(request: Request) -> Response:
        params = request.query_params
        accept = request.headers.get("accept", "")
        if "query" not in params and "extensions" not in params and "text/html" in accept:
            return HTMLResponse(GRAPHIQL_HTML)
        payload: dict[str, Any] = {"query": params.get("query"), "operationName": params.get("operationName")}
        for name in ("variables", "extensions"):
            raw = params.get(name)
            if raw:
                try:
                    payload[name] = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    return _error(f"'{name}' is not valid JSON", "BAD_REQUEST", 400)
        return await handle(request, payload, is_get=True)

    @app.get("/health")
    async def health() -> Response:
        return ORJSONResponse({"status": "ok"})

    @app.get("/ready")
    async def ready() -> Response:
        if runtime.gateway is None:
            return ORJSONResponse({"status": "not ready", "error": runtime.last_error}, status_code=503)
        if not await runtime.subgraphs_reachable():
            return ORJSONResponse(
                {"status": "not ready", "error": "a subgraph is unreachable"}, status_code=503
            )
        return ORJSONResponse({"status": "ready"})

    @app.get("/metrics")
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    if settings.router_static_dir:
        app.mount("/", StaticFiles(directory=settings.router_static_dir, html=True), name="static")
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
    app = create_app(settings)
    uvicorn.run(app, host=settings.router_host, port=settings.router_port, log_config=None, access_log=False)


if __name__ == "__main__":
    main()
