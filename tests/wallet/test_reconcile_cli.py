"""`sawit-reconcile` (python -m subgraphs.wallet.reconcile) reads WALLET_DATABASE_URL like the app,
prints a report, exits 0 on a clean ledger and non-zero once a row was altered behind its back."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from shared.db import Database
from subgraphs.wallet.config import WalletSettings
from subgraphs.wallet.service import WalletService
from tests.support.procs import REPO_ROOT
from tests.wallet.conftest import copy_of


def run_cli(database_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "WALLET_DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "subgraphs.wallet.reconcile"],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
async def ledger_file(tmp_path: Path, migrated_template: Path) -> Path:
    """A SQLite ledger with a few movements, written through the service."""
    path = tmp_path / "ledger.db"
    db = Database(copy_of(migrated_template, path))
    service = WalletService(db, WalletSettings())
    try:
        alice = (await service.create_wallet("alice", "A")).wallet_id
        bob = (await service.create_wallet("bob", "B")).wallet_id
        await service.topup(transaction_id="dep", user_id="alice", wallet_id=alice, amount_minor=10_000)
        await service.transfer(
            transaction_id="tr", user_id="alice", from_wallet_id=alice, to_wallet_id=bob, amount_minor=2_550
        )
        await service.deduct(transaction_id="pay", user_id="bob", wallet_id=bob, amount_minor=550)
    finally:
        await db.dispose()
    return path


def test_the_cli_exits_zero_on_a_clean_ledger_and_non_zero_after_tampering(ledger_file: Path) -> None:
    url = f"sqlite+aiosqlite:///{ledger_file}"

    clean = run_cli(url)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "OK: the ledger reconciles" in clean.stdout
    assert "sum of all balances: 0.00" in clean.stdout
    assert "customer accounts: 94.50" in clean.stdout

    with sqlite3.connect(ledger_file) as connection:
        connection.execute(
            "UPDATE ledger_entries SET amount_minor = amount_minor + 1 WHERE transaction_id = 'pay'"
        )

    tampered = run_cli(url)
    assert tampered.returncode != 0
    assert "DRIFT account" in tampered.stdout and "FAILED" in tampered.stdout
    assert "UNBALANCED" not in tampered.stdout


def test_the_cli_reports_a_transfer_whose_sides_differ(ledger_file: Path) -> None:
    with sqlite3.connect(ledger_file) as connection:
        connection.execute(
            "UPDATE ledger_entries SET amount_minor = amount_minor + 50, balance_after = balance_after + 50 "
            "WHERE transaction_id = 'tr' AND direction = 'CREDIT'"
        )
        connection.execute("UPDATE wallets SET balance = balance + 50 WHERE owner_id = 'bob'")

    result = run_cli(f"sqlite+aiosqlite:///{ledger_file}")

    assert result.returncode != 0
    assert "UNBALANCED transaction tr" in result.stdout


def test_the_cli_says_so_when_the_ledger_cannot_be_read(tmp_path: Path) -> None:
    result = run_cli(f"sqlite+aiosqlite:///{tmp_path / 'not-migrated.db'}")

    assert result.returncode == 2
    assert "cannot read the wallet ledger" in result.stderr
    assert "Traceback" not in result.stderr
