"""Measure the router's overhead: one small subgraph and the router as real processes on free ports.

Overhead = latency through the router minus the same subgraph call made directly (p50/p99, sequential
requests), then throughput through the router with 50 concurrent clients for a few seconds.

    python -m scripts.bench_router [--requests 300] [--seconds 3] [--concurrency 50]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import strawberry
from strawberry.asgi import GraphQL

QUERY = "{ products { id name price } }"
ENTITY_QUERY = "{ products { id name price stock } }"


@strawberry.federation.type(keys=["id"])
class Product:
    """The benchmark subgraph's only entity."""

    id: strawberry.ID
    name: str
    price: int

    @strawberry.field
    def stock(self) -> int:
        return 7

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Product:  # noqa: A002
        return Product(id=id, name=f"product {id}", price=100)


@strawberry.type
class Query:
    @strawberry.field
    def products(self) -> list[Product]:
        return [Product(id=strawberry.ID(str(i)), name=f"product {i}", price=100 + i) for i in range(10)]


def _subgraph_app() -> GraphQL:
    """A tiny federation subgraph used only by this benchmark."""
    return GraphQL(strawberry.federation.Schema(query=Query, types=[Product]), graphql_ide=None)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _wait_ready(url: str, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            try:
                response = await client.post(url, json={"query": "{ __typename }"})
                if response.status_code == 200 and "errors" not in response.json():
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not become ready")


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _latencies(urls: list[str], query: str, count: int) -> list[list[float]]:
    """Latency samples (ms) per URL, requests alternating between the URLs so that background
    load on the machine hits every target alike."""
    async with httpx.AsyncClient() as client:
        for _ in range(20):  # warm-up: connections, plan cache
            for url in urls:
                await client.post(url, json={"query": query})
        samples: list[list[float]] = [[] for _ in urls]
        for _ in range(count):
            for index, url in enumerate(urls):
                started = time.perf_counter()
                response = await client.post(url, json={"query": query})
                samples[index].append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, response.text
        return samples


async def _throughput(url: str, query: str, seconds: float, concurrency: int) -> tuple[float, int]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    done = 0
    failed = 0
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def worker() -> None:
            nonlocal done, failed
            while time.monotonic() < deadline:
                response = await client.post(url, json={"query": query})
                if response.status_code == 200 and "errors" not in response.json():
                    done += 1
                else:
                    failed += 1

        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.monotonic() - started
    return done / elapsed, failed


async def _spawn(*argv: str, env: dict[str, str] | None = None) -> asyncio.subprocess.Process:
    """`python <argv>` in the background, its output discarded."""
    return await asyncio.create_subprocess_exec(
        sys.executable, *argv, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )


async def _measure(args: argparse.Namespace, sub_url: str, router_url: str) -> None:
    """Paired latencies (direct vs through the router), throughput of both, and one entity query."""
    direct, routed = await _latencies([sub_url, router_url], QUERY, args.requests)
    overheads = [r - d for d, r in zip(direct, routed, strict=True)]
    print(f"sequential requests: {args.requests} per target (alternating), query {QUERY}")
    for label, q in (("p50", 0.50), ("p99", 0.99)):
        d, r = _percentile(direct, q), _percentile(routed, q)
        print(f"  {label}: direct {d:7.2f} ms   router {r:7.2f} ms   overhead {r - d:7.2f} ms")
    print(
        f"  overhead of paired requests: p50 {_percentile(overheads, 0.5):.2f} ms, "
        f"p99 {_percentile(overheads, 0.99):.2f} ms, mean {statistics.mean(overheads):.2f} ms"
    )
    rps_direct, _ = await _throughput(sub_url, QUERY, args.seconds, args.concurrency)
    rps, failed = await _throughput(router_url, QUERY, args.seconds, args.concurrency)
    print(
        f"throughput ({args.concurrency} concurrent clients, {args.seconds:.0f} s): "
        f"router {rps:.0f} req/s ({failed} failed), subgraph direct {rps_direct:.0f} req/s"
    )
    (entity,) = await _latencies([router_url], ENTITY_QUERY, max(50, args.requests // 3))
    print(f"router p50 with an extra field (same subgraph, one fetch): {_percentile(entity, 0.5):.2f} ms")


async def _run(args: argparse.Namespace) -> None:
    sub_port, router_port = _free_port(), _free_port()
    sub_url = f"http://127.0.0.1:{sub_port}/graphql"
    router_url = f"http://127.0.0.1:{router_port}/graphql"
    workdir = Path(tempfile.mkdtemp(prefix="bench-router-"))
    config = workdir / "supergraph.yaml"
    config.write_text(
        f"subgraphs:\n  products:\n    routing_url: {sub_url}\n    schema:\n      subgraph_url: {sub_url}\n"
    )
    env = {
        **os.environ,
        "SUPERGRAPH_CONFIG": str(config),
        "ROUTER_PORT": str(router_port),
        "ROUTER_POLL_INTERVAL_S": "0",
        "LOG_LEVEL": "WARNING",
    }
    procs = [await _spawn("-m", "scripts.bench_router", "--serve-subgraph", str(sub_port))]
    try:
        await _wait_ready(sub_url)
        procs.append(await _spawn("-m", "supergraph.server", env=env))
        await _wait_ready(router_url)
        await _measure(args, sub_url, router_url)
    finally:
        for proc in reversed(procs):
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), timeout=5)
            except TimeoutError:
                proc.kill()
                await proc.wait()


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark (or, internally, serve the benchmark subgraph)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--serve-subgraph", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_subgraph:
        import uvicorn

        uvicorn.run(_subgraph_app(), host="127.0.0.1", port=args.serve_subgraph, log_level="warning")
        return
    asyncio.run(_run(args))


if __name__ == "__main__":
    main()
