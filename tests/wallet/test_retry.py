"""Which database errors a ledger write retries (deadlocks, serialization failures, a replay that
raced past the idempotency check) and which it surfaces (a broken rule), and that retries are bounded."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from subgraphs.wallet import unit_of_work
from subgraphs.wallet.service import WalletService, is_retryable


class FakePgError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"sqlstate {sqlstate}")
        self.sqlstate = sqlstate


def db_error(orig: Exception, kind: type[DBAPIError] = DBAPIError) -> DBAPIError:
    return kind("statement", {}, orig)


@pytest.mark.parametrize(
    ("orig", "retry"),
    [
        (FakePgError("40P01"), True),  # deadlock detected
        (FakePgError("40001"), True),  # serialization failure
        (FakePgError("23505"), True),  # unique violation: a concurrent replay committed first
        (FakePgError("23514"), False),  # check violation: a rule was broken, never retry
        (Exception("database is locked"), True),
        (Exception("UNIQUE constraint failed: wallet_operations.transaction_id"), True),
        (Exception("CHECK constraint failed: ck_wallets_balance_non_negative"), False),
    ],
)
def test_only_conflicts_with_a_concurrent_writer_are_retried(orig: Exception, retry: bool) -> None:
    assert is_retryable(db_error(orig)) is retry


async def test_a_deadlocked_write_runs_again_and_then_succeeds(service: WalletService) -> None:
    attempts: list[int] = []

    def work(_session: Session) -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise db_error(FakePgError("40P01"))
        return "done"

    assert await service._run_write(work) == "done"
    assert len(attempts) == 3


async def test_retries_are_bounded(service: WalletService, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(unit_of_work, "RETRY_BACKOFF_MAX_S", 0.0)
    attempts: list[int] = []

    def work(_session: Session) -> str:
        attempts.append(1)
        raise db_error(FakePgError("40001"), IntegrityError)

    with pytest.raises(IntegrityError):
        await service._run_write(work)
    assert len(attempts) == unit_of_work.WRITE_ATTEMPTS_MAX
