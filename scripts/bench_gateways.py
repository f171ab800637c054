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
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from scripts.proc_cpu import cpu_seconds, loadavg

REPO_ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = REPO_ROOT / "scripts" / "gateways_bench"
INSTALL_DIR = Path(os.environ.get("SAWIT_BENCH_NODE_DIR") or REPO_ROOT / ".tmp" / "bench-gateways")
COPIED = ("subgraphs.js", "data.json", "apollo-gateway.js", "hive-gateway.config.ts")
GATEWAY_CPU = "1"
LOAD_CPU = "0"


# ------------------------------------------------------------------------------ expected answer


def expected_answer(data: dict[str, Any]) -> dict[str, Any]:
    """The benchmark query's answer, resolved straight from data.json (no gateway involved)."""
    users = {u["id"]: u for u in data["users"]}
    stock = {p["upc"]: p["inStock"] for p in data["inventory"]}
    products = {p["upc"]: p for p in data["products"]}
    reviews = data["reviews"]

    def product(upc: str) -> dict[str, Any]:
        row = products[upc]
        # shippingEstimate is null in the benchmark (see subgraphs.js)
        return {
            "inStock": stock[upc],
            "name": row["name"],
            "price": row["price"],
            "shippingEstimate": None,
            "upc": upc,
            "weight": row["weight"],
        }

    def review(row: dict[str, Any]) -> dict[str, Any]:
        return {"id": row["id"], "body": row["body"]}

    def author() -> dict[str, Any]:  # every review's author is user 1, with reviews 1 and 2
        return {
            "id": "1",
            "username": "urigo",
            "name": users["1"]["name"],
            "reviews": [{**review(r), "product": product(r["product"])} for r in reviews[:2]],
        }

    def product_reviews(upc: str) -> list[dict[str, Any]]:
        return [{**review(r), "author": author()} for r in reviews if r["product"] == upc]

    return {
        "data": {
            "users": [
                {
                    "id": u["id"],
                    "username": u["username"],
                    "name": u["name"],
                    "reviews": [
                        {
                            **review(r),
                            "product": {**product(r["product"]), "reviews": product_reviews(r["product"])},
                        }
                        for r in reviews[:2]
                    ],
                }
                for u in data["users"]
            ],
            "topProducts": [
                {**product(p["upc"]), "reviews": product_reviews(p["upc"])} for p in data["products"][:5]
            ],
        }
    }


def check_answer(url: str, body: bytes, expected: dict[str, Any]) -> str | None:
    """None when the gateway answers exactly the expected JSON (values and key order), else why not."""
    try:
        response = httpx.post(url, content=body, headers={"content-type": "application/json"}, timeout=30)
        got = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        return f"no JSON answer: {exc}"
    if json.dumps(got) == json.dumps(expected):
        return None
    if got == expected:
        return "same values, but keys in another order"
    return f"HTTP {response.status_code}, answer differs: {json.dumps(got)[:300]}"


# ----------------------------------------------------------------------------------- processes


def _pinned(cpu: str, argv: list[str]) -> list[str]:
    return ["taskset", "-c", cpu, *argv] if shutil.which("taskset") and (os.cpu_count() or 1) > 1 else argv


