"""Prometheus metrics shared by every process; defined once per process, labelled by service."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.responses import Response

REQUESTS = Counter("sawit_http_requests_total", "HTTP requests served", ["service", "path", "status"])
LATENCY = Histogram("sawit_http_request_duration_seconds", "HTTP request latency", ["service", "path"])
SAGA_OUTCOMES = Counter("sawit_saga_outcomes_total", "Finished payment sagas", ["type", "status"])
OUTBOX_BACKLOG = Gauge("sawit_outbox_backlog", "Outbox messages not yet delivered", ["state"])
OUTBOX_OVERDUE = Gauge(
    "sawit_outbox_overdue", "Outbox messages still undelivered OUTBOX_OVERDUE_S after written", ["kind"]
)


def metrics_response() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
