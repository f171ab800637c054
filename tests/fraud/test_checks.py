"""checkFraud through the service: bad input writes nothing; a transaction id is checked once."""

from __future__ import annotations

import asyncio

import pytest

from shared.errors import AppError, ErrorCode
from subgraphs.fraud.config import FraudConfig
from subgraphs.fraud.service import CheckInput, FraudService
from tests.fraud.conftest import Clock, MakeService, log_count, only, rp

GOOD = {
    "transaction_id": "tx-1",
    "user_id": "u1",
    "wallet_id": "w1",
    "amount_minor": rp(1000),
    "type": "PAYMENT",
}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount_minor": 0}, "amount"),
        ({"amount_minor": -100}, "amount"),
        ({"amount_minor": True}, "amount"),
        ({"amount_minor": 10.5}, "amount"),
        ({"amount_minor": 10**20}, "amount"),
        ({"transaction_id": ""}, "transactionId"),
        ({"transaction_id": "x" * 129}, "transactionId"),
        ({"user_id": "   "}, "userId"),
        ({"wallet_id": ""}, "walletId"),
        ({"type": "WITHDRAW_ALL"}, "type"),
        ({"type": ""}, "type"),
        ({"va_number": 123}, "vaNumber"),
    ],
)
async def test_bad_input_is_rejected_with_its_field_and_nothing_is_logged(
    make_service: MakeService, change: dict[str, object], field: str
) -> None:
    service = await make_service()
    with pytest.raises(AppError) as caught:
        await service.check(CheckInput(**{**GOOD, **change}))
    assert caught.value.code is ErrorCode.BAD_USER_INPUT
    assert caught.value.details["field"] == field
    assert await log_count(service.db) == 0


async def test_a_check_is_stored_with_normalised_input(make_service: MakeService) -> None:
    service = await make_service()
    outcome = await service.check(
        CheckInput(**{**GOOD, "transaction_id": "  tx-9 ", "type": "transfer", "va_number": " VA1 "})
    )
    assert not outcome.replayed
    stored = await service.get(outcome.log.log_id)
    assert stored is not None
    assert (stored.transaction_id, stored.type, stored.va_number) == ("tx-9", "TRANSFER", "VA1")
    assert stored.amount_minor == rp(1000)


async def test_a_retried_check_returns_the_first_verdict_and_logs_once(
    make_service: MakeService, clock: Clock
) -> None:
    service = await make_service(only("VELOCITY", velocity_max_checks=1), clock)
    first = await service.check(CheckInput(**GOOD))
    clock.advance(1)
    await service.check(CheckInput(**{**GOOD, "transaction_id": "tx-2"}))  # the user is now over velocity
    retry = await service.check(CheckInput(**GOOD))
    assert retry.replayed
    assert (retry.log.log_id, retry.log.status, retry.log.score) == (
        first.log.log_id,
        "SAFE",
        first.log.score,
    )
    assert await log_count(service.db, transaction_id="tx-1") == 1


async def test_reusing_a_transaction_id_with_other_details_is_refused(
    make_service: MakeService,
) -> None:
    service = await make_service()
    await service.check(CheckInput(**GOOD))
    for change in ({"amount_minor": rp(1001)}, {"user_id": "u2"}, {"type": "DEPOSIT"}):
        with pytest.raises(AppError) as caught:
            await service.check(CheckInput(**{**GOOD, **change}))
        assert caught.value.code is ErrorCode.IDEMPOTENCY_KEY_REUSED
    assert await log_count(service.db) == 1


async def concurrent_duplicates_log_once(service: FraudService) -> None:
    outcomes = await asyncio.gather(*(service.check(CheckInput(**GOOD)) for _ in range(20)))
    assert len({o.log.log_id for o in outcomes}) == 1
    assert len({(o.log.status, o.log.score) for o in outcomes}) == 1
    assert sum(not o.replayed for o in outcomes) == 1
    assert await log_count(service.db, transaction_id="tx-1") == 1


async def concurrent_checks_of_one_user_see_each_other(service: FraudService) -> None:
    outcomes = await asyncio.gather(
        *(service.check(CheckInput(**{**GOOD, "transaction_id": f"tx-c{i}"})) for i in range(10))
    )
    statuses = sorted(o.log.status for o in outcomes)
    assert statuses == ["FRAUD"] * 5 + ["SAFE"] * 5
    assert await log_count(service.db, user_id="u1") == 10


async def concurrent_duplicates_from_two_users_keep_one_log(service: FraudService) -> None:
    async def attempt(user: str) -> str:
        try:
            outcome = await service.check(
                CheckInput(**{**GOOD, "transaction_id": "tx-shared", "user_id": user})
            )
        except AppError as exc:
            assert exc.code is ErrorCode.IDEMPOTENCY_KEY_REUSED
            return "refused"
        return outcome.log.user_id

    results = await asyncio.gather(*(attempt(f"user-{i % 2}") for i in range(10)))
    winners = {r for r in results if r != "refused"}
    assert len(winners) == 1
    assert await log_count(service.db, transaction_id="tx-shared") == 1


def _velocity_config() -> FraudConfig:
    return only("VELOCITY", velocity_max_checks=5, velocity_window_s=3600)


async def test_twenty_concurrent_duplicate_checks_log_once_on_sqlite(make_service: MakeService) -> None:
    await concurrent_duplicates_log_once(await make_service())


async def test_concurrent_checks_of_one_user_are_serialised_on_sqlite(
    make_service: MakeService,
) -> None:
    await concurrent_checks_of_one_user_see_each_other(await make_service(_velocity_config()))


async def test_concurrent_duplicates_of_two_users_keep_one_log_on_sqlite(
    make_service: MakeService,
) -> None:
    await concurrent_duplicates_from_two_users_keep_one_log(await make_service())
