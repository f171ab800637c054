"""Subgraphs consume auth's JWKS: a token under a kid they have not seen is verified after a refetch."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from shared.errors import AppError, ErrorCode
from shared.keys import KeySet, load_signing_key, write_key_pair
from shared.security import Authenticator
from shared.settings import get_settings
from shared.tokens import TokenVerifier, issue_access_token


@pytest.fixture
def rotated_key(tmp_path: Path) -> tuple[Path, Path]:
    """A key pair auth rotated to, which this subgraph has never loaded from disk."""
    private, public = tmp_path / "new_private.pem", tmp_path / "new_public.pem"
    write_key_pair(private, public)
    return private, public


@pytest.fixture
def jwks_server(rotated_key: tuple[Path, Path]) -> Iterator[tuple[str, list[int]]]:
    keys = KeySet()
    keys.add_pem_file(rotated_key[1])
    body = json.dumps(keys.jwks()).encode()
    hits: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            hits.append(1)
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json", hits
    server.shutdown()


def verifier() -> TokenVerifier:
    settings = get_settings()
    return TokenVerifier(
        user_keys=KeySet(),
        service_keys=KeySet(),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        service_issuer=settings.service_issuer,
        service_audience=settings.service_audience,
        leeway_s=5,
    )


def token_signed_with(private: Path) -> str:
    settings = get_settings()
    return issue_access_token(
        load_signing_key(private),
        user_id="u-1",
        role="USER",
        username="rotated",
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        ttl_s=60,
    )


async def test_a_token_under_a_new_kid_verifies_after_fetching_the_jwks(
    rotated_key: tuple[Path, Path], jwks_server: tuple[str, list[int]]
) -> None:
    url, hits = jwks_server
    authenticator = Authenticator(verifier(), url, refresh_interval_s=30)
    principal = await authenticator.principal_from_token(token_signed_with(rotated_key[0]))
    assert principal.kind == "user" and principal.subject == "u-1"
    await authenticator.principal_from_token(token_signed_with(rotated_key[0]))
    assert len(hits) == 1  # the key is kept; no refetch per request


async def test_without_a_jwks_url_an_unknown_kid_is_unauthenticated(rotated_key: tuple[Path, Path]) -> None:
    authenticator = Authenticator(verifier(), None)
    with pytest.raises(AppError) as caught:
        await authenticator.principal_from_token(token_signed_with(rotated_key[0]))
    assert caught.value.code is ErrorCode.UNAUTHENTICATED


async def test_unknown_kids_cannot_make_a_subgraph_hammer_the_jwks_endpoint(
    tmp_path: Path, jwks_server: tuple[str, list[int]]
) -> None:
    url, hits = jwks_server
    authenticator = Authenticator(verifier(), url, refresh_interval_s=30)
    stranger = tmp_path / "stranger.pem"
    write_key_pair(stranger, tmp_path / "stranger.pub.pem")
    for _ in range(5):
        with pytest.raises(AppError):
            await authenticator.principal_from_token(token_signed_with(stranger))
    assert len(hits) == 1
