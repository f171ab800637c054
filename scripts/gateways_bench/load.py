"""The load: wrk against one gateway (warm-up, then a measured window), what it cost, and the table.

A run's numbers are requests/s, p50, p99, errors, the gateway's CPU-ms per request (its whole
process tree, from /proc) and subgraph calls per request; the table ends with our ratios to each
other gateway.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from scripts.gateways_bench import BENCH_DIR
from scripts.gateways_bench.processes import LOAD_CPU, Gateway, pinned
from scripts.proc_cpu import cpu_seconds, loadavg


@dataclass
class Result:
    """One measured run of one gateway at one connection count (the --json rows)."""

    gateway: str
    connections: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int
    cpu_ms_per_request: float
    subgraph_calls_per_request: float
    load_before: str


def wrk(url: str, connections: int, seconds: float, body_file: Path) -> dict[str, Any]:
    """One wrk run (pinned to the load CPU) and the numbers wrk.lua prints as its WRK_JSON line."""
    threads = min(2, connections)
    argv = pinned(
        LOAD_CPU,
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "30s",
         "-s", str(BENCH_DIR / "wrk.lua"), url],
    )  # fmt: skip
    done = subprocess.run(
        argv,
        env={**os.environ, "BENCH_BODY_FILE": str(body_file)},
        capture_output=True,
        text=True,
        check=True,
    )
    for line in done.stdout.splitlines():
        if line.startswith("WRK_JSON "):
            return json.loads(line[len("WRK_JSON ") :])
    raise RuntimeError(f"wrk printed no result:\n{done.stdout}\n{done.stderr}")


def subgraph_calls(stats_url: str) -> int:
    """How many requests the benchmark subgraphs have served so far."""
    return int(httpx.get(stats_url, timeout=5).json()["served"])


def measure(
    gateway: Gateway, connections: int, warmup_s: float, seconds: float, body_file: Path, stats_url: str
) -> Result:
    """A warm-up, then the measured window, with the gateway's CPU and the subgraph calls it cost."""
    assert gateway.proc is not None
    if warmup_s > 0:
        wrk(gateway.url, connections, warmup_s, body_file)
    load = loadavg()
    calls_before = subgraph_calls(stats_url)
    cpu_before = cpu_seconds(gateway.proc.pid)
    run = wrk(gateway.url, connections, seconds, body_file)
    cpu = cpu_seconds(gateway.proc.pid) - cpu_before
    calls = subgraph_calls(stats_url) - calls_before
    requests = max(1, run["requests"])
    errors = run["bad_responses"] + sum(run[k] for k in ("connect", "read", "write", "timeout"))
    return Result(
        gateway=gateway.name,
        connections=connections,
        rps=run["requests"] / (run["duration_us"] / 1e6),
        p50_ms=run["p50_us"] / 1000,
        p99_ms=run["p99_us"] / 1000,
        errors=errors,
        requests=run["requests"],
        cpu_ms_per_request=cpu * 1000 / requests,
        subgraph_calls_per_request=calls / requests,
        load_before=load,
    )


def print_results(results: list[Result]) -> None:
    """The table of every run, then our ratios to each other gateway at each connection count."""
    print()
    header = (
        f"{'gateway':<14}{'conns':>6}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}"
        f"{'CPU-ms/req':>12}{'subgraph calls/req':>20}  load before"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.gateway:<14}{r.connections:>6}{r.rps:>9.1f}{r.p50_ms:>9.1f}{r.p99_ms:>9.1f}{r.errors:>8}"
            f"{r.cpu_ms_per_request:>12.2f}{r.subgraph_calls_per_request:>20.2f}  {r.load_before}"
        )
    by = {(r.gateway, r.connections): r for r in results}
    ours = [name for name in ("ours", "ours-nodedup") if any(r.gateway == name for r in results)]
    others = [
        name
        for name in ("apollo", "hive", "hive-inbound", "before")
        if any(r.gateway == name for r in results)
    ]
    if not ours or not others:
        return
    print("\nratios (ours / theirs): req/s (>= 1 is better), CPU-ms per request and p99 (<= 1 is better)")
    for connections in sorted({r.connections for r in results}):
        for mine in ours:
            for theirs in others:
                a, b = by.get((mine, connections)), by.get((theirs, connections))
                if a is None or b is None:
                    continue
                print(
                    f"  {connections:>3} conns  {mine:<13} vs {theirs:<12} req/s {a.rps / b.rps:5.2f}x   "
                    f"CPU/req {a.cpu_ms_per_request / b.cpu_ms_per_request:5.2f}x   "
                    f"p99 {a.p99_ms / max(b.p99_ms, 1e-9):5.2f}x"
                )
