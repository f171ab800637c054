"""The FastAPI app every subgraph is: /graphql (+ GraphiQL), /health, /metrics, request ids, logs.

Every subgraph hands in its schema, its deps object and its start/stop hooks; the app migrates the
subgraph's own database before serving, so `python -m subgraphs.<name>.app` is all it takes.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.responses import Response
from strawberry.fastapi import GraphQLRouter

from shared.context import Context
from shared.db import Database
from shared.logs import configure_logging, request_id_var
from shared.metrics import metrics_middleware, metrics_response
from shared.migrations import upgrade_to_head
from shared.security import Authenticator, build_authenticator
from shared.settings import Settings, get_settings

Hook = Callable[[], Awaitable[None]]
access_log = logging.getLogger("sawit.access")


def create_subgraph_app(
    *,
    name: str,
    schema: Any,
    deps: Any,
    database: Database | None,
    migrations_dir: Path | None,
    settings: Settings | None = None,
    authenticator: Authenticator | None = None,
    on_startup: list[Hook] | None = None,
    on_shutdown: list[Hook] | None = None,
    routes: Callable[[FastAPI], None] | None = None,
) -> FastAPI:
    """A subgraph's ASGI app; `deps` reaches resolvers as `info.context.deps`."""
    settings = settings or get_settings()
    auth = authenticator or build_authenticator(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if database is not None and migrations_dir is not None:
            await upgrade_to_head(migrations_dir, database.url)
        for hook in on_startup or []:
            await hook()
        try:
            yield
        finally:
            for hook in on_shutdown or []:
                await hook()
            if database is not None:
                await database.dispose()

    app = FastAPI(title=f"sawit-{name}", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.deps = deps
    app.state.authenticator = auth

    @app.middleware("http")
    async def request_id(request: Request, call_next: Callable[[Request], Awaitable[Response]]):
        rid = (request.headers.get("x-request-id") or uuid.uuid4().hex)[:128]
        token = request_id_var.set(rid)
        started = time.perf_counter()
        try:
            response = await call_next(request)
            if request.url.path != "/health":
                access_log.info(
                    "%s %s %s",
                    request.method,
                    request.url.path,
                    response.status_code,
                    extra={
                        "fields": {
                            "status": response.status_code,
                            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                        }
                    },
                )
        finally:
            request_id_var.reset(token)
        response.headers["x-request-id"] = rid
        return response

    app.middleware("http")(metrics_middleware(name))

    async def get_context(request: Request) -> Context[Any]:
        return Context(
            deps=deps,
            authenticator=auth,
            authorization=request.headers.get("authorization"),
            request_id=request_id_var.get(),
        )

    app.include_router(GraphQLRouter(schema, context_getter=get_context), prefix="/graphql")

    @app.get("/health")
    async def health() -> JSONResponse:
        return JSONResponse({"status": "ok", "service": name})

    @app.get("/metrics")
    async def metrics() -> Response:
        return metrics_response()

    if routes is not None:
        routes(app)
    return app


def serve(name: str, app: FastAPI, settings: Settings | None = None) -> None:
    """Run one subgraph on its DESIGN.md port (overridable by `<NAME>_PORT`)."""
    settings = settings or get_settings()
    configure_logging(name, settings.log_level)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port_of(name),
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
    )
