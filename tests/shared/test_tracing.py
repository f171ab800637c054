"""Tracing off (no OTLP endpoint): no span is made, but an incoming trace still flows on and into logs."""

from __future__ import annotations

import json
import logging

import pytest

from shared.logs import JsonFormatter
from shared.tracing import current_ids, exporting, extract, inject, span

TRACE = "0af7651916cd43dd8448eb211c80319c"
PARENT = "b7ad6b7169203331"
HEADERS = [(b"traceparent", f"00-{TRACE}-{PARENT}-01".encode())]


def test_without_an_endpoint_nothing_is_exported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    assert not exporting()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    assert exporting()
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    assert not exporting()


def test_an_incoming_trace_is_carried_to_the_next_hop_and_into_log_lines() -> None:
    assert current_ids() is None
    with span("request", parent=extract(HEADERS)), span("inner"):
        assert current_ids() == (TRACE, PARENT)
        sent = inject({})
        record = logging.LogRecord("t", logging.INFO, __file__, 1, "hello", (), None)
        line = json.loads(JsonFormatter("test").format(record))
    assert sent["traceparent"].split("-")[1] == TRACE
    assert (line["trace_id"], line["span_id"]) == (TRACE, PARENT)
    assert current_ids() is None


def test_a_request_without_trace_context_sends_none() -> None:
    assert extract([(b"x-request-id", b"r1")]) is None
    with span("request", parent=None):
        assert inject({}) == {}
