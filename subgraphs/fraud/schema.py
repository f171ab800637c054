"""The fraud subgraph's GraphQL: FraudLog entity, Transaction.fraudCheck, checkFraud, admin log review."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import strawberry
from strawberry.federation.schema_directives import Key
from strawberry.types import Info

from shared.context import Context
from shared.money import Money
from shared.schema import build_schema
from shared.scopes import Scope
from shared.tokens import Principal
from subgraphs.fraud.models import FraudLog as FraudLogRow
from subgraphs.fraud.service import CheckInput, FraudService, reason_text


@dataclass
class FraudDeps:
    """What resolvers reach as `info.context.deps`."""

    service: FraudService


FraudInfo = Info[Context[FraudDeps], None]


def _can_see(principal: Principal | None, row: FraudLogRow, *, services: bool) -> bool:
    if principal is None:
        return False
    if principal.kind == "service":
        return services
    return principal.is_admin or principal.user_id == row.user_id


@strawberry.federation.type(name="User", keys=[Key(fields="id", resolvable=False)])
class UserRef:
    """A reference to the auth-owned user (fraud contributes no fields to it)."""

    id: strawberry.ID


@strawberry.federation.type(name="Wallet", keys=[Key(fields="walletId", resolvable=False)])
class WalletRef:
    """A reference to the wallet-owned wallet."""

    wallet_id: strawberry.ID


@strawberry.federation.type(keys=["logId"], description="The verdict of one fraud check.")
class FraudLog:
    log_id: strawberry.ID
    transaction_id: strawberry.ID
    user_id: strawberry.ID
    wallet_id: strawberry.ID | None
    amount: Money
    type: str
    va_number: str | None
    status: str = strawberry.field(description="SAFE | SUSPICIOUS | FRAUD")
    is_fraud: bool = strawberry.field(description="True when status is FRAUD.")
    score: int = strawberry.field(
        description="0..100: SAFE 0-29, SUSPICIOUS 30-79, FRAUD 80-100 (rule weights summed)."
    )
    reasons: list[str] = strawberry.field(description="Codes of the rules that fired, in rule order.")
    reason: str = strawberry.field(description='The reasons joined by "; ", or "OK" when none.')
    created_at: datetime

    @strawberry.field(name="is_fraud", description="The seed's name for isFraud.")
    def is_fraud_snake(self) -> bool:
        return self.is_fraud

    @strawberry.field(description="The checked user (resolved by auth), so an admin sees who it is.")
    def user(self) -> UserRef:
        return UserRef(id=self.user_id)

    @strawberry.field(description="The wallet money would leave or enter (resolved by wallet), if any.")
    def wallet(self) -> WalletRef | None:
        return WalletRef(wallet_id=self.wallet_id) if self.wallet_id else None

    @classmethod
    def from_record(cls, row: FraudLogRow) -> FraudLog:
        reasons = row.reason_codes
        return cls(
            log_id=strawberry.ID(row.log_id),
            transaction_id=strawberry.ID(row.transaction_id),
            user_id=strawberry.ID(row.user_id),
            wallet_id=strawberry.ID(row.wallet_id) if row.wallet_id else None,
            amount=row.amount_minor,  # type: ignore[arg-type]
            type=row.type,
            va_number=row.va_number,
            status=row.status,
            is_fraud=row.status == "FRAUD",
            score=row.score,
            reasons=reasons,
            reason=reason_text(reasons),
            created_at=row.created_at.replace(tzinfo=UTC),
        )

    @classmethod
    async def resolve_reference(cls, info: FraudInfo, logId: strawberry.ID) -> FraudLog | None:  # noqa: N803
        """Only the log's own user or an admin may see a log; anyone else gets null."""
        principal = await info.context.principal()
        row = await info.context.deps.service.get(str(logId))
        if row is None or not _can_see(principal, row, services=False):
            return None
        return cls.from_record(row)


@strawberry.federation.type(keys=["transactionId"])
class Transaction:
    """The transactions subgraph's entity; fraud contributes `fraudCheck`."""

    transaction_id: strawberry.ID

    @classmethod
    def resolve_reference(cls, transactionId: strawberry.ID) -> Transaction:  # noqa: N803
        return cls(transaction_id=transactionId)

    @strawberry.field(description="The fraud verdict of this transaction (its user, an admin or a service).")
    async def fraud_check(self, info: FraudInfo) -> FraudLog | None:
        principal = await info.context.principal()
        if principal is None:
            return None
        # One query per request for every Transaction.fraudCheck the router asks for together.
        checks = info.context.loader("fraud_check_loader", info.context.deps.service.by_transaction_ids)
        row = await checks.load(str(self.transaction_id))
        if row is None or not _can_see(principal, row, services=True):
            return None
        return FraudLog.from_record(row)


@strawberry.federation.input(inaccessible=True)
class CheckFraudInput:
    transaction_id: str
    user_id: strawberry.ID
    wallet_id: strawberry.ID
    amount: Money
    type: str
    va_number: str | None = None


@strawberry.type
class Query:
    @strawberry.field(description="Fraud logs, newest first (admin only).")
    async def get_fraud_logs(
        self,
        info: FraudInfo,
        status: str | None = None,
        user_id: strawberry.ID | None = None,
        first: int | None = 50,
        after: str | None = None,
    ) -> list[FraudLog]:
        await info.context.require_admin()
        rows = await info.context.deps.service.list_logs(
            status=status,
            user_id=str(user_id) if user_id is not None else None,
            first=50 if first is None else first,
            after=after,
        )
        return [FraudLog.from_record(row) for row in rows]


@strawberry.type
class Mutation:
    @strawberry.federation.mutation(
        inaccessible=True, description="Service only (scope fraud:check); idempotent by transactionId."
    )
    async def check_fraud(self, info: FraudInfo, input: CheckFraudInput) -> FraudLog:
        await info.context.require_service(Scope.FRAUD_CHECK)
        given = CheckInput(
            transaction_id=input.transaction_id,
            user_id=str(input.user_id),
            wallet_id=str(input.wallet_id),
            amount_minor=int(input.amount),
            type=input.type,
            va_number=input.va_number,
        )
        outcome = await info.context.deps.service.check(given)
        return FraudLog.from_record(outcome.log)

    @strawberry.mutation(description="Delete one fraud log (admin only); false when it did not exist.")
    async def delete_fraud_log(self, info: FraudInfo, log_id: strawberry.ID) -> bool:
        await info.context.require_admin()
        return await info.context.deps.service.delete(str(log_id))


schema = build_schema(Query, Mutation, types=[FraudLog, Transaction])
