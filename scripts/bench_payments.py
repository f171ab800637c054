"""Payments end to end through the router: throughput, latency and CPU per payment of the whole stack.

Starts the whole system as real processes (`tests.support.stack.Stack`: five subgraphs, the
marketplace sandbox and the router; SQLite files in a temporary directory, or with `--postgres` a
fresh PostgreSQL database per subgraph on SAWIT_TEST_POSTGRES_URL), then drives
`createTransaction` through :8000-style `/graphql` of the router from N concurrent clients (one user
and wallet each) for `--seconds`:

- `deposit`: DEPOSIT sagas only (fraud check, idempotent wallet credit, SUCCESS + outbox rows,
  history delivery in the background);
- `mix`: each client in turn makes a DEPOSIT, a TRANSFER to the next client's wallet and a PAYMENT
  of a marketplace order's VA (orders are created at the sandbox before the measured window).

Printed per run: SUCCESS payments/s, latency p50/p95/p99, every outcome, and the CPU each process
spent during the window (user + system from /proc, whole process tree) divided by the SUCCESS
count: the CPU-ms per payment of each process and summed over our six processes (the sandbox, the
stand-in for the external marketplace, is shown apart). The load generator is not counted.

After every run, once the outbox has delivered everything: `sawit-reconcile` must hold, history
must hold every SUCCESS transaction exactly once, and the wallets must hold exactly what the
SUCCESS outcomes moved. The fraud velocity rule is raised for the run (FRAUD_VELOCITY_MAX_CHECKS),
since one benchmark client issues far more than 10 checks a minute; every other rule is as
configured, and every process logs at its default level (INFO: one JSON line per request).

    .venv/bin/python -m scripts.bench_payments [--runs deposit:10,deposit:50,mix:50] [--seconds 20]
        [--postgres] [--json results.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from scripts.proc_cpu import cpu_seconds, loadavg

REPO_ROOT = Path(__file__).resolve().parents[1]
OUR_PROCESSES = ("router", "auth", "wallet", "transactions", "fraud", "history")
DEPOSIT_RUPIAH = 10
TRANSFER_RUPIAH = 1
SEED_RUPIAH = 1_000_000

# Over the end-to-end stack's fast settings: production's default router polling, and the velocity
# rule out of the way (one benchmark client pays far more often than 10 times a minute).
BENCH_ENV = {"ROUTER_POLL_INTERVAL_S": "10", "FRAUD_VELOCITY_MAX_CHECKS": "100000000"}

CREATE_WALLET = 'mutation { createWallet(walletName: "bench") { walletId } }'
CREATE_TX = """mutation Pay($input: CreateTransactionInput!) {
  createTransaction(input: $input) { transactionId status amount }
}"""
CREATE_ORDER = """mutation ($p: ID!, $q: Int!) {
  createOrder(input: {productId: $p, quantity: $q, alamatPengiriman: "Jalan Bench 1",
                      metodePengiriman: "REGULER", kotaTujuanId: "1"}) { nomorVA totalHarga }
}"""


# ------------------------------------------------------------------------------------ measuring


@dataclass
class Client:
    token: str
    wallet_id: str
    user_id: str
    vas: list[tuple[str, str]] = field(default_factory=list)  # (VA number, amount) of unpaid orders


@dataclass
class RunResult:
    backend: str
    mode: str
    clients: int
    seconds: float
    payments_per_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    outcomes: dict[str, int]
    cpu_ms_per_payment: dict[str, float]
    cpu_ms_per_payment_total: float
    load_before: str
    load_after: str
    checks: list[str]


# ---------------------------------------------------------------------------------------- load


class Load:
    """Drives the router with aiohttp (cheap, so the load generator steals little CPU)."""

    def __init__(self, url: str, session: aiohttp.ClientSession) -> None:
        self.url = url
        self.session = session

    async def gql(self, query: str, variables: dict[str, Any] | None = None, token: str | None = None) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.session.post(
            self.url, json={"query": query, "variables": variables or {}}, headers=headers
        ) as response:
            return await response.json()


async def _clients(load: Load, count: int) -> list[Client]:
    from tests.support.tokens import user_token

    out = []
    for _ in range(count):
        user_id = str(uuid.uuid4())
        token = user_token(user_id, ttl_s=3600)
        body = await load.gql(CREATE_WALLET, token=token)
        out.append(Client(token, body["data"]["createWallet"]["walletId"], user_id))
    return out


def _tx_input(client: Client, kind: str, peer: Client) -> dict[str, Any]:
    if kind == "DEPOSIT":
        return {"walletId": client.wallet_id, "amount": DEPOSIT_RUPIAH, "type": "DEPOSIT"}
    if kind == "TRANSFER":
        return {
            "walletId": client.wallet_id,
            "amount": TRANSFER_RUPIAH,
            "type": "TRANSFER",
            "toWalletId": peer.wallet_id,
        }
    va, amount = client.vas.pop()
    return {"walletId": client.wallet_id, "amount": amount, "type": "PAYMENT", "vaNumber": va}


async def drive(
    load: Load, clients: list[Client], mode: str, seconds: float
) -> tuple[Counter[str], list[float], list[tuple[str, dict[str, Any]]]]:
    """Every client in a loop until the deadline; (outcomes, latencies, SUCCESS (type, input))."""
    outcomes: Counter[str] = Counter()
    latencies: list[float] = []
    succeeded: list[tuple[str, dict[str, Any]]] = []
    deadline = time.monotonic() + seconds
    cycle = ["DEPOSIT"] if mode == "deposit" else ["DEPOSIT", "TRANSFER", "PAYMENT"]

    async def run(index: int) -> None:
        client, peer = clients[index], clients[(index + 1) % len(clients)]
        step = 0
        while time.monotonic() < deadline:
            kind = cycle[step % len(cycle)]
            step += 1
            if kind == "PAYMENT" and not client.vas:
                continue
            inp = _tx_input(client, kind, peer)
            started = time.perf_counter()
            try:
                body = await load.gql(CREATE_TX, {"input": inp}, client.token)
            except (aiohttp.ClientError, TimeoutError) as exc:
                outcomes[f"{kind} transport:{type(exc).__name__}"] += 1
                continue
            latencies.append(time.perf_counter() - started)
            if body.get("errors"):
                outcomes[f"{kind} error:{body['errors'][0].get('extensions', {}).get('code')}"] += 1
                continue
            status = body["data"]["createTransaction"]["status"]
            outcomes[f"{kind} {status}"] += 1
            if status == "SUCCESS":
                succeeded.append((body["data"]["createTransaction"]["transactionId"], {"type": kind, **inp}))

    await asyncio.gather(*(run(i) for i in range(len(clients))))
    return outcomes, latencies, succeeded


# -------------------------------------------------------------------------------------- checks


async def history_counts(load: Load, admin: str) -> Counter[tuple[str, str]]:
    """How many SUCCESS entries history holds per (transaction id, direction): OUT for the user who
    made it, and IN for the receiver of a transfer (the whole audit trail, paged)."""
    counts: Counter[tuple[str, str]] = Counter()
    after: str | None = None
    while True:
        body = await load.gql(
            "query ($a: String) { auditTrail(first: 200, after: $a) {"
            " historyId transactionId status direction } }",
            {"a": after},
            admin,
        )
        page = body["data"]["auditTrail"]
        for entry in page:
            if entry["status"] == "SUCCESS":
                counts[(entry["transactionId"], entry["direction"])] += 1
        if len(page) < 200:
            return counts
        after = page[-1]["historyId"]


async def check(
    stack: Any, load: Load, admin: str, clients: list[Client], succeeded_ever: dict[str, dict[str, Any]]
) -> list[str]:
    """The invariants after a run; raises AssertionError naming the first one broken."""
    deadline = time.monotonic() + 120
    while True:
        counts = await history_counts(load, admin)
        wanted = [(tx, "OUT") for tx in succeeded_ever]
        wanted += [(tx, "IN") for tx, inp in succeeded_ever.items() if inp["type"] == "TRANSFER"]
        missing = [key for key in wanted if counts.get(key, 0) == 0]
        if not missing or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    twice = [key for key, n in counts.items() if n > 1]
    assert not missing, f"history lacks {len(missing)} SUCCESS entries, e.g. {missing[:3]}"
    assert not twice, f"history holds {len(twice)} SUCCESS entries more than once"
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "subgraphs.wallet.reconcile"],
        env={**os.environ, "WALLET_DATABASE_URL": stack.database_urls["wallet"]},
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
    )
    assert done.returncode == 0, f"sawit-reconcile failed:\n{done.stdout}\n{done.stderr}"
    expected: Counter[str] = Counter()
    for inp in succeeded_ever.values():
        amount = int(float(inp["amount"]) * 100)
        if inp["type"] == "DEPOSIT":
            expected[inp["walletId"]] += amount
        elif inp["type"] == "TRANSFER":
            expected[inp["walletId"]] -= amount
            expected[inp["toWalletId"]] += amount
        else:
            expected[inp["walletId"]] -= amount
    for client in clients:
        body = await load.gql(
            "query ($w: ID!) { wallet(walletId: $w) { balance } }", {"w": client.wallet_id}, client.token
        )
        held = round(float(body["data"]["wallet"]["balance"]) * 100)
        want = expected[client.wallet_id]
        assert held == want, f"wallet {client.wallet_id} holds {held} sen, its SUCCESS outcomes say {want}"
    return [
        f"history: all {len(succeeded_ever)} SUCCESS transactions exactly once (transfers: once per side)",
        "sawit-reconcile: " + (done.stdout.strip().splitlines() or ["ok"])[-1],
        f"balances: each of {len(clients)} wallets holds exactly what its SUCCESS outcomes moved",
    ]


# ----------------------------------------------------------------------------------------- runs


async def prepare_orders(stack: Any, load: Load, clients: list[Client], per_client: int) -> None:
    """Marketplace orders (VAs) for the mix's PAYMENTs, made at the sandbox before the window."""
    from tests.e2e.flows import marketplace_buyer

    buyer = await asyncio.to_thread(marketplace_buyer, stack)
    orders = Load(stack.sandbox_orders_url, load.session)

    async def one(client: Client) -> None:
        for _ in range(per_client):
            body = await orders.gql(CREATE_ORDER, {"p": "1", "q": 1}, buyer)
            order = body["data"]["createOrder"]
            total = order["totalHarga"]
            client.vas.append(
                (order["nomorVA"], str(int(total)) if float(total).is_integer() else str(total))
            )

    await asyncio.gather(*(one(c) for c in clients))


