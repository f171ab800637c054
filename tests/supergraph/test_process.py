"""`python -m supergraph.server` as a real process: what the dev runner relies on."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path

import httpx

from tests.supergraph.conftest import ServedApp, free_socket, write_rover_config


async def test_the_router_process_starts_serves_and_logs_json_lines(
    subgraphs: dict[str, ServedApp], tmp_path: Path
) -> None:
    config = write_rover_config(tmp_path, {"accounts": subgraphs["accounts"].url})
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    env = {
        **os.environ,
        "SUPERGRAPH_CONFIG": str(config),
        "ROUTER_PORT": str(port),
        "ROUTER_POLL_INTERVAL_S": "0",
        "LOG_LEVEL": "INFO",
    }
    stderr_path = tmp_path / "router.log"
    with stderr_path.open("wb") as stderr:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "supergraph.server", env=env, stdout=stderr, stderr=stderr
        )
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                deadline = time.monotonic() + 30
                while True:
                    try:
                        if (await client.get("/health")).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    assert time.monotonic() < deadline, stderr_path.read_text()
                    await asyncio.sleep(0.1)
                response = await client.post(
                    "/graphql", json={"query": "{ users { name } }"}, headers={"X-Request-ID": "proc-1"}
                )
                assert response.json() == {"data": {"users": [{"name": "Ada"}, {"name": "Grace"}]}}
                assert response.headers["x-request-id"] == "proc-1"
        finally:
            proc.terminate()
            await asyncio.wait_for(proc.wait(), timeout=10)
    lines = [json.loads(line) for line in stderr_path.read_text().splitlines() if line.startswith("{")]
    assert any(line.get("request_id") == "proc-1" and line.get("status") == 200 for line in lines)
