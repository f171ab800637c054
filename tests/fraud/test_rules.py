"""Each rule at its boundary (just under / at / over), through the service on a temp SQLite database."""

from __future__ import annotations

import itertools

import pytest

from subgraphs.fraud.config import FraudConfig
from subgraphs.fraud.service import CheckInput, FraudService, reason_text, verdict_of
from tests.fraud.conftest import Clock, MakeService, only, rp

_ids = itertools.count()


async def check(
    service: FraudService, amount_minor: int, *, user: str = "u1", type: str = "PAYMENT"
) -> tuple[str, list[str], int]:
    outcome = await service.check(
        CheckInput(
            transaction_id=f"tx-{next(_ids)}",
            user_id=user,
            wallet_id=f"w-{user}",
            amount_minor=amount_minor,
            type=type,
        )
    )
    return outcome.log.status, outcome.log.reason_codes, outcome.log.score


# -- 1 and 2: amount thresholds (the seed's, "greater than") ------------------------------------


@pytest.mark.parametrize(
    ("amount", "status", "reasons"),
    [
        ("9999999.99", "SAFE", []),
        ("10000000", "SAFE", []),
        ("10000000.01", "SUSPICIOUS", ["AMOUNT_SUSPICIOUS"]),
        ("49999999.99", "SUSPICIOUS", ["AMOUNT_SUSPICIOUS"]),
        ("50000000", "SUSPICIOUS", ["AMOUNT_SUSPICIOUS"]),
        ("50000000.01", "FRAUD", ["AMOUNT_FRAUD"]),
    ],
)
async def test_amount_rules_use_the_seed_thresholds_with_greater_than(
    make_service: MakeService, amount: str, status: str, reasons: list[str]
) -> None:
    service = await make_service(only("AMOUNT_FRAUD", "AMOUNT_SUSPICIOUS"))
    got_status, got_reasons, _ = await check(service, rp(amount))
    assert (got_status, got_reasons) == (status, reasons)


async def test_amount_thresholds_are_configurable(make_service: MakeService) -> None:
    config = only(
        "AMOUNT_FRAUD", "AMOUNT_SUSPICIOUS", amount_fraud_threshold=500, amount_suspicious_threshold=100
    )
    service = await make_service(config)
    assert (await check(service, rp(100)))[0] == "SAFE"
    assert (await check(service, rp("100.01")))[0] == "SUSPICIOUS"
    assert (await check(service, rp(500)))[0] == "SUSPICIOUS"
    assert (await check(service, rp("500.01")))[:2] == ("FRAUD", ["AMOUNT_FRAUD"])


# -- 3: velocity --------------------------------------------------------------------------------


async def test_velocity_allows_n_checks_in_the_window_and_flags_the_next(
    make_service: MakeService, clock: Clock
) -> None:
    service = await make_service(only("VELOCITY", velocity_max_checks=3, velocity_window_s=60), clock)
    statuses = []
    for _ in range(4):
        statuses.append((await check(service, rp(10)))[0])
        clock.advance(1)
    assert statuses == ["SAFE", "SAFE", "SAFE", "FRAUD"]
    assert (await check(service, rp(10), user="someone-else"))[0] == "SAFE"


async def test_velocity_window_slides_so_a_check_exactly_window_old_no_longer_counts(
    make_service: MakeService, clock: Clock
) -> None:
    service = await make_service(only("VELOCITY", velocity_max_checks=2, velocity_window_s=60), clock)
    await check(service, rp(10))  # t=0
    clock.advance(30)
    await check(service, rp(10))  # t=30
    clock.advance(29)  # t=59: both earlier checks are inside the window -> 3rd is over
    assert (await check(service, rp(10)))[:2] == ("FRAUD", ["VELOCITY"])
    clock.advance(31)  # t=90: t=30 is 60 s old (out), t=59 in -> 2 with this one
    assert (await check(service, rp(10)))[0] == "SAFE"


# -- 4: daily limit -----------------------------------------------------------------------------


async def test_daily_limit_sums_payments_and_transfers_including_this_one(
    make_service: MakeService, clock: Clock
) -> None:
    service = await make_service(only("DAILY_LIMIT", daily_limit=1000), clock)
    assert (await check(service, rp(600), type="PAYMENT"))[0] == "SAFE"
    assert (await check(service, rp("399.99"), type="TRANSFER"))[0] == "SAFE"  # 999.99
    assert (await check(service, rp("0.01"), type="PAYMENT"))[0] == "SAFE"  # exactly 1000
    assert (await check(service, rp("0.01"), type="PAYMENT"))[:2] == ("FRAUD", ["DAILY_LIMIT"])