async def _seed_deposits(load: Load, clients: list[Client]) -> None:
    """Every client's wallet gets SEED_RUPIAH first (each deposit must succeed)."""
    seed = [
        load.gql(
            CREATE_TX,
            {"input": {"walletId": c.wallet_id, "amount": SEED_RUPIAH, "type": "DEPOSIT"}},
            c.token,
        )
        for c in clients
    ]
    for body in await asyncio.gather(*seed):
        tx = body["data"]["createTransaction"]
        assert tx["status"] == "SUCCESS", body


async def one_run(
    stack: Any, backend: str, mode: str, clients_n: int, seconds: float, state: dict[str, Any]
) -> RunResult:
    timeout = aiohttp.ClientTimeout(total=120)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        load = Load(stack.router_url, session)
        clients = await _clients(load, clients_n)
        await _seed_deposits(load, clients)
        succeeded_ever = state.setdefault("succeeded", {})
        if mode == "mix":
            # ~1 PAYMENT in 3 calls; enough VAs for a generous rate
            await prepare_orders(stack, load, clients, per_client=max(4, int(seconds * 4)))
        await drive(load, clients, mode, min(2.0, seconds))  # warm-up: connections, caches, pages
        load_before = loadavg()
        cpu_before = {name: cpu_seconds(p.proc.pid) for name, p in stack.processes.items()}
        started = time.monotonic()
        outcomes, latencies, succeeded = await drive(load, clients, mode, seconds)
        elapsed = time.monotonic() - started
        cpu = {name: cpu_seconds(p.proc.pid) - cpu_before[name] for name, p in stack.processes.items()}
        load_after = loadavg()
        ok = sum(n for key, n in outcomes.items() if key.endswith(" SUCCESS"))
        # every SUCCESS the clients saw, this run and before, seed deposits included
        all_success = await _all_success(load, clients)
        succeeded_ever.update(all_success)
        for tx_id, inp in succeeded:
            assert tx_id in all_success, (
                f"SUCCESS {tx_id} ({inp['type']}) is not among the wallets' transactions"
            )
        admin = state.get("admin")
        if admin is None:
            from tests.e2e.flows import admin_token

            admin = state["admin"] = await asyncio.to_thread(admin_token, stack)
        checks = await check(stack, load, admin, state.setdefault("clients", []) + clients, succeeded_ever)
        state["clients"].extend(clients)
    ordered = sorted(latencies) or [0.0]

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000

    per_payment = {name: cpu[name] * 1000 / max(ok, 1) for name in cpu}
    return RunResult(
        backend=backend,
        mode=mode,
        clients=clients_n,
        seconds=elapsed,
        payments_per_s=ok / elapsed,
        p50_ms=pct(0.5),
        p95_ms=pct(0.95),
        p99_ms=pct(0.99),
        outcomes=dict(outcomes),
        cpu_ms_per_payment=per_payment,
        cpu_ms_per_payment_total=sum(per_payment[name] for name in OUR_PROCESSES if name in per_payment),
        load_before=load_before,
        load_after=load_after,
        checks=checks,
    )


