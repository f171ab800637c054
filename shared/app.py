"""The FastAPI app every subgraph is: /graphql (+ GraphiQL, shared.graphiql), /health, /metrics, request
ids, logs.

Every subgraph hands in its schema, its deps object and its start/stop hooks; the app migrates the
subgraph's own database before serving, so `python -m subgraphs.<name>.app` is all it takes.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from opentelemetry.trace import SpanKind, StatusCode
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.asgi import GraphQL

from shared.clientip import TrustedProxies, client_of_request
from shared.context import Context
from shared.db import Database
from shared.graphiql import ASSETS_PREFIX, GraphiQLAssets
from shared.guard import SubgraphGuard
from shared.logs import configure_logging, request_id_var
from shared.metrics import LATENCY, REQUESTS, metrics_response
from shared.migrations import upgrade_to_head
from shared.router_auth import RouterCheck
from shared.security import Authenticator, build_authenticator
from shared.settings import Settings, get_settings
from shared.tracing import extract, setup_tracing, shutdown_tracing, span

Hook = Callable[[], Awaitable[None]]
# Probes, not requests: no span for them.
UNTRACED_PATHS = frozenset({"/health", "/metrics"})
access_log = logging.getLogger("sawit.access")


class RequestContext:
    """Pure ASGI middleware: the request id (from X-Request-ID or new) in the log context and the
    response, one access log line and the HTTP metrics per request. Starlette's `BaseHTTPMiddleware`
    (what `@app.middleware("http")` builds) costs about a millisecond per request; this does not."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service
        self._children: dict[tuple[str, int], tuple[Any, Any]] = {}

    def _metrics(self, path: str, status: int) -> tuple[Any, Any]:
        key = (path, status)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = (
                REQUESTS.labels(self.service, path, str(status)),
                LATENCY.labels(self.service, path),
            )
        return found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = ""
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                rid = value.decode("latin-1")[:128]
                break
        rid = rid or uuid.uuid4().hex
        token = request_id_var.set(rid)
        started = time.perf_counter()
        status = 500
        header = (b"x-request-id", rid.encode("latin-1"))

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        method = scope.get("method", "")
        path = scope.get("path", "")
        traced = (
            nullcontext()
            if path in UNTRACED_PATHS
            else span(
                f"{method} {path}",
                kind=SpanKind.SERVER,
                parent=extract(scope.get("headers", ())),
                attributes={"sawit.service": self.service, "http.request.method": method},
            )
        )
        with traced as server_span:
            try:
                await self.app(scope, receive, send_with_id)
                if server_span is not None and status >= 500:
                    server_span.set_status(StatusCode.ERROR)
            finally:
                elapsed = time.perf_counter() - started
                path = scope.get("path", "")
                label = path if path in ("/graphql", "/health") else "other"
                requests, latency = self._metrics(label, status)
                requests.inc()
                latency.observe(elapsed)
                if path != "/health" and access_log.isEnabledFor(logging.INFO):
                    access_log.info(
                        "%s %s %s",
                        scope.get("method"),
                        path,
                        status,
                        extra={"fields": {"status": status, "duration_ms": round(elapsed * 1000, 2)}},
                    )
                request_id_var.reset(token)


def subgraph_note(settings: Settings) -> str:
    """What a subgraph's GraphiQL page says about introspection, which the guard keeps for the router."""
    if settings.subgraph_federation_auth.strip().lower() == "off":
        return "SUBGRAPH_FEDERATION_AUTH=off: introspection and _entities answer without the credential"
    return (
        "This subgraph answers introspection (the docs, the explorer, autocompletion) and _entities only "
        "with the router's credential: paste the output of `sawit-router-token --json` into Token (or the "
        "headers), or run the subgraph with SUBGRAPH_FEDERATION_AUTH=off. Clients normally use the router."
    )


