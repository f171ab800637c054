"""Client addresses for throttling: X-Forwarded-For is believed only as far as trusted proxies vouch."""

from __future__ import annotations

from types import SimpleNamespace

from shared.clientip import client_address

TRUSTED = frozenset({"127.0.0.1"})


def request(peer: str | None, forwarded: str | None = None) -> SimpleNamespace:
    headers = {"x-forwarded-for": forwarded} if forwarded else {}
    return SimpleNamespace(client=SimpleNamespace(host=peer) if peer else None, headers=headers)


def test_a_direct_untrusted_peer_is_the_client_whatever_header_it_sends() -> None:
    assert client_address(request("203.0.113.9", "198.51.100.1"), TRUSTED) == "203.0.113.9"


def test_behind_the_router_the_address_the_router_appended_is_the_client() -> None:
    assert client_address(request("127.0.0.1", "203.0.113.9"), TRUSTED) == "203.0.113.9"


def test_a_forged_leftmost_hop_cannot_choose_the_throttling_key() -> None:
    forged = request("127.0.0.1", "10.9.9.9, 203.0.113.9")
    assert client_address(forged, TRUSTED) == "203.0.113.9"


def test_a_client_on_a_trusted_address_is_still_that_client_not_a_forged_hop() -> None:
    assert client_address(request("127.0.0.1", "198.51.100.7, 127.0.0.1"), TRUSTED) == "127.0.0.1"


def test_a_trusted_peer_without_the_header_is_itself_the_client() -> None:
    assert client_address(request("127.0.0.1"), TRUSTED) == "127.0.0.1"


def test_no_transport_information_gives_none() -> None:
    assert client_address(request(None), TRUSTED) is None


def test_a_hop_that_is_not_an_ip_address_falls_back_to_the_peer() -> None:
    assert client_address(request("127.0.0.1", "not-an-ip"), TRUSTED) == "127.0.0.1"