async def test_daily_limit_ignores_deposits_fraud_checks_and_yesterday(
    make_service: MakeService, clock: Clock
) -> None:
    service = await make_service(only("DAILY_LIMIT", daily_limit=1000), clock)
    assert (await check(service, rp(5000), type="DEPOSIT"))[0] == "SAFE"
    assert (await check(service, rp(600)))[0] == "SAFE"
    assert (await check(service, rp(500)))[0] == "FRAUD"  # 1100 > 1000; not counted from now on
    assert (await check(service, rp(400)))[0] == "SAFE"  # 600 + 400 = 1000
    clock.now = clock.now.replace(hour=23, minute=59, second=59)
    assert (await check(service, rp("0.01")))[0] == "FRAUD"
    clock.advance(1)  # 00:00:00 UTC the next day: a new calendar day
    assert (await check(service, rp(1000)))[0] == "SAFE"
    assert (await check(service, rp("0.01"), user="other"))[0] == "SAFE"


# -- 5: new account, large amount ---------------------------------------------------------------


async def test_new_account_large_fires_above_the_amount_for_a_first_check(
    make_service: MakeService,
) -> None:
    service = await make_service(only("NEW_ACCOUNT_LARGE"))
    assert (await check(service, rp(5_000_000), user="a"))[0] == "SAFE"
    assert (await check(service, rp("5000000.01"), user="b"))[:2] == (
        "SUSPICIOUS",
        ["NEW_ACCOUNT_LARGE"],
    )


async def test_new_account_stops_being_new_24_hours_after_its_first_check(
    make_service: MakeService, clock: Clock
) -> None:
    service = await make_service(only("NEW_ACCOUNT_LARGE"), clock)
    await check(service, rp(10))
    clock.advance(86_400 - 1)
    assert (await check(service, rp("5000000.01")))[0] == "SUSPICIOUS"
    clock.advance(1)  # first activity exactly 24 h ago: no longer new
    assert (await check(service, rp("5000000.01")))[0] == "SAFE"


# -- 6: structuring -----------------------------------------------------------------------------


async def test_structuring_flags_the_third_amount_just_under_the_threshold(
    make_service: MakeService, clock: Clock
) -> None:
    service = await make_service(only("STRUCTURING"), clock)
    assert (await check(service, rp(9_000_000)))[0] == "SAFE"  # lower edge (90%) counts
    assert (await check(service, rp("9999999.99")))[0] == "SAFE"  # 2 so far
    assert (await check(service, rp(9_500_000)))[:2] == ("SUSPICIOUS", ["STRUCTURING"])


async def test_structuring_ignores_amounts_outside_the_band_and_older_than_the_window(
    make_service: MakeService, clock: Clock
) -> None:
    service = await make_service(only("STRUCTURING"), clock)
    await check(service, rp("8999999.99"))  # just under 90%: not near
    await check(service, rp(10_000_000))  # at the threshold: not "under"
    await check(service, rp(9_000_000))
    assert (await check(service, rp(9_000_000)))[0] == "SAFE"  # only 2 near ones
    clock.advance(86_400)  # the two near ones are exactly 24 h old: out of the window
    await check(service, rp(9_100_000))
    assert (await check(service, rp(9_100_000)))[0] == "SAFE"
    assert (await check(service, rp(9_100_000)))[0] == "SUSPICIOUS"
    assert (await check(service, rp(500)))[0] == "SAFE"  # the current one must be near too


async def test_structuring_band_and_count_are_configurable(make_service: MakeService) -> None:
    config = only(
        "STRUCTURING",
        amount_suspicious_threshold=1000,
        structuring_lower_pct=50,
        structuring_min_count=2,
    )
    service = await make_service(config)
    assert (await check(service, rp("499.99")))[0] == "SAFE"
    assert (await check(service, rp(500)))[0] == "SAFE"
    assert (await check(service, rp("999.99")))[0] == "SUSPICIOUS"


# -- combination, order, score ------------------------------------------------------------------


async def test_rules_combine_in_fixed_order_and_the_worst_verdict_wins(
    make_service: MakeService,
) -> None:
    service = await make_service(FraudConfig())
    status, reasons, score = await check(service, rp(120_000_000))
    assert status == "FRAUD"
    assert reasons == ["AMOUNT_FRAUD", "DAILY_LIMIT", "NEW_ACCOUNT_LARGE"]
    assert score == 100
    status, reasons, score = await check(service, rp(20_000_000), user="fresh")
    assert (status, reasons) == ("SUSPICIOUS", ["AMOUNT_SUSPICIOUS", "NEW_ACCOUNT_LARGE"])
    assert 30 <= score <= 79


def test_score_is_the_sum_of_weights_clamped_into_the_verdicts_band() -> None:
    assert verdict_of([]).score == 0
    assert verdict_of(["NEW_ACCOUNT_LARGE"]).score == 35
    assert verdict_of(["AMOUNT_SUSPICIOUS", "STRUCTURING"]).score == 79
    assert verdict_of(["VELOCITY"]).score == 85
    assert verdict_of(["AMOUNT_FRAUD", "VELOCITY"]).score == 100
    assert verdict_of(["STRUCTURING", "VELOCITY"]).status == "FRAUD"


def test_reason_joins_codes_or_says_ok() -> None:
    assert reason_text([]) == "OK"
    assert reason_text(["VELOCITY", "DAILY_LIMIT"]) == "VELOCITY; DAILY_LIMIT"
