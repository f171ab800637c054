"""History's GraphQL: `HistoryEntry` entity, `User.history`, the user's list, the admin audit tools.

Resolvers check who is calling and translate; the rules live in `service.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from shared.context import Context
from shared.money import Money
from shared.records import copy_fields
from shared.schema import build_schema
from shared.scopes import Scope
from subgraphs.history.service import (
    PAGE_DEFAULT,
    HistoryFilter,
    HistoryRecord,
    HistoryService,
    NewHistory,
)


@dataclass
class HistoryDeps:
    """What resolvers reach through `info.context.deps`."""

    service: HistoryService


HistoryInfo = Info[Context[HistoryDeps], None]


def _service(info: HistoryInfo) -> HistoryService:
    return info.context.deps.service


@strawberry.federation.type(keys=["historyId"], description="One audit record of a transaction's status.")
class HistoryEntry:
    history_id: strawberry.ID
    transaction_id: strawberry.ID
    user_id: strawberry.ID
    wallet_id: strawberry.ID | None
    amount: Money
    type: str
    status: str
    va_number: str | None
    occurred_at: datetime
    created_at: datetime
    hidden: bool = strawberry.field(description="Whether the owner hid (deleted) it from their view.")
    direction: str = strawberry.field(
        description="OUT: the user's own transaction; IN: a transfer the user received"
    )
    counterparty: str | None = strawberry.field(description="A transfer's other party, by username")

    @classmethod
    def from_record(cls, record: HistoryRecord) -> HistoryEntry:
        return copy_fields(cls, record, amount=record.amount_minor)

    @classmethod
    async def resolve_reference(cls, info: HistoryInfo, **representation: Any) -> HistoryEntry | None:
        """The entry for its owner (unless hidden) or an admin; null for anyone else."""
        principal = await info.context.principal()
        if principal is None or principal.kind != "user":
            return None
        record = await _service(info).entry_for(
            principal.user_id, principal.is_admin, str(representation.get("historyId", ""))
        )
        return None if record is None else cls.from_record(record)


def _entries(records: list[HistoryRecord]) -> list[HistoryEntry]:
    return [HistoryEntry.from_record(record) for record in records]


@strawberry.federation.type(keys=["id"])
class User:
    """The auth-owned user; history contributes `history`."""

    id: strawberry.ID

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> User:
        return cls(id=id)

    @strawberry.field(description="This user's history: for that user (own view) or an admin, else empty.")
    async def history(
        self, info: HistoryInfo, first: int | None = PAGE_DEFAULT, after: str | None = None
    ) -> list[HistoryEntry]:
        principal = await info.context.principal()
        if principal is None or principal.kind != "user":
            return []
        records = await _service(info).history_of(
            principal.user_id, principal.is_admin, str(self.id), first, after
        )
        return _entries(records)


@strawberry.type
class AuditVerification:
    ok: bool
    checked: int
    first_broken_id: strawberry.ID | None


@strawberry.federation.input(inaccessible=True)
class AddHistoryInput:
    transaction_id: str
    user_id: strawberry.ID
    wallet_id: strawberry.ID
    amount: Money
    type: str
    status: str
    occurred_at: datetime
    va_number: str | None = None
    direction: str = "OUT"
    counterparty: str | None = None


@strawberry.type
class Query:
    @strawberry.field(
        description=(
            "The caller's own history, newest recorded first; hidden entries left out. "
            "`from`/`to` bound occurredAt (inclusive); "
            "`after` is the historyId of the previous page's last entry."
        )
    )
    async def my_history(
        self,
        info: HistoryInfo,
        type: str | None = None,
        status: str | None = None,
        from_: Annotated[datetime | None, strawberry.argument(name="from")] = None,
        to: datetime | None = None,
        first: int | None = PAGE_DEFAULT,
        after: str | None = None,
        direction: Annotated[str | None, strawberry.argument(description="OUT or IN only")] = None,
    ) -> list[HistoryEntry]:
        principal = await info.context.require_user()
        filters = HistoryFilter(
            type=type, status=status, occurred_from=from_, occurred_to=to, direction=direction
        )
        return _entries(await _service(info).my_history(principal.user_id, filters, first, after))

    @strawberry.field(description="Admin: every entry (of one user, when given), hidden ones marked.")
    async def audit_trail(
        self,
        info: HistoryInfo,
        user_id: strawberry.ID | None = None,
        first: int | None = PAGE_DEFAULT,
        after: str | None = None,
    ) -> list[HistoryEntry]:
        await info.context.require_admin()
        owner = str(user_id) if user_id is not None else None
        return _entries(await _service(info).audit_trail(owner, first, after))

    @strawberry.field(description="Admin: walk the hash chain and report the first broken entry.")
    async def verify_audit_trail(self, info: HistoryInfo) -> AuditVerification:
        await info.context.require_admin()
        result = await _service(info).verify()
        broken = strawberry.ID(result.first_broken_id) if result.first_broken_id else None
        return AuditVerification(ok=result.ok, checked=result.checked, first_broken_id=broken)


@strawberry.type
class Mutation:
    @strawberry.federation.mutation(
        inaccessible=True,
        description="Service-only (scope history:write); idempotent by (transactionId, status, userId).",
    )
    async def add_history(self, info: HistoryInfo, input: AddHistoryInput) -> HistoryEntry:
        await info.context.require_service(Scope.HISTORY_WRITE)
        new = copy_fields(
            NewHistory,
            input,
            user_id=str(input.user_id),
            wallet_id=str(input.wallet_id),
            amount_minor=int(input.amount),
        )
        record = await _service(info).add(new)
        return HistoryEntry.from_record(record)

    @strawberry.mutation(description="Hide one of your entries from your view; the audit record stays.")
    async def delete_history(self, info: HistoryInfo, history_id: strawberry.ID) -> bool:
        principal = await info.context.require_user()
        return await _service(info).hide(principal.user_id, str(history_id))


schema = build_schema(Query, Mutation, types=[HistoryEntry, User])
