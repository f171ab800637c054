"""Reconciliation: prove from the ledger that every balance is right (`sawit-reconcile`).

For every wallet, balance == its credits - its debits, and its monthly-incoming counter (what the
Bank Indonesia limit is checked against) == this month's incoming credits; over all wallets, the sum
of balances == everything credited - everything debited; and every transfer nets to zero. Prints a report and
exits non-zero on any drift. Reads `WALLET_DATABASE_URL` (or `DATABASE_URL`) like the app.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from shared.db import Database
from shared.money import format_minor
from shared.settings import get_settings
from subgraphs.wallet.models import Direction, OperationKind, utcnow
from subgraphs.wallet.service import entries_t, month_key, month_start, operations_t, wallets_t


@dataclass(frozen=True)
class WalletDrift:
    """A wallet whose stored balance differs from what its ledger says."""

    wallet_id: str
    balance: int
    ledger_balance: int


@dataclass(frozen=True)
class IncomingDrift:
    """A wallet whose monthly-incoming counter (what the limit is checked against) is not the sum of
    this month's incoming credits."""

    wallet_id: str
    counted: int
    received: int


@dataclass
class ReconcileReport:
    """What reconciliation found; `ok` when nothing drifted."""

    wallets: int = 0
    entries: int = 0
    total_balance: int = 0
    total_credited: int = 0
    total_debited: int = 0
    drifts: list[WalletDrift] = field(default_factory=list)
    unbalanced_transfers: list[str] = field(default_factory=list)
    incoming_drifts: list[IncomingDrift] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (
            not self.drifts
            and not self.unbalanced_transfers
            and not self.incoming_drifts
            and self.total_balance == self.total_credited - self.total_debited
        )

    def lines(self) -> list[str]:
        out = [
            f"wallets: {self.wallets}, ledger entries: {self.entries}",
            f"sum of balances: {format_minor(self.total_balance)}",
            f"credited - debited: {format_minor(self.total_credited)} - {format_minor(self.total_debited)}"
            f" = {format_minor(self.total_credited - self.total_debited)}",
        ]
        out += [
            f"DRIFT wallet {d.wallet_id}: balance {format_minor(d.balance)}, "
            f"ledger says {format_minor(d.ledger_balance)}"
            for d in self.drifts
        ]
        out += [f"UNBALANCED transfer {tx}: debits != credits" for tx in self.unbalanced_transfers]
        out += [
            f"DRIFT wallet {d.wallet_id}: monthly incoming counted {format_minor(d.counted)}, "
            f"credits this month {format_minor(d.received)}"
            for d in self.incoming_drifts
        ]
        out.append("OK: the ledger reconciles" if self.ok else "FAILED: the ledger does not reconcile")
        return out


async def reconcile(db: Database) -> ReconcileReport:
    """Compare every wallet's balance with its ledger, and the totals with each other."""
    signed = case(
        (entries_t.c.direction == Direction.CREDIT.value, entries_t.c.amount), else_=-entries_t.c.amount
    )
    per_wallet = (
        select(entries_t.c.wallet_id, func.sum(signed).label("net"), func.count().label("n"))
        .group_by(entries_t.c.wallet_id)
        .subquery()
    )
    report = ReconcileReport()

    def read(session: Session) -> tuple[list[Any], Any, list[str], list[Any]]:
        rows = session.execute(
            select(wallets_t.c.wallet_id, wallets_t.c.balance, per_wallet.c.net, per_wallet.c.n)
            .select_from(wallets_t.outerjoin(per_wallet, per_wallet.c.wallet_id == wallets_t.c.wallet_id))
            .order_by(wallets_t.c.wallet_id)
        ).all()
        totals = session.execute(
            select(
                func.coalesce(
                    func.sum(
                        case((entries_t.c.direction == Direction.CREDIT.value, entries_t.c.amount), else_=0)
                    ),
                    0,
                ),
                func.coalesce(
                    func.sum(
                        case((entries_t.c.direction == Direction.DEBIT.value, entries_t.c.amount), else_=0)
                    ),
                    0,
                ),
            )
        ).one()
        unbalanced = (
            session.execute(
                select(operations_t.c.transaction_id)
                .select_from(
                    operations_t.join(entries_t, entries_t.c.transaction_id == operations_t.c.transaction_id)
                )
                .where(operations_t.c.kind == OperationKind.TRANSFER.value)
                .group_by(operations_t.c.transaction_id)
                .having(func.sum(signed) != 0)
            )
            .scalars()
            .all()
        )
        return rows, totals, list(unbalanced), incoming_drifts(session)

    rows, totals, unbalanced, incoming = await db.read(read)
    for row in rows:
        balance, ledger, count = int(row.balance), int(row.net or 0), int(row.n or 0)
        report.wallets += 1
        report.entries += count
        report.total_balance += balance
        if balance != ledger:
            report.drifts.append(WalletDrift(row.wallet_id, balance, ledger))
    report.total_credited, report.total_debited = int(totals[0]), int(totals[1])
    report.unbalanced_transfers = unbalanced
    report.incoming_drifts = [
        IncomingDrift(row.wallet_id, int(row.counted), int(row.received)) for row in incoming
    ]
    return report


def incoming_drifts(session: Session) -> list[Any]:
    """Wallets whose monthly-incoming counter differs from this month's non-reversal credits."""
    month = month_key(utcnow())
    received = (
        select(entries_t.c.wallet_id, func.sum(entries_t.c.amount).label("received"))
        .select_from(
            entries_t.join(operations_t, operations_t.c.transaction_id == entries_t.c.transaction_id)
        )
        .where(
            entries_t.c.direction == Direction.CREDIT.value,
            entries_t.c.created_at >= month_start(utcnow()),
            operations_t.c.kind != OperationKind.REVERSAL.value,
        )
        .group_by(entries_t.c.wallet_id)
        .subquery()
    )
    counted = case((wallets_t.c.incoming_month == month, wallets_t.c.incoming_month_minor), else_=0)
    return list(
        session.execute(
            select(
                wallets_t.c.wallet_id,
                counted.label("counted"),
                func.coalesce(received.c.received, 0).label("received"),
            )
            .select_from(wallets_t.outerjoin(received, received.c.wallet_id == wallets_t.c.wallet_id))
            .where(counted != func.coalesce(received.c.received, 0))
            .order_by(wallets_t.c.wallet_id)
        ).all()
    )


async def _run(url: str) -> ReconcileReport:
    db = Database(url)
    try:
        return await reconcile(db)
    finally:
        await db.dispose()


def main() -> int:
    """CLI: print the report; exit 1 on any drift, 2 when the ledger cannot be read."""
    url = get_settings().database_url_of("wallet")
    try:
        report = asyncio.run(_run(url))
    except (OSError, DBAPIError) as exc:
        shown = make_url(url).render_as_string(hide_password=True)
        print(f"cannot read the wallet ledger at {shown}: {type(exc).__name__}", file=sys.stderr)
        return 2
    for line in report.lines():
        print(line)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
