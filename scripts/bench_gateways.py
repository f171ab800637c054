"""Our router against Apollo Gateway and Hive Gateway on the public graphql-gateways-benchmark workload.

The workload of github.com/graphql-hive/graphql-gateways-benchmark: four subgraphs (accounts,
inventory, products, reviews; `scripts/gateways_bench/subgraphs.js`, written here in Node with the
benchmark's schema and data) and its nested `users/topProducts/reviews` query with `@requires` and
`@provides`. The supergraph is composed by our own composer. Every gateway gets the same subgraphs
and the same load generator (wrk, `scripts/gateways_bench/wrk.lua`), one after another, pinned to
one core (CPU 1; subgraphs and wrk share CPU 0), at each connection count in turn (interleaved:
every gateway runs at 10 connections, then every gateway at 50). Each run is a warm-up then a
measured window; we print requests/s, p50, p99, errors (non-200 or a body with "errors", socket
errors), the gateway's CPU-ms per request (from /proc, its whole process tree) and subgraph calls
per request, then our ratios to each Node gateway. Every gateway's answer is compared with the
benchmark's expected answer (built here from data.json) before and after its runs.

Our router runs twice: with in-flight deduplication of subgraph queries (the default) and without
(ROUTER_DEDUPLICATE_QUERIES=false). Apollo Gateway and Hive Gateway run with their defaults (Hive
merges identical in-flight subgraph requests by default). `hive-inbound` is Hive as the public
benchmark configures it (`--jit`, and identical in-flight *client* requests share one execution);
it is not among the default gateways. The Node packages are installed under .tmp/bench-gateways/ on
first use (npm registry needed); wrk comes from the system (Debian: apt-get install wrk).

    .venv/bin/python -m scripts.bench_gateways [--warmup 5] [--seconds 15] [--connections 10,50]
        [--gateways ours,ours-nodedup,apollo,hive[,hive-inbound]] [--json results.json]
        [--baseline REV]    # also our router as of git revision REV, in the same run

This module is the command and the order of a run; the expected answer, the processes and the load
are in `scripts/gateways_bench/` (answer.py, processes.py, load.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

import httpx

from scripts.gateways_bench import BENCH_DIR, REPO_ROOT
from scripts.gateways_bench.answer import check_answer, expected_answer
from scripts.gateways_bench.load import Result, measure, print_results
from scripts.gateways_bench.processes import (
    GATEWAY_CPU,
    LOAD_CPU,
    Gateway,
    baseline_tree,
    free_port,
    gateways,
    install,
    pinned,
    start,
    stop,
    wait_graphql,
)
from scripts.proc_cpu import loadavg

SUBGRAPHS = ("accounts", "inventory", "products", "reviews")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line of the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of load before each measurement")
    parser.add_argument("--seconds", type=float, default=15.0, help="measured seconds per run")
    parser.add_argument("--connections", default="10,50", help="comma-separated connection counts")
    parser.add_argument("--gateways", default="ours,ours-nodedup,apollo,hive")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument(
        "--baseline",
        metavar="REV",
        help="also run our router as of git revision REV ('before'), in the same run",
    )
    return parser.parse_args(argv)


def compose_supergraph(base: str, sdl: Path) -> None:
    """The benchmark's four subgraphs composed by our own composer into `sdl`."""
    sys.path.insert(0, str(REPO_ROOT))
    from supergraph.compose import SubgraphSource, compose
    from supergraph.rover_config import fetch_sdl

    async def sources() -> list[SubgraphSource]:
        async with httpx.AsyncClient() as client:
            return [
                SubgraphSource(name, f"{base}/{name}", await fetch_sdl(client, name, f"{base}/{name}"))
                for name in SUBGRAPHS
            ]

    sdl.write_text(compose(asyncio.run(sources())))