@dataclass
class Gateway:
    name: str
    argv: list[str]
    env: dict[str, str]
    path: str
    proc: subprocess.Popen[bytes] | None = None
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("ab")
    try:
        return subprocess.Popen(
            argv, env={**os.environ, **env}, cwd=INSTALL_DIR, stdout=handle, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    finally:
        handle.close()


def _wait_graphql(url: str, proc: subprocess.Popen[bytes], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: process exited with {proc.returncode}")
        try:
            response = httpx.post(url, json={"query": "{ __typename }"}, timeout=2)
            if response.status_code == 200 and response.json().get("data") == {"__typename": "Query"}:
                return
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout_s}s")


def _stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    import signal

    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


def install() -> None:
    """The Node packages of package.json under INSTALL_DIR (once), and our files copied beside them."""
    INSTALL_DIR.mkdir(parents=True, exist_ok=True)
    wanted = (BENCH_DIR / "package.json").read_text()
    manifest = INSTALL_DIR / "package.json"
    if (
        not manifest.is_file()
        or manifest.read_text() != wanted
        or not (INSTALL_DIR / "node_modules").is_dir()
    ):
        manifest.write_text(wanted)
        print(f"installing the Node packages into {INSTALL_DIR} ...", flush=True)
        subprocess.run(["npm", "install", "--no-audit", "--no-fund"], cwd=INSTALL_DIR, check=True)
    for name in COPIED:
        shutil.copyfile(BENCH_DIR / name, INSTALL_DIR / name)


def baseline_tree(rev: str) -> Path:
    """A git worktree of our repository at `rev` (under .tmp/), to run that revision's router."""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", rev], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    tree = REPO_ROOT / ".tmp" / f"bench-baseline-{commit}"
    if not (tree / "supergraph" / "server.py").is_file():
        subprocess.run(
            ["git", "worktree", "add", "--force", "--detach", str(tree), commit], cwd=REPO_ROOT, check=True
        )
    return tree


def gateways(sdl: Path, names: list[str], baseline: Path | None = None) -> list[Gateway]:
    router = [sys.executable, "-m", "supergraph.server"]
    router_env = {
        "SUPERGRAPH_SDL_FILE": str(sdl),
        "ROUTER_POLL_INTERVAL_S": "0",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(REPO_ROOT),
    }
    hive = str(INSTALL_DIR / "node_modules" / ".bin" / "hive-gateway")
    known: dict[str, Callable[[int], Gateway]] = {
        "ours": lambda port: Gateway(
            "ours", router, {**router_env, "ROUTER_PORT": str(port), "ROUTER_DEDUPLICATE_QUERIES": "true"},
            "/graphql",
        ),
        "ours-nodedup": lambda port: Gateway(
            "ours-nodedup", router,
            {**router_env, "ROUTER_PORT": str(port), "ROUTER_DEDUPLICATE_QUERIES": "false"}, "/graphql",
        ),
        "apollo": lambda port: Gateway(
            "apollo", ["node", "apollo-gateway.js", str(sdl), str(port)], {"NODE_ENV": "production"}, "/"
        ),
        "hive": lambda port: Gateway(
            "hive",
            [hive, "supergraph", str(sdl), "--host", "127.0.0.1", "--port", str(port)],
            {"NODE_ENV": "production"}, "/graphql",
        ),
        "hive-inbound": lambda port: Gateway(
            "hive-inbound",
            [hive, "supergraph", str(sdl), "--jit", "--config-path", "hive-gateway.config.ts",
             "--host", "127.0.0.1", "--port", str(port)],
            {"NODE_ENV": "production"}, "/graphql",
        ),
    }  # fmt: skip
    if baseline is not None:
        known["before"] = lambda port: Gateway(
            "before",
            router,
            {**router_env, "PYTHONPATH": str(baseline), "ROUTER_PORT": str(port)},
            "/graphql",
        )
        names = ["before", *names]
    out = []
    for name in names:
        port = _free_port()
        gateway = known[name](port)
        gateway.port = port
        out.append(gateway)
    return out


# ---------------------------------------------------------------------------------------- load


@dataclass
class Result:
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
    threads = min(2, connections)
    argv = _pinned(
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
    return int(httpx.get(stats_url, timeout=5).json()["served"])


def measure(
    gateway: Gateway, connections: int, warmup_s: float, seconds: float, body_file: Path, stats_url: str
) -> Result:
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


def main(argv: list[str] | None = None) -> int:
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
    args = parser.parse_args(argv)
    if not shutil.which("wrk"):
        print("wrk is not installed (Debian: apt-get install wrk)", file=sys.stderr)
        return 2
    if not shutil.which("node") or not shutil.which("npm"):
        print("node and npm are needed for the subgraphs and the Node gateways", file=sys.stderr)
        return 2
    names = [n.strip() for n in args.gateways.split(",") if n.strip()]
    connection_counts = [int(c) for c in args.connections.split(",") if c.strip()]
    install()

    sys.path.insert(0, str(REPO_ROOT))
    from supergraph.compose import SubgraphSource, compose
    from supergraph.rover_config import fetch_sdl

    data = json.loads((BENCH_DIR / "data.json").read_text())
    expected = expected_answer(data)
    query = (BENCH_DIR / "query.graphql").read_text()
    with tempfile.TemporaryDirectory(prefix="bench-gateways-") as tmp:
        workdir = Path(tmp)
        body_file = workdir / "body.json"
        body = json.dumps({"query": query}).encode()
        body_file.write_bytes(body)
        sub_port = _free_port()
        subgraphs = _start(
            _pinned(LOAD_CPU, ["node", "subgraphs.js", str(sub_port)]), {}, workdir / "subgraphs.log"
        )
        running: list[Gateway] = []
        try:
            base = f"http://127.0.0.1:{sub_port}"
            _wait_graphql(f"{base}/accounts", subgraphs)

            async def sources() -> list[SubgraphSource]:
                async with httpx.AsyncClient() as client:
                    return [
                        SubgraphSource(
                            name, f"{base}/{name}", await fetch_sdl(client, name, f"{base}/{name}")
                        )
                        for name in ("accounts", "inventory", "products", "reviews")
                    ]

            import asyncio

            sdl = workdir / "supergraph.graphql"
            sdl.write_text(compose(asyncio.run(sources())))
            baseline = baseline_tree(args.baseline) if args.baseline else None
            for gateway in gateways(sdl, names, baseline):
                gateway.proc = _start(
                    _pinned(GATEWAY_CPU, gateway.argv), gateway.env, workdir / f"{gateway.name}.log"
                )
                running.append(gateway)
                _wait_graphql(gateway.url, gateway.proc)
                problem = check_answer(gateway.url, body, expected)
                if problem:
                    raise RuntimeError(f"{gateway.name} does not give the benchmark's answer: {problem}")
            print(
                f"cpus {os.cpu_count()}, gateway on CPU {GATEWAY_CPU}, subgraphs and wrk on CPU {LOAD_CPU}; "
                f"warm-up {args.warmup:g} s + {args.seconds:g} s per run; load {loadavg()}",
                flush=True,
            )
            results: list[Result] = []
            for connections in connection_counts:
                for gateway in running:
                    result = measure(
                        gateway, connections, args.warmup, args.seconds, body_file, f"{base}/stats"
                    )
                    results.append(result)
                    print(
                        f"  {gateway.name:<13} {connections:>3} conns: {result.rps:7.1f} req/s, "
                        f"p99 {result.p99_ms:7.1f} ms, {result.cpu_ms_per_request:6.2f} CPU-ms/req, "
                        f"{result.errors} errors",
                        flush=True,
                    )
            for gateway in running:
                problem = check_answer(gateway.url, body, expected)
                if problem:
                    raise RuntimeError(f"{gateway.name} answered wrongly after the load: {problem}")
            print_results(results)
            print(
                f"\nevery gateway gave the exact expected answer before and after its runs; load {loadavg()}"
            )
            if args.json:
                Path(args.json).write_text(json.dumps([asdict(r) for r in results], indent=2) + "\n")
        finally:
            for gateway in running:
                _stop(gateway.proc)
            _stop(subgraphs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
