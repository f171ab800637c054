"""History's records and input rules: the frozen values the service hands out and the checks every
new entry passes before it reaches the chain."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from shared.errors import bad_input
from shared.pagination import page_size
from subgraphs.history.chain import ChainedFacts, as_utc
from subgraphs.history.models import (
    CODE_MAX,
    COUNTERPARTY_MAX,
    ID_MAX,
    HistoryEntryRow,
)

MAX_FUTURE_SKEW = timedelta(days=1)
_CODE_PATTERN = re.compile(r"^[A-Z][A-Z0-9_]*$")


@dataclass(frozen=True)
class NewHistory:
    """What a service asks to record (amount already in minor units)."""

    transaction_id: str
    user_id: str
    wallet_id: str
    amount_minor: int
    type: str
    status: str
    va_number: str | None
    occurred_at: datetime
    direction: str = "OUT"
    counterparty: str | None = None


@dataclass(frozen=True)
class HistoryRecord:
    """One entry as readers see it; `hidden` says whether its owner hid it."""

    history_id: str
    seq: int
    transaction_id: str
    user_id: str
    wallet_id: str
    amount_minor: int
    type: str
    status: str
    va_number: str | None
    occurred_at: datetime
    created_at: datetime
    hidden: bool
    direction: str = "OUT"
    counterparty: str | None = None


@dataclass(frozen=True)
class HistoryFilter:
    """Optional filters of a user's own list; `occurred_from`/`occurred_to` are inclusive."""

    type: str | None = None
    status: str | None = None
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None
    direction: str | None = None


@dataclass(frozen=True)
class Verification:
    """The outcome of walking the chain: ok, how many entries were checked, the first broken one."""

    ok: bool
    checked: int
    first_broken_id: str | None


def chained_facts(row: HistoryEntryRow) -> ChainedFacts:
    """The hashed facts of a stored row (what verification recomputes)."""
    return ChainedFacts(
        seq=row.seq,
        history_id=row.history_id,
        transaction_id=row.transaction_id,
        user_id=row.user_id,
        wallet_id=row.wallet_id,
        amount_minor=row.amount_minor,
        type=row.type,
        status=row.status,
        va_number=row.va_number,
        occurred_at=row.occurred_at,
        created_at=row.created_at,
        prev_hash=row.prev_hash,
        direction=row.direction,
        counterparty=row.counterparty,
    )


def _record(row: HistoryEntryRow, hidden: bool) -> HistoryRecord:
    return HistoryRecord(
        history_id=row.history_id,
        seq=row.seq,
        transaction_id=row.transaction_id,
        user_id=row.user_id,
        wallet_id=row.wallet_id,
        amount_minor=row.amount_minor,
        type=row.type,
        status=row.status,
        va_number=row.va_number,
        occurred_at=as_utc(row.occurred_at),
        created_at=as_utc(row.created_at),
        hidden=hidden,
        direction=row.direction,
        counterparty=row.counterparty,
    )


def validate_direction(value: str | None) -> str | None:
    """OUT or IN (upper-cased); None stays None; anything else is BAD_USER_INPUT."""
    if value is None:
        return None
    cleaned = value.strip().upper()
    if cleaned not in ("OUT", "IN"):
        raise bad_input("direction must be OUT or IN", field="direction")
    return cleaned


def _counterparty(value: str | None) -> str | None:
    cleaned = (value or "").strip() or None
    if cleaned is not None and (len(cleaned) > COUNTERPARTY_MAX or "\x00" in cleaned):
        raise bad_input(f"counterparty must be at most {COUNTERPARTY_MAX} characters", field="counterparty")
    return cleaned


def _now() -> datetime:
    return datetime.now(UTC)


def _required_id(value: str, field: str) -> str:
    text = (value or "").strip()
    if not text:
        raise bad_input(f"{field} must not be empty", field=field)
    if len(text) > ID_MAX:
        raise bad_input(f"{field} is longer than {ID_MAX} characters", field=field)
    return text


def _code(value: str, field: str, allowed: frozenset[str]) -> str:
    text = (value or "").strip().upper()
    if not text:
        raise bad_input(f"{field} must not be empty", field=field)
    if len(text) > CODE_MAX or not _CODE_PATTERN.match(text) or text not in allowed:
        raise bad_input(
            f"Unknown {field} {value!r}; expected one of {', '.join(sorted(allowed))}", field=field
        )
    return text


def validate_page(first: int | None) -> int:
    """A page size (shared.pagination's one rule)."""
    return page_size(first)
