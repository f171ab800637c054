"""One client-address rule: X-Forwarded-For walked from the right past our own proxies, believed at a
subgraph only from a trusted peer that carries the router's credential."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from shared.clientip import TrustedProxies, client_from, client_of_request

TRUSTED = TrustedProxies("127.0.0.1,10.0.0.0/8")


def test_a_direct_untrusted_peer_is_the_client_whatever_header_it_sends() -> None:
    assert client_from("203.0.113.9", "198.51.100.1", TRUSTED) == "203.0.113.9"


def test_behind_a_trusted_proxy_the_address_it_appended_is_the_client() -> None:
    assert client_from("127.0.0.1", "203.0.113.9", TRUSTED) == "203.0.113.9"


def test_a_forged_leftmost_hop_cannot_choose_the_throttling_key() -> None:
    assert client_from("127.0.0.1", "198.51.100.66, 203.0.113.9", TRUSTED) == "203.0.113.9"


def test_the_walk_skips_every_trusted_hop_from_the_right_including_networks() -> None:
    assert client_from("127.0.0.1", "198.51.100.66, 203.0.113.9, 10.1.2.3", TRUSTED) == "203.0.113.9"


def test_when_every_hop_is_trusted_the_leftmost_is_the_client() -> None:
    assert client_from("127.0.0.1", "10.0.0.5, 127.0.0.1", TRUSTED) == "10.0.0.5"


def test_a_hop_that_is_not_an_ip_address_stops_the_walk_at_the_last_trusted_one() -> None:
    assert client_from("127.0.0.1", "not-an-ip", TRUSTED) == "127.0.0.1"
    assert client_from("127.0.0.1", "203.0.113.1, junk, 10.0.0.9", TRUSTED) == "10.0.0.9"


def test_a_trusted_peer_without_the_header_is_itself_the_client() -> None:
    assert client_from("127.0.0.1", None, TRUSTED) == "127.0.0.1"


def test_no_transport_information_gives_none() -> None:
    assert client_from(None, "203.0.113.9", TRUSTED) is None


def test_an_empty_trusted_list_trusts_no_one() -> None:
    nobody = TrustedProxies("")
    assert not nobody
    assert client_from("127.0.0.1", "203.0.113.9", nobody) == "127.0.0.1"


def _request(peer: str, forwarded: str | None) -> SimpleNamespace:
    headers = {"x-forwarded-for": forwarded} if forwarded else {}
    raw = [(k.encode(), v.encode()) for k, v in headers.items()]
    return SimpleNamespace(client=SimpleNamespace(host=peer), headers=headers, scope={"headers": raw})


@pytest.mark.parametrize(("router", "expected"), [(True, "203.0.113.9"), (False, "127.0.0.1")])
async def test_a_subgraph_believes_the_header_only_with_the_routers_credential(
    router: bool, expected: str
) -> None:
    async def from_router(_headers: object) -> bool:
        return router

    assert await client_of_request(_request("127.0.0.1", "203.0.113.9"), TRUSTED, from_router) == expected