class SubgraphGraphQL(GraphQL):
    """Strawberry's plain ASGI GraphQL app with our per-request Context, and our GraphiQL page in a
    browser instead of Strawberry's (which loads GraphiQL from a CDN, so offline it never loads)."""

    def __init__(
        self,
        schema: Any,
        deps: Any,
        authenticator: Authenticator,
        settings: Settings,
        graphiql_page: str,
    ) -> None:
        super().__init__(schema)
        self.graphiql_page = graphiql_page  # built once by SubgraphSpec.app, not per request
        self.deps = deps
        self.authenticator = authenticator
        trusted = TrustedProxies(settings.trusted_proxies)
        router_check = RouterCheck(authenticator, settings.router_shared_secret)

        async def client_rule(request: Any) -> str | None:
            return await client_of_request(request, trusted, router_check.carried_by)

        self.client_rule = client_rule

    async def render_graphql_ide(self, request: Request) -> Response:
        """Strawberry calls this for a browser's GET without `query` (Accept: text/html or */*)."""
        return HTMLResponse(self.graphiql_page)

    async def get_context(self, request: Any, response: Any) -> Context[Any]:
        """Over a WebSocket the `connection_init` payload may carry the token instead (Context)."""
        return Context(
            deps=self.deps,
            authenticator=self.authenticator,
            authorization=request.headers.get("authorization"),
            request_id=request_id_var.get(),
            request=request,
            response=response,
            client_rule=self.client_rule,
        )


class SubgraphApp(FastAPI):
    """A FastAPI app whose `/graphql` skips the framework: straight to Strawberry's ASGI app.

    Every other route (health, metrics, a subgraph's own extras) goes through FastAPI as usual.
    """

    graphql_endpoint: ASGIApp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and scope["path"] == "/graphql":  # ws: subscriptions
            await self.graphql_endpoint(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


@dataclass(frozen=True)
class SubgraphSpec:
    """What a subgraph's app.py states about itself once (name, schema, migrations), so that its
    database, its app and its `main()` come out the same way for every subgraph."""

    name: str
    schema: Any
    migrations_dir: Path

    def database(self, settings: Settings) -> Database:
        """The subgraph's own database (`<NAME>_DATABASE_URL`, else `DATABASE_URL`, else SQLite)."""
        return Database.for_subgraph(self.name, settings)

    def app(
        self,
        settings: Settings,
        database: Database,
        deps: Any,
        *,
        on_startup: list[Hook] | None = None,
        on_shutdown: list[Hook] | None = None,
        routes: Callable[[FastAPI], None] | None = None,
    ) -> FastAPI:
        """The subgraph's ASGI app: its database migrated at start, `deps` to resolvers as
        `info.context.deps`."""
        name = self.name
        auth = build_authenticator(settings)

        @asynccontextmanager
        async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
            await upgrade_to_head(self.migrations_dir, database.url)
            for hook in on_startup or []:
                await hook()
            try:
                yield
            finally:
                for hook in on_shutdown or []:
                    await hook()
                await database.dispose()
                shutdown_tracing()

        app = SubgraphApp(title=f"sawit-{name}", lifespan=lifespan, docs_url=None, redoc_url=None)
        app.state.deps = deps
        app.state.authenticator = auth
        graphiql = GraphiQLAssets()
        page = graphiql.page(title=f"Dompet Digital Sawit: {name} subgraph", note=subgraph_note(settings))
        app.graphql_endpoint = RequestContext(
            SubgraphGuard(SubgraphGraphQL(self.schema, deps, auth, settings, page), settings, auth), name
        )
        app.add_middleware(RequestContext, service=name)
        app.mount(ASSETS_PREFIX, graphiql.static_app(), name="graphiql")

        @app.get("/health")
        async def health() -> JSONResponse:
            return JSONResponse({"status": "ok", "service": name})

        @app.get("/metrics")
        async def metrics() -> Response:
            return metrics_response()

        if routes is not None:
            routes(app)
        return app

    def main(self, create_app: Callable[[Settings], FastAPI]) -> None:
        """`python -m subgraphs.<name>.app`: the app of the process-wide settings, on its port
        (README: "Processes and ports"; overridable by `<NAME>_PORT`)."""
        settings = get_settings()
        app = create_app(settings)
        configure_logging(self.name, settings.log_level)
        setup_tracing(self.name)
        uvicorn.run(
            app,
            host=settings.host,
            port=settings.port_of(self.name),
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=10,
            loop="uvloop",
            http="httptools",
            proxy_headers=False,
        )
