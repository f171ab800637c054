"""The audit chain's hashing: one canonical serialisation of an entry, and its SHA-256.

An entry's hash covers every fact the entry records plus the previous entry's hash, serialised as
JSON with sorted keys, no spaces, UTF-8, amounts in integer minor units and instants as ISO-8601
UTC with microseconds (`2026-11-26T06:29:42.123456Z`). Whether the owner hid the entry is not part
of it (hiding is stored apart), so hiding never changes a hash.

`direction` and `counterparty` (added later: an entry per user a transfer touches) are covered too,
but appear in the canonical document only when they say something (direction IN, or a
counterparty): an OUT entry without a counterparty hashes exactly as every entry written before
they existed, so the stored chain still verifies.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from shared.clock import as_utc  # noqa: F401 - re-exported

GENESIS_HASH = "0" * 64


def iso_utc(moment: datetime) -> str:
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class EntryFacts:
    """What an entry says about one transaction for one user it touched: the facts a service asks
    to record, and those every stored entry, its hash and its readers share."""

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


@dataclass(frozen=True, kw_only=True)
class ChainedFacts(EntryFacts):
    """Everything an entry's hash covers: its facts, its place in the chain, its predecessor's hash."""

    seq: int
    history_id: str
    created_at: datetime
    prev_hash: str


def canonical_bytes(facts: ChainedFacts) -> bytes:
    """The exact bytes that are hashed; changing this format invalidates every stored hash."""
    document: dict[str, object] = {
        "seq": facts.seq,
        "historyId": facts.history_id,
        "transactionId": facts.transaction_id,
        "userId": facts.user_id,
        "walletId": facts.wallet_id,
        "amountMinor": facts.amount_minor,
        "type": facts.type,
        "status": facts.status,
        "vaNumber": facts.va_number,
        "occurredAt": iso_utc(facts.occurred_at),
        "createdAt": iso_utc(facts.created_at),
        "prevHash": facts.prev_hash,
    }
    if facts.direction != "OUT" or facts.counterparty is not None:
        document["direction"] = facts.direction
        document["counterparty"] = facts.counterparty
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(facts: ChainedFacts) -> str:
    """Hex SHA-256 of the canonical serialisation."""
    return hashlib.sha256(canonical_bytes(facts)).hexdigest()