def start_gateways(
    gateway_list: list[Gateway], workdir: Path, body: bytes, expected: dict[str, Any], running: list[Gateway]
) -> None:
    """Each gateway started (appended to `running`, to be stopped whatever happens) and checked."""
    for gateway in gateway_list:
        gateway.proc = start(pinned(GATEWAY_CPU, gateway.argv), gateway.env, workdir / f"{gateway.name}.log")
        running.append(gateway)
        wait_graphql(gateway.url, gateway.proc)
        problem = check_answer(gateway.url, body, expected)
        if problem:
            raise RuntimeError(f"{gateway.name} does not give the benchmark's answer: {problem}")


def run_load(
    running: list[Gateway], args: argparse.Namespace, connection_counts: list[int], body_file: Path, base: str
) -> list[Result]:
    """Every gateway at each connection count in turn (interleaved), a progress line per run."""
    print(
        f"cpus {os.cpu_count()}, gateway on CPU {GATEWAY_CPU}, subgraphs and wrk on CPU {LOAD_CPU}; "
        f"warm-up {args.warmup:g} s + {args.seconds:g} s per run; load {loadavg()}",
        flush=True,
    )
    results: list[Result] = []
    for connections in connection_counts:
        for gateway in running:
            result = measure(gateway, connections, args.warmup, args.seconds, body_file, f"{base}/stats")
            results.append(result)
            print(
                f"  {gateway.name:<13} {connections:>3} conns: {result.rps:7.1f} req/s, "
                f"p99 {result.p99_ms:7.1f} ms, {result.cpu_ms_per_request:6.2f} CPU-ms/req, "
                f"{result.errors} errors",
                flush=True,
            )
    return results


def bench(args: argparse.Namespace, names: list[str], connection_counts: list[int], workdir: Path) -> None:
    """Subgraphs, supergraph, gateways, load, the answers checked again, the table (and --json)."""
    expected = expected_answer(json.loads((BENCH_DIR / "data.json").read_text()))
    body_file = workdir / "body.json"
    body = json.dumps({"query": (BENCH_DIR / "query.graphql").read_text()}).encode()
    body_file.write_bytes(body)
    sub_port = free_port()
    subgraphs = start(
        pinned(LOAD_CPU, ["node", "subgraphs.js", str(sub_port)]), {}, workdir / "subgraphs.log"
    )
    running: list[Gateway] = []
    try:
        base = f"http://127.0.0.1:{sub_port}"
        wait_graphql(f"{base}/accounts", subgraphs)
        sdl = workdir / "supergraph.graphql"
        compose_supergraph(base, sdl)
        baseline = baseline_tree(args.baseline) if args.baseline else None
        start_gateways(gateways(sdl, names, baseline), workdir, body, expected, running)
        results = run_load(running, args, connection_counts, body_file, base)
        for gateway in running:
            problem = check_answer(gateway.url, body, expected)
            if problem:
                raise RuntimeError(f"{gateway.name} answered wrongly after the load: {problem}")
        print_results(results)
        print(f"\nevery gateway gave the exact expected answer before and after its runs; load {loadavg()}")
        if args.json:
            Path(args.json).write_text(json.dumps([asdict(r) for r in results], indent=2) + "\n")
    finally:
        for gateway in running:
            stop(gateway.proc)
        stop(subgraphs)


def main(argv: list[str] | None = None) -> int:
    """0 after a full run; 2 when wrk, node or npm is missing."""
    args = parse_args(argv)
    if not shutil.which("wrk"):
        print("wrk is not installed (Debian: apt-get install wrk)", file=sys.stderr)
        return 2
    if not shutil.which("node") or not shutil.which("npm"):
        print("node and npm are needed for the subgraphs and the Node gateways", file=sys.stderr)
        return 2
    names = [n.strip() for n in args.gateways.split(",") if n.strip()]
    connection_counts = [int(c) for c in args.connections.split(",") if c.strip()]
    install()
    with tempfile.TemporaryDirectory(prefix="bench-gateways-") as tmp:
        bench(args, names, connection_counts, Path(tmp))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
