"""The wallet subgraph's GraphQL for the double-entry ledger and merchant settlement (admin only):
`trialBalance`, `merchantStatement`, `settlementBatches` and `settleMerchant`. schema.py's Query
and Mutation inherit these fields; the rules are in trial_balance.py and settlement.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.federation.schema_directives import Key
from strawberry.types import Info

from shared.context import Context
from shared.money import Money
from shared.pagination import PAGE_DEFAULT
from subgraphs.wallet import models
from subgraphs.wallet.service import BatchRecord, StatementLine, TrialBalance, WalletDeps

LedgerInfo = Info[Context[WalletDeps], None]

AccountKind = strawberry.enum(
    models.AccountKind,
    name="AccountKind",
    description="CUSTOMER: a user's wallet. FUNDING: the mirror of money that entered through a top-up "
    "channel (only ever zero or below). SETTLEMENT: what a merchant was paid and not yet paid out. "
    "PAYOUT: what was paid out to a merchant. SUSPENSE: what a merchant owes back (a reversal of a "
    "payment already paid out).",
)

MerchantIdArg = Annotated[
    strawberry.ID, strawberry.argument(name="merchantId", description="The marketplace is `marketplace`.")
]


@strawberry.federation.type(
    directives=[Key(fields="transactionId", resolvable=False)],
    description="A transaction (owned by the transactions subgraph): the router resolves its fields.",
)
class Transaction:
    transaction_id: strawberry.ID


@strawberry.type(description="One account of the ledger and its balance.")
class AccountBalance:
    account_id: strawberry.ID
    kind: AccountKind
    balance: Money


@strawberry.type(
    description="The double-entry ledger's proof: `balanced` when debits == credits, the sum of all "
    "balances is 0, every account equals its entries, every transaction nets to zero, no account is "
    "below zero unless its kind allows it, and every merchant's settlement equals its open entries."
)
class TrialBalanceReport:
    balanced: bool
    debit_total: Money
    credit_total: Money
    balance_total: Money = strawberry.field(description="The sum of every account's balance: always 0.")
    unbalanced_transactions: list[str]
    accounts: list[AccountBalance]

    @classmethod
    def from_record(cls, report: TrialBalance, kinds: list[models.AccountKind] | None) -> TrialBalanceReport:
        return cls(
            balanced=report.balanced,
            debit_total=report.debit_total,  # type: ignore[arg-type]
            credit_total=report.credit_total,  # type: ignore[arg-type]
            balance_total=report.balance_total,  # type: ignore[arg-type]
            unbalanced_transactions=report.unbalanced_transactions,
            accounts=[
                AccountBalance(
                    account_id=strawberry.ID(account.account_id),
                    kind=account.kind,
                    balance=account.balance,  # type: ignore[arg-type]
                )
                for account in report.accounts
                if not kinds or account.kind in kinds
            ],
        )


@strawberry.type(description="One line of a merchant's settlement account.")
class MerchantStatementLine:
    entry_id: strawberry.ID
    transaction_id: str
    kind: str = strawberry.field(description="PAYMENT, REVERSAL or PAYOUT.")
    direction: str
    amount: Money
    balance_after: Money
    batch_id: strawberry.ID | None = strawberry.field(description="The payout batch that closed it, if any.")
    created_at: datetime
    transaction: Transaction | None = strawberry.field(
        description="The payment or reversal; null for a payout."
    )

    @classmethod
    def from_record(cls, line: StatementLine) -> MerchantStatementLine:
        payment_id = None if line.kind == models.OperationKind.PAYOUT else line.transaction_id
        if line.kind == models.OperationKind.REVERSAL:
            payment_id = line.reverses_transaction_id
        return cls(
            entry_id=strawberry.ID(line.entry_id),
            transaction_id=line.transaction_id,
            kind="PAYMENT" if line.kind == models.OperationKind.DEDUCT else line.kind.value,
            direction=line.direction.value,
            amount=line.amount_minor,  # type: ignore[arg-type]
            balance_after=line.balance_after,  # type: ignore[arg-type]
            batch_id=strawberry.ID(line.batch_id) if line.batch_id else None,
            created_at=line.created_at,
            transaction=Transaction(transaction_id=strawberry.ID(payment_id)) if payment_id else None,
        )


@strawberry.type(description="One payout of a merchant's settled balance and the lines it closed.")
class SettlementBatch:
    batch_id: strawberry.ID
    merchant_id: strawberry.ID
    payout_id: str = strawberry.field(description="The payout's transaction id in the ledger.")
    total: Money
    payment_count: int
    created_at: datetime
    lines: list[MerchantStatementLine] = strawberry.field(
        description="The payments and reversals it settled, and the payout itself."
    )

    @classmethod
    def from_record(cls, batch: BatchRecord) -> SettlementBatch:
        return cls(
            batch_id=strawberry.ID(batch.batch_id),
            merchant_id=strawberry.ID(batch.merchant_id),
            payout_id=batch.transaction_id,
            total=batch.total_minor,  # type: ignore[arg-type]
            payment_count=batch.payment_count,
            created_at=batch.created_at,
            lines=[MerchantStatementLine.from_record(line) for line in batch.lines],
        )


@strawberry.type
class LedgerQuery:
    @strawberry.field(description="Admin: the double-entry ledger's invariants over every account.")
    async def trial_balance(
        self,
        info: LedgerInfo,
        kinds: Annotated[
            list[AccountKind] | None, strawberry.argument(description="List only accounts of these kinds.")
        ] = None,
    ) -> TrialBalanceReport:
        await info.context.require_admin()
        report = await info.context.deps.service.trial_balance()
        return TrialBalanceReport.from_record(report, kinds)

    @strawberry.field(description="Admin: a merchant's settlement account, newest first.")
    async def merchant_statement(
        self,
        info: LedgerInfo,
        merchant_id: MerchantIdArg,
        first: int = PAGE_DEFAULT,
        after: str | None = None,
    ) -> list[MerchantStatementLine]:
        await info.context.require_admin()
        lines = await info.context.deps.service.merchant_statement(str(merchant_id), first=first, after=after)
        return [MerchantStatementLine.from_record(line) for line in lines]

    @strawberry.field(description="Admin: a merchant's payouts, newest first; `after` is a batch id.")
    async def settlement_batches(
        self,
        info: LedgerInfo,
        merchant_id: MerchantIdArg,
        first: int = PAGE_DEFAULT,
        after: str | None = None,
    ) -> list[SettlementBatch]:
        await info.context.require_admin()
        batches = await info.context.deps.service.settlement_batches(
            str(merchant_id), first=first, after=after
        )
        return [SettlementBatch.from_record(batch) for batch in batches]


@strawberry.type
class LedgerMutation:
    @strawberry.mutation(
        description="Admin: pay out a merchant's whole settled balance as one batch; the same "
        "idempotencyKey answers the same batch (NOTHING_TO_SETTLE when the balance is zero)."
    )
    async def settle_merchant(
        self, info: LedgerInfo, merchant_id: MerchantIdArg, idempotency_key: str
    ) -> SettlementBatch:
        await info.context.require_admin()
        batch = await info.context.deps.service.settle_merchant(str(merchant_id), idempotency_key)
        return SettlementBatch.from_record(batch)
