"""What every job of the transactions service shares: text limits, blanks, the wallet answers that
leave money in doubt, a step's failure, and the locked row a compare-and-set reads. (Page sizes are
the one rule of every subgraph, `shared.pagination.page_size`.)"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from shared.errors import ErrorCode, not_found
from subgraphs.transactions.models import Transaction

DESCRIPTION_MAX = 255

# Wallet answers after which money may or may not have moved: settle from the ledger later.
AMBIGUOUS_CODES = frozenset({ErrorCode.SUBGRAPH_UNAVAILABLE, ErrorCode.INTERNAL})


@dataclass(frozen=True)
class Failure:
    code: ErrorCode
    message: str


def clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def locked(session: Session, tx_id: str) -> Transaction:
    row = session.get(Transaction, tx_id, with_for_update=True, populate_existing=True)
    if row is None:
        raise not_found("Transaction not found")
    return row
