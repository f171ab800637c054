"""Prometheus metrics shared by every process; defined once per process, labelled by service."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response

REQUESTS = Counter("sawit_http_requests_total", "HTTP requests served", ["service", "path", "status"])
LATENCY = Histogram("sawit_http_request_duration_seconds", "HTTP request latency", ["service", "path"])
SAGA_OUTCOMES = Counter("sawit_saga_outcomes_total", "Finished payment sagas", ["type", "status"])
OUTBOX_BACKLOG = Gauge("sawit_outbox_backlog", "Outbox messages not yet delivered", ["state"])


def metrics_response() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def metrics_middleware(
    service: str,
) -> Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]:
    async def middleware(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        path = request.url.path if request.url.path in ("/graphql", "/health") else "other"
        REQUESTS.labels(service, path, str(response.status_code)).inc()
        LATENCY.labels(service, path).observe(time.perf_counter() - started)
        return response

    return middleware
