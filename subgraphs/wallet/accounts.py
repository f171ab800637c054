"""The platform's system accounts: their ids, the merchant id rule, and creating them on first use.

A top-up is a transfer from a funding account (one per top-up channel), a payment a transfer to a
merchant's settlement account, a payout a transfer from settlement to the merchant's payout account:
every movement has two sides, so the sum of all balances stays exactly zero (models.AccountKind says
what each kind holds). System accounts are rows of `wallets` owned by `system`, with ids no user
wallet can have (user wallets are UUIDs), so the same locks, CHECKs and ledger serve both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.clock import utcnow
from shared.db import Database
from shared.errors import bad_input
from subgraphs.wallet.models import AccountKind, WalletStatus
from subgraphs.wallet.records import wallets_t

SYSTEM_OWNER = "system"
# The seed's marketplace: the merchant of every invoice that names no other.
DEFAULT_MERCHANT_ID = "marketplace"
# Today's only top-up channel (the seed's DEPOSIT); bank VA top-ups would each get their own.
DEPOSIT_CHANNEL = "DEPOSIT"

# A merchant's settlement account id is this prefix and the merchant id (the only id scheme).
SETTLEMENT_PREFIX = "sys:settlement:"

MERCHANT_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,19}$")


@dataclass(frozen=True)
class MerchantAccounts:
    """The three accounts of one merchant."""

    merchant_id: str
    settlement: str
    payout: str
    suspense: str


def funding_account_id(channel: str) -> str:
    return f"sys:funding:{channel}"


def merchant_accounts(merchant_id: str) -> MerchantAccounts:
    return MerchantAccounts(
        merchant_id=merchant_id,
        settlement=f"{SETTLEMENT_PREFIX}{merchant_id}",
        payout=f"sys:payout:{merchant_id}",
        suspense=f"sys:suspense:{merchant_id}",
    )


def merchant_of(account_id: str) -> str | None:
    """The merchant whose settlement account this is, or None."""
    return account_id.removeprefix(SETTLEMENT_PREFIX) if account_id.startswith(SETTLEMENT_PREFIX) else None


def check_merchant_id(value: str | None) -> str:
    """A merchant id: 1-20 of a-z, 0-9, '_' and '-' (it becomes part of account ids)."""
    merchant_id = (value or DEFAULT_MERCHANT_ID).strip()
    if not MERCHANT_ID_PATTERN.match(merchant_id):
        raise bad_input("merchantId must be 1 to 20 of a-z, 0-9, '_' and '-'", field="merchantId")
    return merchant_id


def _accounts_of_merchant(merchant_id: str) -> dict[str, AccountKind]:
    accounts = merchant_accounts(merchant_id)
    return {
        accounts.settlement: AccountKind.SETTLEMENT,
        accounts.payout: AccountKind.PAYOUT,
        accounts.suspense: AccountKind.SUSPENSE,
    }


class SystemAccounts:
    """Creates system accounts the first time a movement needs them, in their own committed
    transaction (so a movement's unit of work only ever locks rows that exist), and remembers which
    exist: rows are never deleted, so after the first look a process asks the database no more."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._known: set[str] = set()

    async def funding(self, channel: str = DEPOSIT_CHANNEL) -> str:
        account_id = funding_account_id(channel)
        await self._ensure({account_id: AccountKind.FUNDING})
        return account_id

    async def merchant(self, merchant_id: str) -> MerchantAccounts:
        await self._ensure(_accounts_of_merchant(merchant_id))
        return merchant_accounts(merchant_id)

    async def _ensure(self, wanted: dict[str, AccountKind]) -> None:
        missing = {account_id: kind for account_id, kind in wanted.items() if account_id not in self._known}
        if not missing:
            return
        try:
            await self.db.write(lambda session: create_missing(session, missing))
        except IntegrityError:
            pass  # a concurrent process created them first: they exist, which is all we need
        self._known.update(missing)


def create_missing(session: Session, wanted: dict[str, AccountKind]) -> None:
    """Insert the accounts of `wanted` that do not exist yet (ACTIVE, balance 0)."""
    existing = set(
        session.execute(
            select(wallets_t.c.wallet_id).where(wallets_t.c.wallet_id.in_(list(wanted)))
        ).scalars()
    )
    now = utcnow()
    rows = [
        {
            "wallet_id": account_id,
            "owner_id": SYSTEM_OWNER,
            "name": f"{kind.value.lower()} {account_id.rsplit(':', 1)[-1]}",
            "balance": 0,
            "status": WalletStatus.ACTIVE.value,
            "version": 0,
            "created_at": now,
            "updated_at": now,
            "incoming_month_minor": 0,
            "kind": kind.value,
        }
        for account_id, kind in sorted(wanted.items())
        if account_id not in existing
    ]
    if rows:
        session.execute(insert(wallets_t), rows)
