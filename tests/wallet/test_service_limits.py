"""The Bank Indonesia limits, in-process against service.py on a migrated SQLite file: the maximum
balance and the monthly incoming limit, and how their settings are read."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from shared.clock import utcnow
from shared.errors import ErrorCode
from subgraphs.wallet.config import WalletSettings
from subgraphs.wallet.reconcile import reconcile
from subgraphs.wallet.service import WalletService, entries_t, wallets_t
from tests.wallet.helpers import new_id
from tests.wallet.service_helpers import ALICE, BOB, RP, funded, refused

# ---- limits -----------------------------------------------------------------------------------


async def test_the_maximum_balance_is_rp_20_million_by_default(service: WalletService) -> None:
    assert service.limits.max_balance_minor == 20_000_000 * RP
    assert service.limits.monthly_incoming_limit_minor == 40_000_000 * RP
    wallet_id = await funded(service, ALICE, 19_999_999 * RP)
    await refused(
        service,
        ErrorCode.LIMIT_EXCEEDED,
        service.topup(transaction_id=new_id(), user_id=ALICE, wallet_id=wallet_id, amount_minor=1 * RP + 1),
    )
    move = await service.topup(
        transaction_id=new_id(), user_id=ALICE, wallet_id=wallet_id, amount_minor=1 * RP
    )
    assert move.balance_after == 20_000_000 * RP


async def test_the_monthly_incoming_limit_counts_topups_and_transfers_of_this_calendar_month(
    service: WalletService,
) -> None:
    service.limits = WalletSettings(max_balance_minor=10_000, monthly_incoming_limit_minor=15_000)
    wallet_id = await funded(service, ALICE, 8_000)
    sender = await funded(service, BOB, 9_000)
    await service.deduct(transaction_id=new_id(), user_id=ALICE, wallet_id=wallet_id, amount_minor=8_000)
    await service.transfer(
        transaction_id=new_id(),
        user_id=BOB,
        from_wallet_id=sender,
        to_wallet_id=wallet_id,
        amount_minor=6_000,
    )

    for operation in (
        service.topup(transaction_id=new_id(), user_id=ALICE, wallet_id=wallet_id, amount_minor=1_001),
        service.transfer(
            transaction_id=new_id(),
            user_id=BOB,
            from_wallet_id=sender,
            to_wallet_id=wallet_id,
            amount_minor=1_001,
        ),
    ):
        await refused(service, ErrorCode.LIMIT_EXCEEDED, operation)

    # Last month's credits do not count against this month (the ledger and the month's counter
    # both moved back in time).
    last_month = utcnow().replace(day=1) - timedelta(days=1)

    def time_travel(session: Session) -> None:
        session.execute(
            update(entries_t).where(entries_t.c.wallet_id == wallet_id).values(created_at=last_month)
        )
        session.execute(
            update(wallets_t)
            .where(wallets_t.c.wallet_id == wallet_id)
            .values(incoming_month=last_month.strftime("%Y-%m"))
        )

    await service.db.write(time_travel)
    assert (await reconcile(service.db)).ok
    move = await service.topup(
        transaction_id=new_id(), user_id=ALICE, wallet_id=wallet_id, amount_minor=4_000
    )
    assert move.balance_after == 10_000


def test_limits_are_read_from_the_environment_in_rupiah(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WALLET_MAX_BALANCE", "2000000")
    monkeypatch.setenv("WALLET_MONTHLY_INCOMING_LIMIT", "5000000.50")
    limits = WalletSettings()
    assert (limits.max_balance_minor, limits.monthly_incoming_limit_minor) == (200_000_000, 500_000_050)


def test_the_events_prefix_is_read_from_its_wallet_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    assert WalletSettings().events_redis_prefix == "sawit:wallet-events:"
    monkeypatch.setenv("WALLET_EVENTS_REDIS_PREFIX", "test:events:")
    assert WalletSettings().events_redis_prefix == "test:events:"


def test_a_limit_named_minor_is_sen_and_any_other_is_rupiah_whatever_its_type(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert WalletSettings(max_balance=20_000).max_balance_minor == 2_000_000  # an int of rupiah
    assert WalletSettings(max_balance="20000.00").max_balance_minor == 2_000_000
    assert WalletSettings(max_balance_minor=20_000).max_balance_minor == 20_000  # sen
    monkeypatch.setenv("WALLET_MAX_BALANCE_MINOR", "150")
    assert WalletSettings().max_balance_minor == 150
    with pytest.raises(ValueError):
        WalletSettings(max_balance_minor=1.5)
    with pytest.raises(ValueError):
        WalletSettings(monthly_incoming_limit="lots")
