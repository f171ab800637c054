"""The router-token CLI prints a credential a subgraph accepts for introspection (and nothing else)."""

from __future__ import annotations

import json

import pytest

from scripts.router_token import main
from shared.security import build_authenticator
from shared.settings import get_settings
from shared.tokens import ROUTER_SCOPE, ROUTER_SUBJECT


async def test_the_printed_token_is_the_routers_federation_credential(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--json"]) == 0
    token = json.loads(capsys.readouterr().out)["X-Router-Token"]
    principal = await build_authenticator(get_settings()).principal_from_token(token)
    assert principal.subject == ROUTER_SUBJECT
    assert principal.scopes == frozenset({ROUTER_SCOPE})
