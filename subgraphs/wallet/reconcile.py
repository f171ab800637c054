"""Reconciliation: prove from the ledger that every balance is right (`sawit-reconcile`).

For every wallet, balance == its credits - its debits; over all wallets, the sum of balances ==
everything credited - everything debited; and every transfer nets to zero. Prints a report and
exits non-zero on any drift. Reads `WALLET_DATABASE_URL` (or `DATABASE_URL`) like the app.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass, field

from sqlalchemy import case, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from shared.db import Database
from shared.money import format_minor
from shared.settings import get_settings
from subgraphs.wallet.models import Direction, OperationKind
from subgraphs.wallet.service import entries_t, operations_t, wallets_t


@dataclass(frozen=True)
class WalletDrift:
    """A wallet whose stored balance differs from what its ledger says."""

    wallet_id: str
    balance: int
    ledger_balance: int


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

    @property
    def ok(self) -> bool:
        return (
            not self.drifts
            and not self.unbalanced_transfers
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
    async with db.read() as session:
        rows = (
            await session.execute(
                select(wallets_t.c.wallet_id, wallets_t.c.balance, per_wallet.c.net, per_wallet.c.n)
                .select_from(wallets_t.outerjoin(per_wallet, per_wallet.c.wallet_id == wallets_t.c.wallet_id))
                .order_by(wallets_t.c.wallet_id)
            )
        ).all()
        totals = (
            await session.execute(
                select(
                    func.coalesce(
                        func.sum(
                            case(
                                (entries_t.c.direction == Direction.CREDIT.value, entries_t.c.amount), else_=0
                            )
                        ),
                        0,
                    ),
                    func.coalesce(
                        func.sum(
                            case(
                                (entries_t.c.direction == Direction.DEBIT.value, entries_t.c.amount), else_=0
                            )
                        ),
                        0,
                    ),
                )
            )
        ).one()
        unbalanced = (
            (
                await session.execute(
                    select(operations_t.c.transaction_id)
                    .select_from(
                        operations_t.join(
                            entries_t, entries_t.c.transaction_id == operations_t.c.transaction_id
                        )
                    )
                    .where(operations_t.c.kind == OperationKind.TRANSFER.value)
                    .group_by(operations_t.c.transaction_id)
                    .having(func.sum(signed) != 0)
                )
            )
            .scalars()
            .all()
        )
    for row in rows:
        balance, ledger, count = int(row.balance), int(row.net or 0), int(row.n or 0)
        report.wallets += 1
        report.entries += count
        report.total_balance += balance
        if balance != ledger:
            report.drifts.append(WalletDrift(row.wallet_id, balance, ledger))
    report.total_credited, report.total_debited = int(totals[0]), int(totals[1])
    report.unbalanced_transfers = list(unbalanced)
    return report


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
