"""addHistory: service-only, validated, idempotent by (transactionId, status)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from subgraphs.history.models import HistoryEntryRow
from subgraphs.history.service import HistoryService
from tests.history.conftest import ADD_HISTORY, HistoryApi, error_code, new_input
from tests.support.tokens import service_token, user_token


async def count_entries(service: HistoryService) -> int:
    return await service.db.read(
        lambda session: session.execute(select(func.count()).select_from(HistoryEntryRow)).scalar_one()
    )


async def test_a_service_with_history_write_records_an_entry(api: HistoryApi) -> None:
    entry = await api.added(
        transactionId="tx-1", amount="20000.5", type="PAYMENT", status="SUCCESS", vaNumber="8808123"
    )
    assert entry["transactionId"] == "tx-1"
    assert entry["userId"] == "user-a"
    assert entry["walletId"] == "wallet-a"
    assert entry["amount"] == "20000.50"
    assert entry["type"] == "PAYMENT"
    assert entry["status"] == "SUCCESS"
    assert entry["vaNumber"] == "8808123"
    assert entry["occurredAt"].startswith("2026-11-20T10:00:00")
    assert entry["hidden"] is False


async def test_a_user_token_cannot_add_history(api: HistoryApi, service: HistoryService) -> None:
    body = await api.add(token=user_token("user-a"))
    assert error_code(body) == "FORBIDDEN"
    admin = await api.add(token=user_token("root", role="ADMIN"))
    assert error_code(admin) == "FORBIDDEN"
    assert await count_entries(service) == 0


async def test_an_anonymous_caller_cannot_add_history(api: HistoryApi, service: HistoryService) -> None:
    body = await api.call(ADD_HISTORY, {"input": new_input()})
    assert error_code(body) == "UNAUTHENTICATED"
    assert await count_entries(service) == 0


async def test_a_service_token_without_the_scope_cannot_add_history(
    api: HistoryApi, service: HistoryService
) -> None:
    body = await api.add(token=service_token("wallet:debit", "fraud:check"))
    assert error_code(body) == "FORBIDDEN"
    assert await count_entries(service) == 0


async def test_a_replayed_transaction_status_returns_the_existing_entry(
    api: HistoryApi, service: HistoryService
) -> None:
    first = await api.added(transactionId="tx-replay", status="SUCCESS")
    again = await api.added(transactionId="tx-replay", status="SUCCESS", occurredAt="2026-11-21T00:00:00Z")
    assert again == first
    assert await count_entries(service) == 1


async def test_the_same_transaction_with_another_status_is_a_new_entry(
    api: HistoryApi, service: HistoryService
) -> None:
    pending = await api.added(transactionId="tx-2", status="PENDING")
    success = await api.added(transactionId="tx-2", status="SUCCESS")
    assert pending["historyId"] != success["historyId"]
    assert await count_entries(service) == 2


async def test_a_replay_with_different_facts_is_refused(api: HistoryApi, service: HistoryService) -> None:
    await api.added(transactionId="tx-3", amount="100.00")
    body = await api.add(transactionId="tx-3", amount="999.00")
    assert error_code(body) == "IDEMPOTENCY_KEY_REUSED"
    assert await count_entries(service) == 1


async def test_concurrent_duplicates_create_one_entry(api: HistoryApi, service: HistoryService) -> None:
    bodies = await asyncio.gather(*(api.add(transactionId="tx-dup", status="SUCCESS") for _ in range(20)))
    ids = {body["data"]["addHistory"]["historyId"] for body in bodies}
    assert len(ids) == 1
    assert await count_entries(service) == 1


async def test_status_and_type_are_normalised_to_upper_case(api: HistoryApi) -> None:
    entry = await api.added(type="deposit", status="success")
    assert (entry["type"], entry["status"]) == ("DEPOSIT", "SUCCESS")


@pytest.mark.parametrize(
    ("overrides", "code", "field"),
    [
        ({"amount": 0}, "BAD_USER_INPUT", None),
        ({"amount": "-5.00"}, "BAD_USER_INPUT", None),
        ({"amount": "10.123"}, "BAD_USER_INPUT", None),
        ({"amount": "NaN"}, "BAD_USER_INPUT", None),
        ({"transactionId": ""}, "BAD_USER_INPUT", "transactionId"),
        ({"transactionId": "   "}, "BAD_USER_INPUT", "transactionId"),
        ({"userId": ""}, "BAD_USER_INPUT", "userId"),
        ({"walletId": ""}, "BAD_USER_INPUT", "walletId"),
        ({"transactionId": "x" * 129}, "BAD_USER_INPUT", "transactionId"),
        ({"status": "MAYBE"}, "BAD_USER_INPUT", "status"),
        ({"status": ""}, "BAD_USER_INPUT", "status"),
        ({"type": "GIFT"}, "BAD_USER_INPUT", "type"),
        ({"vaNumber": "9" * 65}, "BAD_USER_INPUT", "vaNumber"),
        ({"occurredAt": "2999-01-01T00:00:00Z"}, "BAD_USER_INPUT", "occurredAt"),
        ({"occurredAt": "yesterday"}, "BAD_USER_INPUT", None),
    ],
)
async def test_bad_input_is_refused_with_a_specific_code_and_writes_nothing(
    api: HistoryApi, service: HistoryService, overrides: dict[str, object], code: str, field: str | None
) -> None:
    body = await api.add(**overrides)
    assert error_code(body) == code
    if field is not None:
        assert body["errors"][0]["extensions"]["field"] == field
    assert body.get("data") in (None, {}) or body["data"].get("addHistory") is None
    assert await count_entries(service) == 0
