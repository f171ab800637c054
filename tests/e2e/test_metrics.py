"""Operators can watch the system: saga outcomes, outbox backlog and router traffic on /metrics."""

from __future__ import annotations

import re

import httpx

from tests.e2e.flows import funded_wallet
from tests.support.stack import Stack


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text format (0 when absent)."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
        if all(found.get(key) == value for key, value in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def total(text: str, name: str) -> float:
    """The sum of every sample of one metric, whatever its labels."""
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name + "{"))


def scrape(url: str) -> str:
    response = httpx.get(url, timeout=10)
    assert response.status_code == 200
    return response.text


def test_a_successful_deposit_is_counted_as_a_saga_outcome_and_as_router_traffic(stack: Stack) -> None:
    transactions_metrics = stack.subgraph_url("transactions").replace("/graphql", "/metrics")
    before = metric(
        scrape(transactions_metrics), "sawit_saga_outcomes_total", type="DEPOSIT", status="SUCCESS"
    )
    routed_before = total(scrape(f"{stack.router_base}/metrics"), "router_requests_total")

    funded_wallet(stack, 250_000, prefix="metrics")

    text = scrape(transactions_metrics)
    assert metric(text, "sawit_saga_outcomes_total", type="DEPOSIT", status="SUCCESS") == before + 1
    assert "sawit_outbox_backlog" in text
    router_text = scrape(f"{stack.router_base}/metrics")
    assert (
        sum(
            float(line.rsplit(" ", 1)[1])
            for line in router_text.splitlines()
            if line.startswith("router_requests_total{")
        )
        >= routed_before + 4
    )  # register, login, createWallet, createTransaction
    assert (
        "router_subgraph_fetch_errors_total" in router_text or "router_subgraph_fetch_seconds" in router_text
    )
