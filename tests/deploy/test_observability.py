"""What an operator of the containers sees: Prometheus metrics and JSON logs carrying request ids,
on a real subgraph process (the auth subgraph, as `docker compose up` runs it)."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.deploy.json_logs import log_entries
from tests.support.procs import Process, start_subgraph

REQUESTS_TOTAL = re.compile(
    r"^sawit_http_requests_total\{(?P<labels>[^}]*)\} (?P<value>[0-9.e+]+)$", re.MULTILINE
)


@pytest.fixture(scope="module")
def auth(tmp_path_factory: pytest.TempPathFactory, base_env: dict[str, str]) -> Iterator[tuple[str, Path]]:
    """(base URL, log file) of a real auth process on a free port."""
    work = tmp_path_factory.mktemp("observability")
    env = {**base_env, "AUTH_DATABASE_URL": f"sqlite+aiosqlite:///{work / 'users.db'}", "LOG_LEVEL": "INFO"}
    process: Process
    process, port = start_subgraph("auth", env, work)
    try:
        yield f"http://127.0.0.1:{port}", process.log_path
    finally:
        process.stop()


def graphql_requests_ok(metrics_text: str) -> float:
    total = 0.0
    for match in REQUESTS_TOTAL.finditer(metrics_text):
        labels = dict(re.findall(r'(\w+)="([^"]*)"', match.group("labels")))
        if labels == {"service": "auth", "path": "/graphql", "status": "200"}:
            total += float(match.group("value"))
    return total


def test_metrics_count_each_graphql_request_of_the_service(auth: tuple[str, Path]) -> None:
    base, _log = auth
    before = graphql_requests_ok(httpx.get(f"{base}/metrics").text)
    response = httpx.post(f"{base}/graphql", json={"query": "{ __typename }"})
    assert response.status_code == 200 and response.json()["data"] == {"__typename": "Query"}
    metrics = httpx.get(f"{base}/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")
    assert graphql_requests_ok(metrics.text) == before + 1
    assert "sawit_http_request_duration_seconds_bucket" in metrics.text


def test_a_sent_request_id_comes_back_and_is_on_the_json_log_line_of_that_request(
    auth: tuple[str, Path],
) -> None:
    base, log = auth
    request_id = f"deploy-test-{uuid.uuid4().hex}"
    response = httpx.post(
        f"{base}/graphql", json={"query": "{ __typename }"}, headers={"X-Request-ID": request_id}
    )
    assert response.headers["x-request-id"] == request_id
    deadline = time.monotonic() + 5
    mine: list[dict] = []
    while not mine and time.monotonic() < deadline:
        mine = [e for e in log_entries(log) if e.get("request_id") == request_id]
        time.sleep(0.05)
    assert mine, f"no JSON log line carries {request_id}; log tail:\n{log.read_text()[-2000:]}"
    assert {(e["service"], e.get("status")) for e in mine} >= {("auth", 200)}
    assert all({"ts", "level", "logger", "msg"} <= set(e) for e in mine)


def test_without_a_request_id_the_service_makes_one_up_and_logs_it(auth: tuple[str, Path]) -> None:
    base, log = auth
    response = httpx.post(f"{base}/graphql", json={"query": "{ __typename }"})
    generated = response.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if any(e.get("request_id") == generated for e in log_entries(log)):
            return
        time.sleep(0.05)
    raise AssertionError(f"{generated} is on no log line")
