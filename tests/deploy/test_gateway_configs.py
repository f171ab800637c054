"""The gateway settings the README hands out (scale-out section) forward what our router forwards.

(The Node gateways are also run for real against a live stack in tests/gateway; Apollo Router's
file is checked here only, as its binary cannot be installed on the test machines.)"""

from __future__ import annotations

import yaml

from supergraph.config import RouterSettings
from tests.support.procs import REPO_ROOT

DEPLOY = REPO_ROOT / "deploy"
# what every subgraph needs from a gateway: the caller's token and the request id across hops
NEEDED = {*RouterSettings().forward_headers, "x-request-id"}


def test_apollo_router_settings_propagate_the_token_and_the_request_id() -> None:
    config = yaml.safe_load((DEPLOY / "apollo-router.yaml").read_text())
    rules = config["headers"]["all"]["request"]
    propagated = {rule["propagate"]["named"].lower() for rule in rules if "propagate" in rule}
    assert NEEDED <= propagated
    assert config["supergraph"]["path"] == "/graphql"
    assert config["supergraph"]["introspection"] is False


def test_the_node_gateways_forward_the_token_and_the_request_id() -> None:
    apollo = (DEPLOY / "node-gateways" / "apollo-gateway.js").read_text()
    hive = (DEPLOY / "node-gateways" / "hive-gateway.config.ts").read_text()
    assert "const FORWARDED = ['authorization', 'x-request-id'];" in apollo
    for header in NEEDED:
        assert f"'{header}'" in apollo
        assert f"request.headers.get('{header}')" in hive
