"""Random sequences of ledger operations against service.py (SQLite file), checked step by step
against a reference model and the ledger's invariants: balance >= 0, balance == credits - debits,
and money is created only by top-ups and destroyed only by deductions."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from shared.db import Database
from shared.errors import AppError
from subgraphs.wallet.config import WalletSettings
from subgraphs.wallet.service import WalletService, entries_t, wallets_t
from tests.wallet.conftest import sqlite_url

OWNERS = ("u1", "u1", "u2")  # wallets 0 and 1 belong to u1, wallet 2 to u2
MAX_BALANCE = 5_000
MONTHLY_INCOMING = 12_000

wallet_index = st.integers(0, len(OWNERS) - 1)
amounts = st.one_of(st.integers(1, 4_000), st.sampled_from([2_500, 4_000]))
wrong_user = st.integers(0, 7).map(lambda n: n == 0)  # mostly the owner, sometimes someone else
operation = st.one_of(
    st.tuples(st.just("topup"), wallet_index, amounts, wrong_user),
    st.tuples(st.just("topup"), wallet_index, amounts, wrong_user),
    st.tuples(st.just("deduct"), wallet_index, amounts, wrong_user),
    st.tuples(st.just("transfer"), wallet_index, wallet_index, amounts, wrong_user),
    st.tuples(st.just("replay"), st.integers(0, 100), st.booleans()),
    st.tuples(st.just("freeze"), wallet_index, st.integers(0, 2).map(lambda n: n == 0)),
)


@dataclass
class Model:
    """What the ledger should hold, computed without a database."""

    balances: list[int] = field(default_factory=lambda: [0] * len(OWNERS))
    incoming: list[int] = field(default_factory=lambda: [0] * len(OWNERS))
    frozen: list[bool] = field(default_factory=lambda: [False] * len(OWNERS))
    recorded: dict[str, tuple] = field(default_factory=dict)
    deposits: int = 0
    payments: int = 0

    def expect(self, call: tuple) -> str:
        """The outcome the service must report: an error code, "OK" or "REPLAY"."""
        kind, tx, user, *rest = call
        if kind == "transfer" and rest[0] == rest[1]:
            return "BAD_USER_INPUT"
        if tx in self.recorded:
            return "REPLAY" if self.recorded[tx] == call else "IDEMPOTENCY_KEY_REUSED"
        source = rest[0]
        if OWNERS[source] != user:
            return "FORBIDDEN"
        if self.frozen[source] or (kind == "transfer" and self.frozen[rest[1]]):
            return "WALLET_FROZEN"
        amount = rest[-1]
        if kind in ("deduct", "transfer") and self.balances[source] < amount:
            return "INSUFFICIENT_FUNDS"
        target = source if kind == "topup" else rest[1] if kind == "transfer" else None
        if target is not None:
            if (
                self.balances[target] + amount > MAX_BALANCE
                or self.incoming[target] + amount > MONTHLY_INCOMING
            ):
                return "LIMIT_EXCEEDED"
        return "OK"

    def apply(self, call: tuple) -> None:
        kind, tx, _user, *rest = call
        amount = rest[-1]
        self.recorded[tx] = call
        if kind == "topup":
            self.balances[rest[0]] += amount
            self.incoming[rest[0]] += amount
            self.deposits += amount
        elif kind == "deduct":
            self.balances[rest[0]] -= amount
            self.payments += amount
        else:
            self.balances[rest[0]] -= amount
            self.balances[rest[1]] += amount
            self.incoming[rest[1]] += amount


async def perform(service: WalletService, wallet_ids: list[str], call: tuple) -> tuple[str, list[int]]:
    """Run one call; (outcome, balance_after of each move)."""
    kind, tx, user, *rest = call
    try:
        if kind == "topup":
            move = await service.topup(
                transaction_id=tx, user_id=user, wallet_id=wallet_ids[rest[0]], amount_minor=rest[1]
            )
            moves = [move]
        elif kind == "deduct":
            move = await service.deduct(
                transaction_id=tx, user_id=user, wallet_id=wallet_ids[rest[0]], amount_minor=rest[1]
            )
            moves = [move]
        else:
            transfer = await service.transfer(
                transaction_id=tx,
                user_id=user,
                from_wallet_id=wallet_ids[rest[0]],
                to_wallet_id=wallet_ids[rest[1]],
                amount_minor=rest[2],
            )
            moves = [transfer.debit, transfer.credit]
            assert transfer.replayed == transfer.debit.replayed == transfer.credit.replayed
    except AppError as error:
        return error.code.value, []
    return ("REPLAY" if moves[0].replayed else "OK"), [move.balance_after for move in moves]


async def assert_invariants(service: WalletService, wallet_ids: list[str], model: Model) -> None:
    signed = case(
        (entries_t.c.direction == "CREDIT", entries_t.c.amount_minor), else_=-entries_t.c.amount_minor
    )

    def read(session: Session) -> tuple[dict[str, int], dict[str, int]]:
        balances = dict(session.execute(select(wallets_t.c.wallet_id, wallets_t.c.balance)).all())
        ledger = dict(
            session.execute(
                select(entries_t.c.wallet_id, func.sum(signed)).group_by(entries_t.c.wallet_id)
            ).all()
        )
        return balances, ledger

    balances, ledger = await service.db.read(read)
    actual = [balances[wallet_id] for wallet_id in wallet_ids]
    assert all(balance >= 0 for balance in actual)
    assert actual == [ledger.get(wallet_id, 0) for wallet_id in wallet_ids]  # balance == credits - debits
    assert sum(actual) == model.deposits - model.payments  # created by top-ups, destroyed by deductions
    assert actual == model.balances


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(operation, min_size=1, max_size=14))
async def test_random_operation_sequences_keep_every_ledger_invariant(
    migrated_template: Path, steps: list
) -> None:
    path = migrated_template.parent / f"{uuid.uuid4().hex}.db"
    await asyncio.to_thread(shutil.copyfile, migrated_template, path)
    db = Database(sqlite_url(path))
    service = WalletService(
        db, WalletSettings(max_balance_minor=MAX_BALANCE, monthly_incoming_limit_minor=MONTHLY_INCOMING)
    )
    try:
        wallet_ids = [
            (await service.create_wallet(owner, f"w{i}")).wallet_id for i, owner in enumerate(OWNERS)
        ]
        model = Model()
        history: list[tuple] = []
        for number, step in enumerate(steps):
            if step[0] == "freeze":
                _, index, frozen = step
                await service.set_frozen(wallet_ids[index], frozen)
                model.frozen[index] = frozen
                continue
            if step[0] == "replay":
                if not history:
                    continue
                call = history[step[1] % len(history)]
                if step[2]:  # the same id with another amount
                    call = (*call[:-1], call[-1] + 1)
            else:
                kind, *args, wrong_user = step
                owner = OWNERS[args[0]]
                user = ("u2" if owner == "u1" else "u1") if wrong_user else owner
                call = (kind, f"tx-{number}", user, *args)
            expected = model.expect(call)
            outcome, balances_after = await perform(service, wallet_ids, call)
            assert outcome == expected, (call, outcome, expected)
            if outcome == "OK":
                model.apply(call)
                assert balances_after == [model.balances[i] for i in call[3:-1]]
            history.append(call)
            await assert_invariants(service, wallet_ids, model)
    finally:
        await db.dispose()
        path.unlink(missing_ok=True)