async def _all_success(load: Load, clients: list[Client]) -> dict[str, dict[str, Any]]:
    """Every SUCCESS transaction of these clients' wallets, as the transactions subgraph lists it."""
    found: dict[str, dict[str, Any]] = {}
    for client in clients:
        after: str | None = None
        while True:
            body = await load.gql(
                """query ($a: String) {
                     myTransactions(status: SUCCESS, direction: OUT, first: 200, after: $a) {
                     transactionId type amount walletId toWalletId } }""",
                {"a": after},
                client.token,
            )
            page = body["data"]["myTransactions"]
            for tx in page:
                found[tx["transactionId"]] = {
                    "type": tx["type"],
                    "walletId": tx["walletId"],
                    "toWalletId": tx.get("toWalletId"),
                    "amount": tx["amount"],
                }
            if len(page) < 200:
                break
            after = page[-1]["transactionId"]
    return found


def print_result(r: RunResult) -> None:
    print(
        f"\n[{r.backend}] {r.mode}, {r.clients} clients, {r.seconds:.1f} s: "
        f"{r.payments_per_s:.1f} payments/s (SUCCESS), "
        f"latency p50 {r.p50_ms:.0f} ms  p95 {r.p95_ms:.0f} ms  p99 {r.p99_ms:.0f} ms"
    )
    print(f"  outcomes: {r.outcomes}")
    parts = "  ".join(
        f"{name} {ms:.1f}" for name, ms in r.cpu_ms_per_payment.items() if name in OUR_PROCESSES
    )
    print(f"  CPU-ms per payment: total {r.cpu_ms_per_payment_total:.1f}  ({parts})")
    if "sandbox" in r.cpu_ms_per_payment:
        print(f"  (marketplace sandbox, not ours: {r.cpu_ms_per_payment['sandbox']:.1f} CPU-ms per payment)")
    print(f"  load before {r.load_before}, after {r.load_after}")
    for line in r.checks:
        print(f"  ok: {line}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--runs", default="deposit:10,deposit:50,mix:50", help="mode:clients, comma-separated"
    )
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("BENCH_SECONDS", "20")))
    parser.add_argument(
        "--postgres", action="store_true", help="also run on PostgreSQL (SAWIT_TEST_POSTGRES_URL)"
    )
    parser.add_argument("--only-postgres", action="store_true", help="run on PostgreSQL only")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    runs = [(mode, int(n)) for mode, _, n in (item.partition(":") for item in args.runs.split(","))]
    sys.path.insert(0, str(REPO_ROOT))
    backends = [] if args.only_postgres else ["sqlite"]
    if args.postgres or args.only_postgres:
        if not os.environ.get("SAWIT_TEST_POSTGRES_URL"):
            print("--postgres needs SAWIT_TEST_POSTGRES_URL", file=sys.stderr)
            return 2
        backends.append("postgres")
    results: list[RunResult] = []
    with ExitStack() as stack_scope:
        workdir = Path(stack_scope.enter_context(tempfile.TemporaryDirectory(prefix="bench-payments-")))
        os.environ["KEYS_DIR"] = str(workdir / "keys")
        from scripts.keygen import ensure_keys
        from shared.settings import get_settings
        from tests.support.stack import Stack, fresh_postgres_urls

        get_settings.cache_clear()
        ensure_keys(Path(os.environ["KEYS_DIR"]))
        print(f"cpus {os.cpu_count()}, load {loadavg()}; {args.seconds:g} s per run after a 2 s warm-up")
        for backend in backends:
            with ExitStack() as scope:
                urls = (
                    scope.enter_context(fresh_postgres_urls("sawit_bench")) if backend == "postgres" else None
                )
                env = {"KEYS_DIR": os.environ["KEYS_DIR"]}
                stack = Stack(workdir / backend, env, database_urls=urls, extra_env=BENCH_ENV)
                stack.start()
                scope.callback(stack.stop)
                state: dict[str, Any] = {}
                for mode, clients in runs:
                    result = asyncio.run(one_run(stack, backend, mode, clients, args.seconds, state))
                    print_result(result)
                    results.append(result)
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(r) for r in results], indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
