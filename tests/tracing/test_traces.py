"""One W3C trace id follows a payment through every process: spans exported over OTLP, and the same
trace id in every process's log lines."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.flows import CREATE_TX, create_wallet, data_of, register_and_login
from tests.support.otlp import OtlpReceiver
from tests.support.stack import Stack

SERVICES = {"sawit-router", "sawit-transactions", "sawit-wallet", "sawit-fraud", "sawit-history"}


@pytest.fixture(scope="module")
def traced_stack(
    tmp_path_factory: pytest.TempPathFactory, base_env: dict[str, str]
) -> Iterator[tuple[Stack, OtlpReceiver]]:
    with OtlpReceiver() as receiver:
        extra = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url, "OTEL_BSP_SCHEDULE_DELAY": "100"}
        running = Stack(tmp_path_factory.mktemp("stack-traced"), base_env, extra_env=extra).start()
        try:
            yield running, receiver
        finally:
            running.stop()


def wait_for(check, timeout_s: float = 15.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def log_trace_ids(path: Path) -> set[str]:
    ids = set()
    for line in path.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("trace_id"):
            ids.add(entry["trace_id"])
    return ids


def test_a_deposit_with_a_traceparent_is_one_trace_across_every_process(
    traced_stack: tuple[Stack, OtlpReceiver],
) -> None:
    stack, receiver = traced_stack
    user = register_and_login(stack, "trc")
    wallet = create_wallet(stack, user["token"], "Dompet Jejak")
    trace_id, parent = secrets.token_hex(16), secrets.token_hex(8)
    body = stack.gql(
        CREATE_TX,
        {"input": {"walletId": wallet, "amount": 5000, "type": "DEPOSIT"}},
        token=user["token"],
        headers={"traceparent": f"00-{trace_id}-{parent}-01"},
    )
    assert data_of(body)["createTransaction"]["status"] == "SUCCESS"

    def every_service() -> set[str]:
        found = {s.service for s in receiver.of_trace(trace_id)}
        return found if SERVICES <= found else set()

    assert wait_for(every_service) >= SERVICES, {s.service for s in receiver.of_trace(trace_id)}
    spans = receiver.of_trace(trace_id)
    names = {s.name for s in spans}
    assert {"POST /graphql", "saga.fraud_check", "saga.move_money", "db.write"} <= names, names
    assert any(n.startswith("fetch ") for n in names) and any(n.startswith("outbox.deliver") for n in names)
    router_root = [s for s in spans if s.service == "sawit-router" and s.name == "POST /graphql"]
    assert router_root and router_root[0].parent_span_id == parent
    ids = {s.span_id for s in spans} | {parent}
    assert all(s.parent_span_id in ids for s in spans), "every span hangs under the client's trace"
    for name in ("router", "transactions", "wallet", "fraud", "history"):
        assert trace_id in log_trace_ids(stack.log_dir / f"{name}.log"), name


def test_without_a_traceparent_the_router_starts_a_trace(traced_stack: tuple[Stack, OtlpReceiver]) -> None:
    stack, receiver = traced_stack
    before = len(receiver.spans)
    stack.gql("{ __typename }")
    assert wait_for(lambda: [s for s in receiver.spans[before:] if s.service == "sawit-router"])
