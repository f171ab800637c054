"""Benchmark the payment saga: DEPOSIT transactions per second through the transactions subgraph.

Starts real wallet, fraud, history and transactions processes on free ports (SQLite files in a
temporary directory; with `--postgres` and SAWIT_TEST_POSTGRES_URL set, the transactions database
is a fresh PostgreSQL one) and drives `createTransaction(type: DEPOSIT)` from 50 concurrent
clients (one user and wallet each) for BENCH_SECONDS (default 5). Every call runs the whole saga:
fraud check, idempotent wallet credit, SUCCESS + outbox rows, history delivery in the background.
Prints SUCCESS payments/second, latency percentiles and the outcome of every call.

The fraud velocity rule is raised for the run (FRAUD_VELOCITY_MAX_CHECKS), since one benchmark
client issues far more than 10 checks a minute; every other rule is as configured.

    .venv/bin/python -m scripts.bench_payments [--seconds 5] [--clients 50] [--postgres]
    .venv/bin/python -m scripts.bench_payments --url http://127.0.0.1:8000/graphql \
        --wallet-url http://127.0.0.1:8000/graphql      # an already running stack / the router
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

import httpx

CREATE_WALLET = 'mutation { createWallet(walletName: "bench") { walletId } }'
DEPOSIT = """mutation D($w: ID!) {
  createTransaction(input: {walletId: $w, amount: 10, type: DEPOSIT}) { transactionId status }
}"""


async def _post(client: httpx.AsyncClient, url: str, token: str, query: str, **variables: object) -> dict:
    response = await client.post(
        url, json={"query": query, "variables": variables}, headers={"Authorization": f"Bearer {token}"}
    )
    return response.json()


async def _run(url: str, wallet_url: str, clients: int, seconds: float) -> float:
    from tests.support.tokens import user_token

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=60.0) as http:
        users: list[tuple[str, str]] = []
        for _ in range(clients):
            token = user_token(str(uuid.uuid4()))
            body = await _post(http, wallet_url, token, CREATE_WALLET)
            users.append((token, body["data"]["createWallet"]["walletId"]))
        for token, wallet_id in users[:3]:  # warm-up: connections, caches, first SQLite pages
            await _post(http, url, token, DEPOSIT, w=wallet_id)

        outcomes: Counter[str] = Counter()
        latencies: list[float] = []
        deadline = time.monotonic() + seconds

        async def client(token: str, wallet_id: str) -> None:
            while time.monotonic() < deadline:
                started = time.perf_counter()
                try:
                    body = await _post(http, url, token, DEPOSIT, w=wallet_id)
                except httpx.HTTPError as exc:
                    outcomes[f"transport:{type(exc).__name__}"] += 1
                    continue
                latencies.append(time.perf_counter() - started)
                if body.get("errors"):
                    outcomes[f"error:{body['errors'][0].get('extensions', {}).get('code')}"] += 1
                else:
                    outcomes[body["data"]["createTransaction"]["status"]] += 1

        started = time.monotonic()
        await asyncio.gather(*(client(token, wallet_id) for token, wallet_id in users))
        elapsed = time.monotonic() - started
    ok = outcomes.get("SUCCESS", 0)
    rate = ok / elapsed
    ordered = sorted(latencies) or [0.0]

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000

    print(f"  {rate:8.1f} payments/s  ({ok} SUCCESS in {elapsed:.1f} s, {clients} concurrent clients)")
    print(
        f"  latency ms: p50 {pct(0.5):.0f}  p95 {pct(0.95):.0f}  p99 {pct(0.99):.0f}  "
        f"mean {statistics.fmean(ordered) * 1000:.0f}"
    )
    print(f"  outcomes: {dict(outcomes)}")
    return rate


def _start_stack(workdir: Path, transactions_db: str) -> tuple[list, str, str]:
    from tests.support.procs import start_subgraph

    env = {
        "KEYS_DIR": os.environ["KEYS_DIR"],
        "LOG_LEVEL": "WARNING",
        "FRAUD_VELOCITY_MAX_CHECKS": "1000000",
        "WALLET_DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'wallets.db'}",
        "FRAUD_DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'fraud.db'}",
        "HISTORY_DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'history.db'}",
        "TRANSACTIONS_DATABASE_URL": transactions_db,
    }
    procs = []
    urls: dict[str, str] = {}
    for name in ("wallet", "fraud", "history"):
        proc, port = start_subgraph(name, env, workdir / "logs")
        procs.append(proc)
        urls[name] = f"http://127.0.0.1:{port}/graphql"
    env.update({f"{name.upper()}_URL": url for name, url in urls.items()})
    proc, port = start_subgraph("transactions", env, workdir / "logs")
    procs.append(proc)
    return procs, f"http://127.0.0.1:{port}/graphql", urls["wallet"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("BENCH_SECONDS", "5")))
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--postgres", action="store_true", help="transactions DB on SAWIT_TEST_POSTGRES_URL")
    parser.add_argument("--url", help="createTransaction endpoint of a running stack (skips starting one)")
    parser.add_argument("--wallet-url", help="createWallet endpoint of that stack (default: --url)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    with ExitStack() as stack:
        if args.url:
            # A running stack (./scripts/run) verifies tokens with its own keys: $KEYS_DIR or keys/.
            print(f"running stack at {args.url}: DEPOSIT sagas, {args.seconds:.0f} s")
            asyncio.run(_run(args.url, args.wallet_url or args.url, args.clients, args.seconds))
            return 0
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-payments-")))
        os.environ.setdefault("KEYS_DIR", str(workdir / "keys"))
        from scripts.keygen import ensure_keys
        from shared.settings import get_settings

        get_settings.cache_clear()
        ensure_keys(Path(os.environ["KEYS_DIR"]))
        transactions_db = f"sqlite+aiosqlite:///{workdir / 'transactions.db'}"
        label = "sqlite"
        if args.postgres:
            if not os.environ.get("SAWIT_TEST_POSTGRES_URL"):
                print("--postgres needs SAWIT_TEST_POSTGRES_URL", file=sys.stderr)
                return 2
            from tests.support.postgres import fresh_database

            transactions_db = stack.enter_context(fresh_database("sawit_bench_tx"))
            label = "postgres (transactions DB)"
        procs, url, wallet_url = _start_stack(workdir, transactions_db)
        for proc in procs:
            stack.callback(proc.stop)
        print(f"{label}: wallet/fraud/history/transactions processes; DEPOSIT sagas for {args.seconds:.0f} s")
        asyncio.run(_run(url, wallet_url, args.clients, args.seconds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
