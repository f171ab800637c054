"""History's domain rules: append to the hash chain (idempotently), list, hide, and verify the chain.

No GraphQL here; every refusal is an AppError. Appends are serialised so the chain never forks:
the "read the chain head + insert + move the head" step runs inside ONE write transaction that
holds the head row (PostgreSQL `SELECT ... FOR UPDATE`; on SQLite the database's one writer thread
and BEGIN IMMEDIATE already admit one writer at a time), and UNIQUE constraints on `seq`,
`prev_hash` and (transaction_id, status, user_id) guard the same rules at the database level
(a transfer has one entry for each user it touches: OUT for the sender, IN for the receiver).
"""

from __future__ import annotations

import dataclasses
import uuid

from sqlalchemy import ColumnElement, Select, and_, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.db import Database
from shared.errors import AppError, ErrorCode, bad_input, not_found
from shared.pagination import PAGE_DEFAULT
from shared.records import copy_fields
from subgraphs.history.chain import GENESIS_HASH, ChainedFacts, as_utc, entry_hash
from subgraphs.history.config import HistoryConfig
from subgraphs.history.models import (
    CHAIN_HEAD_ID,
    VA_MAX,
    ChainHeadRow,
    HistoryEntryRow,
    HistoryHiddenRow,
)
from subgraphs.history.records import (
    MAX_FUTURE_SKEW,
    Verification,
    _code,
    _counterparty,
    _now,
    _record,
    _required_id,
    validate_direction,
    validate_page,
)
from subgraphs.history.records import HistoryFilter as HistoryFilter  # re-exported
from subgraphs.history.records import HistoryRecord as HistoryRecord  # re-exported
from subgraphs.history.records import NewHistory as NewHistory  # re-exported
from subgraphs.history.records import chained_facts as chained_facts  # re-exported


