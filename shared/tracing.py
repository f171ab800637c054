"""OpenTelemetry tracing for every process: W3C trace context in and out, OTLP export when asked.

Export happens only when the standard `OTEL_EXPORTER_OTLP_ENDPOINT` (or `..._TRACES_ENDPOINT`) is
set and `OTEL_SDK_DISABLED` is not `true`; the exporter itself reads the other standard variables
(headers, timeout, `OTEL_BSP_*` batching). Otherwise the OpenTelemetry API's no-op tracer runs:
spans cost a few attribute-free calls, and an incoming `traceparent` is still carried forward (to
the next hop and into the log lines), so one trace id follows a request even with nothing exported.

`span(...)` is the one way code opens a span; `inject(headers)` adds `traceparent`/`tracestate` to
an outgoing request; `extract(headers)` turns an incoming request's into a parent context;
`current_ids()` gives the log formatter the trace and span id of the running span.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from contextlib import AbstractContextManager
from typing import Any, ParamSpec, TypeVar

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind

log = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")

_TRACER = trace.get_tracer("dompet-sawit")
_configured: str | None = None


def exporting() -> bool:
    """Whether this process exports spans (the standard variables say so)."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    return bool(
        os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    )


def setup_tracing(service: str) -> None:
    """Install the SDK with an OTLP/HTTP exporter when `exporting()`; once per process."""
    global _configured
    if _configured is not None or not exporting():
        return
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    name = os.environ.get("OTEL_SERVICE_NAME") or f"sawit-{service}"
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _configured = name
    log.info("tracing: exporting spans of %s over OTLP", name)


def shutdown_tracing() -> None:
    """Flush what is queued (at process stop)."""
    provider = trace.get_tracer_provider()
    shutdown = getattr(provider, "shutdown", None)
    if callable(shutdown):
        shutdown()


def _as_text_headers(headers: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value in headers:
        if name in (b"traceparent", b"tracestate"):
            found[name.decode("latin-1")] = value.decode("latin-1")
    return found


def extract(raw_headers: Iterable[tuple[bytes, bytes]]) -> otel_context.Context | None:
    """The parent context of an incoming ASGI request, or None when it carries none."""
    carrier = _as_text_headers(raw_headers)
    if "traceparent" not in carrier:
        return None
    return propagate.extract(carrier)


def extract_from(carrier: Mapping[str, str]) -> otel_context.Context | None:
    """The parent context stored with a message (e.g. an outbox row's `traceparent`)."""
    if not carrier.get("traceparent"):
        return None
    return propagate.extract(dict(carrier))


def inject(headers: MutableMapping[str, str]) -> MutableMapping[str, str]:
    """Add the running span's `traceparent` (and `tracestate`) to outgoing headers."""
    propagate.inject(headers)
    return headers


class _Attached:
    """Tracing off: make `parent` (an incoming trace) the current context, and open nothing."""

    __slots__ = ("parent", "token")

    def __init__(self, parent: otel_context.Context | None) -> None:
        self.parent = parent
        self.token: object | None = None

    def __enter__(self) -> Span:
        if self.parent is not None:
            self.token = otel_context.attach(self.parent)
        return trace.get_current_span()

    def __exit__(self, *_exc: object) -> None:
        if self.token is not None:
            otel_context.detach(self.token)  # type: ignore[arg-type]


def span(
    name: str,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    parent: otel_context.Context | None = None,
    attributes: Mapping[str, Any] | None = None,
) -> AbstractContextManager[Span]:
    """A span around a block (the current span inside it); errors are recorded on it.

    With nothing exported, no span is created at all (a no-op span still costs ~9 us here); an
    incoming trace context is attached, so the next hop and the log lines still carry its ids."""
    if _configured is None:
        return _Attached(parent)
    return _TRACER.start_as_current_span(name, context=parent, kind=kind, attributes=attributes)


def current_ids() -> tuple[str, str] | None:
    """(trace id, span id) in hex of the running span, also when it is only propagated."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


def traced(name: str) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """Decorate an async function so each call is one span named `name` (e.g. a saga step)."""

    def decorate(function: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        @functools.wraps(function)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            with span(name):
                return await function(*args, **kwargs)

        return wrapper

    return decorate
