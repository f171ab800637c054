"""Reconciliation: prove from the ledger that every balance is right (`sawit-reconcile`).

The double-entry invariants of trial_balance.py (debits == credits, the sum of all balances == 0,
every account == its entries, every transaction balanced, no forbidden negative balance, every
merchant's settlement == its open entries and every payout batch == what it closed), plus, for
every customer wallet, its monthly-incoming counter (what the Bank Indonesia limit is checked
against) == this month's incoming credits. Prints a report and exits non-zero on any drift. Reads
`WALLET_DATABASE_URL` (or `DATABASE_URL`) like the app.
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

from shared.clock import utcnow
from shared.db import Database
from shared.money import format_minor
from shared.settings import get_settings
from subgraphs.wallet.models import AccountKind, Direction, OperationKind
from subgraphs.wallet.records import entries_t, month_key, month_start, operations_t, wallets_t
from subgraphs.wallet.trial_balance import AccountBalance, TrialBalance, trial_balance


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

    ledger: TrialBalance = field(default_factory=TrialBalance)
    incoming_drifts: list[IncomingDrift] = field(default_factory=list)

    @property
    def drifts(self) -> list[AccountBalance]:
        return self.ledger.drifts

    @property
    def wallets(self) -> int:
        return sum(1 for account in self.ledger.accounts if account.kind == AccountKind.CUSTOMER)

    @property
    def entries(self) -> int:
        return sum(account.entries for account in self.ledger.accounts)

    @property
    def ok(self) -> bool:
        return self.ledger.balanced and not self.incoming_drifts

    def lines(self) -> list[str]:
        ledger = self.ledger
        out = [
            f"accounts: {len(ledger.accounts)} ({self.wallets} customer wallets), "
            f"ledger entries: {self.entries}",
            f"debits {format_minor(ledger.debit_total)}, credits {format_minor(ledger.credit_total)}",
            f"sum of all balances: {format_minor(ledger.balance_total)} (must be 0)",
        ]
        for kind in AccountKind:
            total = sum(a.balance for a in ledger.accounts if a.kind == kind)
            out.append(f"  {kind.value.lower()} accounts: {format_minor(total)}")
        out += [
            f"DRIFT account {d.account_id}: balance {format_minor(d.balance)}, "
            f"ledger says {format_minor(d.ledger_balance)}"
            for d in ledger.drifts
        ]
        out += [
            f"NEGATIVE {a.kind.value} account {a.account_id}: {format_minor(a.balance)}"
            for a in ledger.negative
        ]
        out += [f"UNBALANCED transaction {tx}: debits != credits" for tx in ledger.unbalanced_transactions]
        out += [f"DRIFT {drift}" for drift in ledger.settlement_drifts]
        out += [
            f"DRIFT wallet {d.wallet_id}: monthly incoming counted {format_minor(d.counted)}, "
            f"credits this month {format_minor(d.received)}"
            for d in self.incoming_drifts
        ]
        out.append("OK: the ledger reconciles" if self.ok else "FAILED: the ledger does not reconcile")
        return out


async def reconcile(db: Database) -> ReconcileReport:
    """Every invariant of the ledger, and the customers' monthly counters."""

    def read(session: Session) -> tuple[TrialBalance, list[Any]]:
        return trial_balance(session), incoming_drifts(session)

    ledger, incoming = await db.read(read)
    return ReconcileReport(
        ledger=ledger,
        incoming_drifts=[
            IncomingDrift(row.wallet_id, int(row.counted), int(row.received)) for row in incoming
        ],
    )


def incoming_drifts(session: Session) -> list[Any]:
    """Wallets whose monthly-incoming counter differs from this month's non-reversal credits."""
    month = month_key(utcnow())
    received = (
        select(entries_t.c.wallet_id, func.sum(entries_t.c.amount_minor).label("received"))
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
            .where(
                counted != func.coalesce(received.c.received, 0),
                wallets_t.c.kind == AccountKind.CUSTOMER.value,
            )
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
