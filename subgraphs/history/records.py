"""History's records and input rules: the frozen values the service hands out and the checks every
new entry passes before it reaches the chain."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from shared.errors import bad_input
from shared.pagination import page_size
from shared.records import copy_fields
from subgraphs.history.chain import ChainedFacts, EntryFacts, as_utc
from subgraphs.history.models import (
    CODE_MAX,
    COUNTERPARTY_MAX,
    DIRECTIONS,
    ID_MAX,
    HistoryEntryRow,
)

MAX_FUTURE_SKEW = timedelta(days=1)
_CODE_PATTERN = re.compile(r"^[A-Z][A-Z0-9_]*$")


@dataclass(frozen=True)
class NewHistory(EntryFacts):
    """What a service asks to record (amount already in minor units)."""


@dataclass(frozen=True, kw_only=True)
class HistoryRecord(EntryFacts):
    """One entry as readers see it; `hidden` says whether its owner hid it."""

    history_id: str
    seq: int
    created_at: datetime
    hidden: bool


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
    return copy_fields(ChainedFacts, row)


def _record(row: HistoryEntryRow, hidden: bool) -> HistoryRecord:
    return copy_fields(
        HistoryRecord,
        row,
        occurred_at=as_utc(row.occurred_at),
        created_at=as_utc(row.created_at),
        hidden=hidden,
    )


def validate_direction(value: str | None) -> str | None:
    """OUT or IN (upper-cased); None stays None; anything else is BAD_USER_INPUT."""
    if value is None:
        return None
    cleaned = value.strip().upper()
    if cleaned not in DIRECTIONS:
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
