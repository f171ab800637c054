"""Benchmark the wallet ledger through HTTP: debits per second on a real wallet process.

Starts a wallet subgraph on a free port (SQLite; and PostgreSQL on a fresh, afterwards dropped
database when SAWIT_TEST_POSTGRES_URL is set) and, with service tokens and 50 concurrent clients,
measures (a) contention on one wallet and (b) debits spread over 100 distinct wallets. Each case is
bounded by time (BENCH_SECONDS, default 3) and prints debits/second.

    .venv/bin/python -m scripts.bench_wallet
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

import httpx

CLIENTS = 50
WALLETS = 100
CASE_SECONDS = float(os.environ.get("BENCH_SECONDS", "3"))

DEDUCT = """
mutation D($input: LedgerInput!) { deductWallet(input: $input) { balanceAfter replayed } }
"""
TOPUP = """
mutation T($input: LedgerInput!) { topupWallet(input: $input) { balanceAfter } }
"""
CREATE = 'mutation { createWallet(walletName: "bench") { walletId } }'


async def _post(client: httpx.AsyncClient, url: str, token: str, query: str, **variables: object) -> dict:
    response = await client.post(
        url, json={"query": query, "variables": variables}, headers={"Authorization": f"Bearer {token}"}
    )
    response.raise_for_status()
    return response.json()


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far; 0.0 where /proc is absent."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _case(url: str, title: str, wallet_count: int, server_pid: int) -> float:
    from tests.support.tokens import service_token, user_token

    service = service_token("wallet:credit", "wallet:debit")
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    async with httpx.AsyncClient(limits=limits, timeout=60.0) as client:
        owners: list[tuple[str, str]] = []
        for _ in range(wallet_count):
            user = uuid.uuid4().hex
            body = await _post(client, url, user_token(user), CREATE)
            wallet_id = body["data"]["createWallet"]["walletId"]
            inp = {
                "transactionId": uuid.uuid4().hex,
                "userId": user,
                "walletId": wallet_id,
                "amount": 1_000_000,
            }
            await _post(client, url, service, TOPUP, input=inp)
            owners.append((user, wallet_id))

        done = 0
        failed = 0
        deadline = time.monotonic() + CASE_SECONDS

        async def worker(index: int) -> None:
            nonlocal done, failed
            step = 0
            while time.monotonic() < deadline:
                user, wallet_id = owners[(index + step * CLIENTS) % len(owners)]
                step += 1
                inp = {"transactionId": uuid.uuid4().hex, "userId": user, "walletId": wallet_id, "amount": 1}
                body = await _post(client, url, service, DEDUCT, input=inp)
                if body.get("errors"):
                    failed += 1
                else:
                    done += 1

        started = time.monotonic()
        cpu_before = _cpu_s(server_pid)
        await asyncio.gather(*(worker(i) for i in range(CLIENTS)))
        elapsed = time.monotonic() - started
        server_cpu_ms = (_cpu_s(server_pid) - cpu_before) * 1000 / max(done + failed, 1)
    rate = done / elapsed
    print(
        f"  {title:<40} {rate:8.1f} debits/s  ({done} ok, {failed} failed, {elapsed:.1f} s;"
        f" server CPU {server_cpu_ms:.1f} ms/debit)"
    )
    return rate


def _run_backend(label: str, database_url: str, workdir: Path) -> None:
    from tests.support.procs import start_subgraph

    env = {"WALLET_DATABASE_URL": database_url, "LOG_LEVEL": "WARNING", "KEYS_DIR": os.environ["KEYS_DIR"]}
    process, port = start_subgraph("wallet", env, workdir / label)
    try:
        url = f"http://127.0.0.1:{port}/graphql"
        print(
            f"{label}: wallet process on :{port}, {CLIENTS} concurrent clients, {CASE_SECONDS:.0f} s per case"
        )
        pid = process.proc.pid if process.proc else 0
        asyncio.run(_case(url, "(a) one wallet, all clients contend", 1, pid))
        asyncio.run(_case(url, f"(b) {WALLETS} distinct wallets", WALLETS, pid))
    finally:
        process.stop()


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-wallet-")))
        os.environ.setdefault("KEYS_DIR", str(workdir / "keys"))
        from scripts.keygen import ensure_keys
        from shared.settings import get_settings

        get_settings.cache_clear()
        ensure_keys(Path(os.environ["KEYS_DIR"]))
        _run_backend("sqlite", f"sqlite+aiosqlite:///{workdir / 'wallets.db'}", workdir)
        if os.environ.get("SAWIT_TEST_POSTGRES_URL"):
            from tests.support.postgres import fresh_database

            with fresh_database("sawit_bench") as database_url:
                _run_backend("postgres", database_url, workdir)
        else:
            print("postgres: skipped (set SAWIT_TEST_POSTGRES_URL to include it)")


if __name__ == "__main__":
    main()
