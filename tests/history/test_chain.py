"""The audit trail is hash-chained: verification finds any altered, removed or reordered entry."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from subgraphs.history.chain import GENESIS_HASH, ChainedFacts, canonical_bytes, entry_hash
from subgraphs.history.models import HistoryEntryRow
from subgraphs.history.service import HistoryService, chained_facts
from tests.history.conftest import ADMIN, VERIFY, HistoryApi, add_some, chain_facts, tamper
from tests.support.tokens import user_token


async def verify(api: HistoryApi) -> dict[str, object]:
    return (await api.data(VERIFY, token=ADMIN))["verifyAuditTrail"]


def test_the_canonical_form_is_sorted_compact_json_in_minor_units_and_utc() -> None:
    facts = chain_facts(
        history_id="h",
        transaction_id="t",
        amount_minor=1050,
        occurred_at=datetime(2026, 11, 20, 17, 0, tzinfo=UTC),
        created_at=datetime(2026, 11, 20, 17, 0, 1, 5),
    )
    assert canonical_bytes(facts) == (
        b'{"amountMinor":1050,"createdAt":"2026-11-20T17:00:01.000005Z","historyId":"h",'
        b'"occurredAt":"2026-11-20T17:00:00.000000Z","prevHash":"' + GENESIS_HASH.encode() + b'",'
        b'"seq":1,"status":"SUCCESS","transactionId":"t","type":"DEPOSIT","userId":"u",'
        b'"vaNumber":null,"walletId":"w"}'
    )
    changed = ChainedFacts(**{**facts.__dict__, "amount_minor": 1051})
    assert entry_hash(changed) != entry_hash(facts)


async def test_an_empty_trail_verifies(api: HistoryApi) -> None:
    assert await verify(api) == {"ok": True, "checked": 0, "firstBrokenId": None}


async def test_entries_link_to_their_predecessor_and_the_chain_verifies(
    api: HistoryApi, service: HistoryService
) -> None:
    await add_some(api, 4)
    rows = await service.db.read(
        lambda session: session.execute(
            text("SELECT seq, prev_hash, entry_hash FROM history_entries ORDER BY seq")
        ).all()
    )
    assert [row.seq for row in rows] == [1, 2, 3, 4]
    assert rows[0].prev_hash == GENESIS_HASH
    assert all(rows[i].prev_hash == rows[i - 1].entry_hash for i in range(1, 4))
    assert await verify(api) == {"ok": True, "checked": 4, "firstBrokenId": None}


async def test_an_altered_amount_is_found(api: HistoryApi, service: HistoryService) -> None:
    entries = await add_some(api, 5)
    target = entries[2]["historyId"]
    await tamper(service, "UPDATE history_entries SET amount_minor = 1 WHERE history_id = :id", id=target)
    assert await verify(api) == {"ok": False, "checked": 5, "firstBrokenId": target}


async def test_an_altered_entry_with_a_recomputed_hash_breaks_the_next_link(
    api: HistoryApi, service: HistoryService
) -> None:
    entries = await add_some(api, 3)
    target = entries[1]["historyId"]
    row = await service.db.read(lambda session: session.get(HistoryEntryRow, target))
    assert row is not None
    forged = entry_hash(ChainedFacts(**{**chained_facts(row).__dict__, "user_id": "thief"}))
    await tamper(
        service,
        "UPDATE history_entries SET user_id = 'thief', entry_hash = :h WHERE history_id = :id",
        h=forged,
        id=target,
    )
    assert await verify(api) == {"ok": False, "checked": 3, "firstBrokenId": entries[2]["historyId"]}


async def test_a_deleted_entry_is_found_as_a_gap(api: HistoryApi, service: HistoryService) -> None:
    entries = await add_some(api, 5)
    await tamper(service, "DELETE FROM history_entries WHERE history_id = :id", id=entries[1]["historyId"])
    assert await verify(api) == {"ok": False, "checked": 4, "firstBrokenId": entries[2]["historyId"]}


async def test_a_deleted_newest_entry_is_found_against_the_chain_head(
    api: HistoryApi, service: HistoryService
) -> None:
    entries = await add_some(api, 3)
    await tamper(service, "DELETE FROM history_entries WHERE history_id = :id", id=entries[2]["historyId"])
    assert await verify(api) == {"ok": False, "checked": 2, "firstBrokenId": entries[2]["historyId"]}


async def test_hiding_entries_keeps_the_chain_valid(api: HistoryApi) -> None:
    entries = await add_some(api, 3)
    owner = user_token("user-a")
    for entry in entries[:2]:
        await api.data(
            "mutation($id: ID!) { deleteHistory(historyId: $id) }", {"id": entry["historyId"]}, owner
        )
    assert await verify(api) == {"ok": True, "checked": 3, "firstBrokenId": None}


async def test_the_database_refuses_a_second_entry_with_the_same_place_in_the_chain(
    service: HistoryService, api: HistoryApi
) -> None:
    entries = await add_some(api, 1)
    row = await service.db.read(
        lambda session: (
            session.execute(
                text("SELECT * FROM history_entries WHERE history_id = :id"), {"id": entries[0]["historyId"]}
            )
            .mappings()
            .one()
        )
    )
    forged = {**row, "history_id": "forged", "transaction_id": "other", "entry_hash": "e" * 64}
    columns = ", ".join(forged)
    values = ", ".join(f":{name}" for name in forged)
    for change in ({}, {"seq": 99}):
        with pytest.raises(IntegrityError):
            await tamper(
                service,
                f"INSERT INTO history_entries ({columns}) VALUES ({values})",
                **{**forged, **change},
            )
