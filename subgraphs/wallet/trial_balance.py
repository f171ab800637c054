"""The trial balance: the double-entry ledger's invariants over every account, read in one snapshot.

Balanced means all of: total debits == total credits; the sum of all balances == 0; every
account's balance == its credits - its debits; every transaction id's entries net to zero; no
customer wallet, settlement or payout account below zero; and every merchant's settlement balance
== its entries no payout batch closed, each batch's total == what its payout moved. The admin query
`trialBalance` and `sawit-reconcile` both answer from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from subgraphs.wallet.accounts import SETTLEMENT_PREFIX
from subgraphs.wallet.models import MAY_GO_NEGATIVE, AccountKind, Direction
from subgraphs.wallet.records import batches_t, entries_t, items_t, wallets_t

_SIGNED = case(
    (entries_t.c.direction == Direction.CREDIT.value, entries_t.c.amount_minor),
    else_=-entries_t.c.amount_minor,
)


@dataclass(frozen=True)
class AccountBalance:
    account_id: str
    kind: AccountKind
    balance: int
    ledger_balance: int  # what its entries say
    entries: int


@dataclass
class TrialBalance:
    """What the ledger says about itself; `balanced` when every invariant holds."""

    accounts: list[AccountBalance] = field(default_factory=list)
    debit_total: int = 0
    credit_total: int = 0
    unbalanced_transactions: list[str] = field(default_factory=list)
    settlement_drifts: list[str] = field(default_factory=list)

    @property
    def balance_total(self) -> int:
        return sum(account.balance for account in self.accounts)

    @property
    def drifts(self) -> list[AccountBalance]:
        """Accounts whose stored balance is not what their entries say."""
        return [account for account in self.accounts if account.balance != account.ledger_balance]

    @property
    def negative(self) -> list[AccountBalance]:
        """Accounts below zero whose kind forbids it."""
        return [a for a in self.accounts if a.balance < 0 and a.kind not in MAY_GO_NEGATIVE]

    @property
    def balanced(self) -> bool:
        return (
            self.debit_total == self.credit_total
            and self.balance_total == 0
            and not self.drifts
            and not self.negative
            and not self.unbalanced_transactions
            and not self.settlement_drifts
        )


def trial_balance(session: Session) -> TrialBalance:
    """Read every invariant in one session (one snapshot on PostgreSQL's REPEATABLE READ reads and
    SQLite's single writer; under READ COMMITTED a concurrent movement may show as a passing drift,
    so `sawit-reconcile` is run against a quiet ledger or re-run)."""
    per_account = (
        select(entries_t.c.wallet_id, func.sum(_SIGNED).label("net"), func.count().label("n"))
        .group_by(entries_t.c.wallet_id)
        .subquery()
    )
    rows = session.execute(
        select(
            wallets_t.c.wallet_id, wallets_t.c.kind, wallets_t.c.balance, per_account.c.net, per_account.c.n
        )
        .select_from(wallets_t.outerjoin(per_account, per_account.c.wallet_id == wallets_t.c.wallet_id))
        .order_by(wallets_t.c.kind, wallets_t.c.wallet_id)
    ).all()
    report = TrialBalance(
        accounts=[
            AccountBalance(
                row.wallet_id, AccountKind(row.kind), int(row.balance), int(row.net or 0), int(row.n or 0)
            )
            for row in rows
        ]
    )
    debit = func.sum(
        case((entries_t.c.direction == Direction.DEBIT.value, entries_t.c.amount_minor), else_=0)
    )
    credit = func.sum(
        case((entries_t.c.direction == Direction.CREDIT.value, entries_t.c.amount_minor), else_=0)
    )
    totals = session.execute(select(func.coalesce(debit, 0), func.coalesce(credit, 0))).one()
    report.debit_total, report.credit_total = int(totals[0]), int(totals[1])
    report.unbalanced_transactions = list(
        session.execute(
            select(entries_t.c.transaction_id)
            .group_by(entries_t.c.transaction_id)
            .having(func.sum(_SIGNED) != 0)
            .order_by(entries_t.c.transaction_id)
        ).scalars()
    )
    report.settlement_drifts = settlement_drifts(session, report.accounts)
    return report


def settlement_drifts(session: Session, accounts: list[AccountBalance]) -> list[str]:
    """Settlement accounts whose balance is not their open (unbatched) entries, and batches whose
    total is not the payments and reversals they closed or not what their payout moved."""
    drifts: list[str] = []
    open_net = dict(
        session.execute(
            select(entries_t.c.wallet_id, func.sum(_SIGNED))
            .select_from(entries_t.outerjoin(items_t, items_t.c.entry_id == entries_t.c.entry_id))
            .where(entries_t.c.wallet_id.startswith(SETTLEMENT_PREFIX), items_t.c.batch_id.is_(None))
            .group_by(entries_t.c.wallet_id)
        ).all()
    )
    for account in accounts:
        if (
            account.kind == AccountKind.SETTLEMENT
            and int(open_net.get(account.account_id) or 0) != account.balance
        ):
            drifts.append(f"settlement account {account.account_id}: balance != its open entries")
    closed = (
        select(
            items_t.c.batch_id,
            func.sum(
                case((entries_t.c.transaction_id == batches_t.c.transaction_id, 0), else_=_SIGNED)
            ).label("paid"),
            func.sum(
                case(
                    (entries_t.c.transaction_id == batches_t.c.transaction_id, entries_t.c.amount_minor),
                    else_=0,
                )
            ).label("payout"),
            batches_t.c.total_minor,
        )
        .select_from(
            items_t.join(entries_t, entries_t.c.entry_id == items_t.c.entry_id).join(
                batches_t, batches_t.c.batch_id == items_t.c.batch_id
            )
        )
        .group_by(items_t.c.batch_id, batches_t.c.total_minor)
    )
    for row in session.execute(closed).all():
        if not int(row.total_minor) == int(row.paid) == int(row.payout):
            drifts.append(f"settlement batch {row.batch_id}: total != its payments != its payout")
    return drifts
