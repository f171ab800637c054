"""What the router passes to subgraphs: chosen client headers, the request id, and who the client is."""

from __future__ import annotations

from starlette.requests import Request

from shared.clientip import TrustedProxies
from supergraph.server import subgraph_headers

FORWARD = frozenset({"authorization", "x-merchant-key"})


def request(headers: dict[str, str], peer: str = "203.0.113.5") -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    return Request(
        {"type": "http", "method": "POST", "path": "/graphql", "headers": raw, "client": (peer, 5555)}
    )


def test_only_the_configured_client_headers_reach_subgraphs() -> None:
    sent = subgraph_headers(
        request({"Authorization": "Bearer t", "X-Merchant-Key": "k", "Cookie": "s=1", "X-Other": "x"}),
        FORWARD,
    )
    assert sent["authorization"] == "Bearer t" and sent["x-merchant-key"] == "k"
    assert "cookie" not in sent and "x-other" not in sent
    assert sent["x-request-id"]


def test_the_router_is_the_edge_a_clients_forwarded_for_is_replaced_by_the_address_it_saw() -> None:
    assert subgraph_headers(request({}), FORWARD)["x-forwarded-for"] == "203.0.113.5"
    forged = subgraph_headers(request({"X-Forwarded-For": "10.0.0.1"}), FORWARD)
    assert forged["x-forwarded-for"] == "203.0.113.5"


def test_behind_a_trusted_load_balancer_the_client_it_saw_is_forwarded() -> None:
    balancer = TrustedProxies("192.0.2.10")
    behind = request({"X-Forwarded-For": "10.6.6.6, 198.51.100.4"}, peer="192.0.2.10")
    assert subgraph_headers(behind, FORWARD, balancer)["x-forwarded-for"] == "198.51.100.4"
    direct = request({"X-Forwarded-For": "198.51.100.4"}, peer="203.0.113.5")
    assert subgraph_headers(direct, FORWARD, balancer)["x-forwarded-for"] == "203.0.113.5"
