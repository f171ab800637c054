"""Prometheus metrics of the router (exposed at `/metrics`)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUESTS = Counter("router_requests_total", "GraphQL requests handled", ["status"])
REQUEST_LATENCY = Histogram("router_request_seconds", "GraphQL request latency in seconds")
SUBGRAPH_ERRORS = Counter("router_subgraph_fetch_errors_total", "Failed subgraph fetches", ["subgraph"])
SUBGRAPH_LATENCY = Histogram(
    "router_subgraph_fetch_seconds", "Subgraph fetch latency in seconds", ["subgraph"]
)
SUBGRAPH_DEDUPLICATED = Counter(
    "router_subgraph_fetch_deduplicated_total",
    "Subgraph queries answered by an identical fetch already in flight",
    ["subgraph"],
)
PLAN_CACHE = Counter("router_plan_cache_total", "Plan cache lookups", ["result"])
