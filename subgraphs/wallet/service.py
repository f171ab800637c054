"""The wallet service: one façade over its jobs, each in its own module; no GraphQL, no HTTP.

- records.py: the frozen records the service hands out, their tables, the row -> record helpers
- unit_of_work.py: one write transaction, its bounded retry after a conflict, the row locks
- accounts.py: the system accounts (funding, merchant settlement/payout/suspense), made on first use
- postings.py: posting one entry, the idempotency record, the assertions of every movement
- movements.py: topup, deduct, transfer, reverse: each one balanced transfer between two accounts
- settlement.py: a merchant's statement, its payout batches, paying out its settled balance
- trial_balance.py: every invariant of the double-entry ledger (the `trialBalance` query, reconcile)
- wallets.py: creating, closing, freezing wallets, and every read (wallets, owners, statements)
- events.py: one event per committed movement, published after COMMIT; a user's own stream

Every public method is one unit of work on the wallet database. The names below the imports stay
importable from here, where schema.py, app.py, reconcile.py and the tests have always found them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from shared.db import Database
from shared.events import EventBus
from shared.pagination import PAGE_DEFAULT as PAGE_DEFAULT
from shared.settings import get_settings
from shared.tokens import Principal
from subgraphs.wallet.accounts import SystemAccounts
from subgraphs.wallet.config import WalletSettings
from subgraphs.wallet.events import Events
from subgraphs.wallet.movements import TRANSACTION_ID_MAX_CHARS as TRANSACTION_ID_MAX_CHARS
from subgraphs.wallet.movements import Movements
from subgraphs.wallet.postings import assert_movement as assert_movement
from subgraphs.wallet.records import EntryRecord as EntryRecord
from subgraphs.wallet.records import LedgerMove as LedgerMove
from subgraphs.wallet.records import TransferMove as TransferMove
from subgraphs.wallet.records import WalletOwnerRecord as WalletOwnerRecord
from subgraphs.wallet.records import WalletRecord as WalletRecord
from subgraphs.wallet.records import entries_t as entries_t
from subgraphs.wallet.records import month_key as month_key
from subgraphs.wallet.records import month_start as month_start
from subgraphs.wallet.records import operations_t as operations_t
from subgraphs.wallet.records import wallets_t as wallets_t
from subgraphs.wallet.settlement import BatchRecord as BatchRecord
from subgraphs.wallet.settlement import Settlement
from subgraphs.wallet.settlement import StatementLine as StatementLine
from subgraphs.wallet.trial_balance import TrialBalance as TrialBalance
from subgraphs.wallet.trial_balance import trial_balance
from subgraphs.wallet.unit_of_work import RETRY_BACKOFF_BASE_S as RETRY_BACKOFF_BASE_S
from subgraphs.wallet.unit_of_work import RETRY_BACKOFF_MAX_S as RETRY_BACKOFF_MAX_S
from subgraphs.wallet.unit_of_work import WRITE_ATTEMPTS_MAX as WRITE_ATTEMPTS_MAX
from subgraphs.wallet.unit_of_work import UnitOfWork
from subgraphs.wallet.unit_of_work import is_retryable as is_retryable
from subgraphs.wallet.wallets import OWNER_ID_MAX_CHARS as OWNER_ID_MAX_CHARS
from subgraphs.wallet.wallets import WALLET_ID_MAX_CHARS as WALLET_ID_MAX_CHARS
from subgraphs.wallet.wallets import WALLET_NAME_MAX_CHARS as WALLET_NAME_MAX_CHARS
from subgraphs.wallet.wallets import Wallets
from subgraphs.wallet.wallets import can_see as can_see

T = TypeVar("T")


class WalletService:
    """Wallets and their ledger; every public method is one unit of work on the wallet database."""

    def __init__(
        self,
        db: Database,
        limits: WalletSettings,
        *,
        money_max_minor: int | None = None,
        events: EventBus | None = None,
    ) -> None:
        self.db = db
        self.events = events
        self.unit_of_work = UnitOfWork(db)
        self.announcer = Events(events)
        self.wallets = Wallets(db, self.unit_of_work)
        self.accounts = SystemAccounts(db)
        self.movements = Movements(
            self.unit_of_work,
            self.announcer,
            limits,
            money_max_minor or get_settings().money_max_minor,
            self.accounts,
        )
        self.settlement = Settlement(db, self.unit_of_work, self.accounts)
        # The façade's operations are the jobs' own methods: one signature each, no second copy.
        self.create_wallet = self.wallets.create_wallet
        self.wallets_of = self.wallets.wallets_of
        self.find_wallet = self.wallets.find_wallet
        self.wallet_owner = self.wallets.wallet_owner
        self.default_wallet_of = self.wallets.default_wallet_of
        self.wallet_visible_to = self.wallets.wallet_visible_to
        self.get_wallet = self.wallets.get_wallet
        self.close_wallet = self.wallets.close_wallet
        self.set_frozen = self.wallets.set_frozen
        self.entries_of = self.wallets.entries_of
        self.movements_of = self.wallets.movements_of
        self.topup = self.movements.topup
        self.deduct = self.movements.deduct
        self.transfer = self.movements.transfer
        self.reverse = self.movements.reverse
        self.settle_merchant = self.settlement.settle
        self.merchant_statement = self.settlement.statement
        self.settlement_batches = self.settlement.batches

    # The limits live with the movements that apply them; assigning them here still takes effect.

    @property
    def limits(self) -> WalletSettings:
        return self.movements.limits

    @limits.setter
    def limits(self, value: WalletSettings) -> None:
        self.movements.limits = value

    @property
    def money_max_minor(self) -> int:
        return self.movements.money_max_minor

    @money_max_minor.setter
    def money_max_minor(self, value: int) -> None:
        self.movements.money_max_minor = value

    def events_for(self, viewer: Principal) -> AsyncIterator[dict[str, Any]]:
        return self.announcer.events_for(viewer)

    async def _run_write(self, work: Callable[[Session], T]) -> T:
        return await self.unit_of_work.run_write(work)

    async def trial_balance(self) -> TrialBalance:
        return await self.db.read(trial_balance)


@dataclass(frozen=True)
class WalletDeps:
    """What the wallet's resolvers reach as `info.context.deps`."""

    database: Database
    service: WalletService
