"""One request id across hops: a transaction sent to the router with X-Request-ID comes back with that
id and is logged under it by every subgraph on its synchronous path (JSON log lines).

(The router itself writes no per-request log line, so its log is not checked here.)"""

from __future__ import annotations

import time
import uuid

from tests.deploy.json_logs import log_entries
from tests.e2e.flows import CREATE_TX, data_of, funded_wallet
from tests.support.stack import Stack


def request_ids_logged_by(stack: Stack, name: str) -> set[str]:
    return {entry.get("request_id") for entry in log_entries(stack.processes[name].log_path)}


def test_a_request_id_sent_to_the_router_reaches_the_logs_of_every_subgraph_on_the_path(stack: Stack) -> None:
    user = funded_wallet(stack, 100_000, prefix="rid")
    request_id = f"trace-{uuid.uuid4().hex}"
    response = stack.post(
        stack.router_url,
        CREATE_TX,
        {"input": {"walletId": user["wallet"], "amount": 1000, "type": "DEPOSIT"}},
        token=user["token"],
        headers={"X-Request-ID": request_id},
    )
    assert response.headers["x-request-id"] == request_id
    assert data_of(response.json())["createTransaction"]["status"] == "SUCCESS"
    expected = {"transactions", "fraud", "wallet"}
    deadline = time.monotonic() + 5
    missing = expected
    while missing and time.monotonic() < deadline:
        missing = {name for name in expected if request_id not in request_ids_logged_by(stack, name)}
        time.sleep(0.1)
    assert not missing, f"no log line of {sorted(missing)} carries the request id {request_id}"