class HistoryService:
    """The audit trail of one history database."""

    def __init__(self, db: Database, config: HistoryConfig) -> None:
        self.db = db
        self.config = config

    # -- appending -----------------------------------------------------------------------------

    def validate(self, new: NewHistory) -> NewHistory:
        """The request with ids trimmed and codes normalised; BAD_USER_INPUT on any rule broken."""
        if isinstance(new.amount_minor, bool) or new.amount_minor <= 0:
            raise bad_input("amount must be greater than zero", field="amount")
        va_number = (new.va_number or "").strip() or None
        if va_number is not None and len(va_number) > VA_MAX:
            raise bad_input(f"vaNumber is longer than {VA_MAX} characters", field="vaNumber")
        occurred_at = as_utc(new.occurred_at)
        if occurred_at > _now() + MAX_FUTURE_SKEW:
            raise bad_input("occurredAt lies too far in the future", field="occurredAt")
        return NewHistory(
            transaction_id=_required_id(new.transaction_id, "transactionId"),
            user_id=_required_id(new.user_id, "userId"),
            wallet_id=_required_id(new.wallet_id, "walletId"),
            amount_minor=new.amount_minor,
            type=_code(new.type, "type", self.config.types),
            status=_code(new.status, "status", self.config.statuses),
            va_number=va_number,
            occurred_at=occurred_at,
            direction=validate_direction(new.direction) or "OUT",
            counterparty=_counterparty(new.counterparty),
        )

    async def add(self, request: NewHistory) -> HistoryRecord:
        """Append one entry; replaying (transactionId, status, userId) returns the entry already recorded."""
        new = self.validate(request)
        try:
            return await self.db.write(lambda session: self._append(session, new))
        except IntegrityError:
            # Only reachable if a writer slipped past the head lock; the constraints kept the chain.
            existing = await self.db.read(lambda session: self._by_transaction(session, new))
            if existing is None:
                raise
            return self._replay(existing, new)

    def _append(self, session: Session, new: NewHistory) -> HistoryRecord:
        # One statement locks the head and re-checks for a duplicate under that lock (a concurrent
        # duplicate may have committed meanwhile); round trips are what the lock is held for.
        already = select(HistoryEntryRow.history_id).where(*_same_key(new))
        head = session.execute(
            select(
                ChainHeadRow.last_seq,
                ChainHeadRow.last_hash,
                already.scalar_subquery().label("existing_id"),
            )
            .where(ChainHeadRow.id == CHAIN_HEAD_ID)
            .with_for_update(of=ChainHeadRow)
        ).one()
        existing_id = head.existing_id
        if existing_id is None and not self.db.is_sqlite:
            # PostgreSQL (READ COMMITTED): that subquery read the snapshot taken before the wait
            # for the lock; a duplicate committed meanwhile shows only to a new statement.
            existing_id = session.execute(already).scalar_one_or_none()
        if existing_id is not None:
            existing = self._by_transaction(session, new)
            assert existing is not None, "an entry seen under the chain lock cannot vanish"
            return self._replay(existing, new)
        facts = copy_fields(
            ChainedFacts,
            new,
            seq=head.last_seq + 1,
            history_id=str(uuid.uuid4()),
            created_at=_now(),
            prev_hash=head.last_hash,
        )
        digest = entry_hash(facts)
        # Core statements, not the ORM unit of work: fewer round trips while the chain is locked.
        session.execute(insert(HistoryEntryRow).values(**dataclasses.asdict(facts), entry_hash=digest))
        session.execute(
            update(ChainHeadRow)
            .where(ChainHeadRow.id == CHAIN_HEAD_ID)
            .values(last_seq=facts.seq, last_hash=digest, last_history_id=facts.history_id)
        )
        return copy_fields(HistoryRecord, facts, hidden=False)

    def _by_transaction(self, session: Session, new: NewHistory) -> HistoryRecord | None:
        return _first(session, self._select_with_hidden().where(*_same_key(new)))

    @staticmethod
    def _replay(existing: HistoryRecord, new: NewHistory) -> HistoryRecord:
        """The recorded entry, unless the replay claims different facts for the same key."""
        same = (
            existing.user_id == new.user_id
            and existing.wallet_id == new.wallet_id
            and existing.amount_minor == new.amount_minor
            and existing.type == new.type
            and existing.va_number == new.va_number
            and existing.direction == new.direction
            and existing.counterparty == new.counterparty
        )
        if not same:
            raise AppError(
                ErrorCode.IDEMPOTENCY_KEY_REUSED,
                "History for this transaction, status and user was already recorded with other details",
                transactionId=new.transaction_id,
                status=new.status,
            )
        return existing

    # -- reading -------------------------------------------------------------------------------

    @staticmethod
    def _select_with_hidden() -> Select[tuple[HistoryEntryRow, str | None]]:
        return select(HistoryEntryRow, HistoryHiddenRow.history_id).outerjoin(
            HistoryHiddenRow, HistoryHiddenRow.history_id == HistoryEntryRow.history_id
        )

    def _page(
        self,
        session: Session,
        stmt: Select[tuple[HistoryEntryRow, str | None]],
        first: int | None,
        after: str | None,
        owner_id: str | None,
    ) -> list[HistoryRecord]:
        """Newest first; `after` is the id of the last entry of the previous page (an entry of
        `owner_id` when given; it may have been hidden since)."""
        first = validate_page(first)
        if after is not None:
            cursor = select(HistoryEntryRow.seq).where(HistoryEntryRow.history_id == after)
            if owner_id is not None:
                cursor = cursor.where(HistoryEntryRow.user_id == owner_id)
            cursor_seq = session.execute(cursor).scalar_one_or_none()
            if cursor_seq is None:
                raise bad_input(
                    "Unknown cursor: after must be the id of an entry of this list", field="after"
                )
            stmt = stmt.where(HistoryEntryRow.seq < cursor_seq)
        rows = session.execute(stmt.order_by(HistoryEntryRow.seq.desc()).limit(first)).all()
        return [_record(row, hidden_id is not None) for row, hidden_id in rows]

    async def my_history(
        self, user_id: str, filters: HistoryFilter, first: int | None = PAGE_DEFAULT, after: str | None = None
    ) -> list[HistoryRecord]:
        """The caller's own entries that the caller has not hidden."""
        stmt = self._select_with_hidden().where(
            HistoryEntryRow.user_id == user_id, HistoryHiddenRow.history_id.is_(None)
        )
        if filters.type is not None:
            stmt = stmt.where(HistoryEntryRow.type == filters.type.strip().upper())
        if filters.status is not None:
            stmt = stmt.where(HistoryEntryRow.status == filters.status.strip().upper())
        direction = validate_direction(filters.direction)
        if direction is not None:
            stmt = stmt.where(HistoryEntryRow.direction == direction)
        low = as_utc(filters.occurred_from) if filters.occurred_from else None
        high = as_utc(filters.occurred_to) if filters.occurred_to else None
        if low is not None and high is not None and low > high:
            raise bad_input("from must not be after to", field="from")
        if low is not None:
            stmt = stmt.where(HistoryEntryRow.occurred_at >= low)
        if high is not None:
            stmt = stmt.where(HistoryEntryRow.occurred_at <= high)
        return await self.db.read(lambda session: self._page(session, stmt, first, after, owner_id=user_id))

    async def audit_trail(
        self, user_id: str | None, first: int | None = PAGE_DEFAULT, after: str | None = None
    ) -> list[HistoryRecord]:
        """Every entry (of one user, when given), hidden ones included and marked: for admins."""
        stmt = self._select_with_hidden()
        if user_id is not None:
            stmt = stmt.where(HistoryEntryRow.user_id == user_id)
        return await self.db.read(lambda session: self._page(session, stmt, first, after, owner_id=user_id))

    async def history_of(
        self, viewer_id: str, viewer_is_admin: bool, user_id: str, first: int | None, after: str | None
    ) -> list[HistoryRecord]:
        """`User.history`: the owner's own view, an admin's full view, nothing for anyone else."""
        if viewer_is_admin:
            return await self.audit_trail(user_id, first, after)
        if viewer_id == user_id:
            return await self.my_history(user_id, HistoryFilter(), first, after)
        return []

    async def entry_for(self, viewer_id: str, viewer_is_admin: bool, history_id: str) -> HistoryRecord | None:
        """One entry for its owner (unless hidden) or an admin; None for anyone else."""
        stmt = self._select_with_hidden().where(HistoryEntryRow.history_id == history_id)
        record = await self.db.read(lambda session: _first(session, stmt))
        if record is None:
            return None
        if viewer_is_admin:
            return record
        if record.user_id == viewer_id and not record.hidden:
            return record
        return None

    # -- hiding --------------------------------------------------------------------------------

    async def hide(self, user_id: str, history_id: str) -> bool:
        """Hide one of the caller's own entries from the caller's view (idempotent)."""
        history_id = (history_id or "").strip()
        if not history_id:
            raise bad_input("historyId must not be empty", field="historyId")

        def work(session: Session) -> None:
            row = session.get(HistoryEntryRow, history_id)
            if row is None or row.user_id != user_id:
                raise not_found("History entry not found", historyId=history_id)
            if session.get(HistoryHiddenRow, history_id) is None:
                session.add(HistoryHiddenRow(history_id=history_id, user_id=user_id, hidden_at=_now()))

        await self.db.write(work)
        return True

    # -- verifying -----------------------------------------------------------------------------

    async def verify(self) -> Verification:
        """Walk the chain in seq order: each hash must match its content, each prev_hash its
        predecessor, seq must have no gap, and the tail must be the entry the chain head names."""
        batch = self.config.verify_batch_size

        def work(session: Session) -> Verification:
            checked = 0
            broken: str | None = None
            expected_seq = 1
            prev_hash = GENESIS_HASH
            last_seen_seq = 0
            head = session.get(ChainHeadRow, CHAIN_HEAD_ID)
            head_seq = head.last_seq if head is not None else 0
            while True:
                rows = (
                    session.execute(
                        select(HistoryEntryRow)
                        .where(and_(HistoryEntryRow.seq > last_seen_seq, HistoryEntryRow.seq <= head_seq))
                        .order_by(HistoryEntryRow.seq)
                        .limit(batch)
                    )
                    .scalars()
                    .all()
                )
                for row in rows:
                    checked += 1
                    intact = (
                        row.seq == expected_seq
                        and row.prev_hash == prev_hash
                        and row.entry_hash == entry_hash(chained_facts(row))
                    )
                    if not intact and broken is None:
                        broken = row.history_id
                    expected_seq = row.seq + 1
                    prev_hash = row.entry_hash
                    last_seen_seq = row.seq
                if len(rows) < batch:
                    break
            if broken is None and head is not None:
                tail_matches = last_seen_seq == head.last_seq and prev_hash == head.last_hash
                if not tail_matches:
                    broken = head.last_history_id or "chain-head"
            if broken is None and head is None:
                extra = session.execute(select(func.count()).select_from(HistoryEntryRow)).scalar_one()
                if extra:
                    broken = "chain-head"
            return Verification(ok=broken is None, checked=checked, first_broken_id=broken)

        return await self.db.read(work)


def _same_key(new: NewHistory) -> tuple[ColumnElement[bool], ...]:
    """The idempotency key of an entry: (transaction, status, user)."""
    return (
        HistoryEntryRow.transaction_id == new.transaction_id,
        HistoryEntryRow.status == new.status,
        HistoryEntryRow.user_id == new.user_id,
    )


def _first(session: Session, stmt: Select[tuple[HistoryEntryRow, str | None]]) -> HistoryRecord | None:
    """The first entry `stmt` (an entry and its hide mark) finds, or None."""
    found = session.execute(stmt).first()
    return None if found is None else _record(found[0], found[1] is not None)
