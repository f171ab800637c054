"""A transfer touches two users: one audit entry each (OUT for the sender, IN for the receiver),
hashed into the chain with their direction and counterparty, and filterable by direction."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from shared.migrations import alembic_config, upgrade_to_head_sync
from subgraphs.history.app import MIGRATIONS_DIR
from subgraphs.history.chain import GENESIS_HASH, ChainedFacts, canonical_bytes, entry_hash
from subgraphs.history.service import HistoryService
from tests.history.conftest import (
    ADMIN,
    VERIFY,
    WRITER,
    HistoryApi,
    chain_facts,
    client_of,
    error_code,
    new_input,
    running_app,
    tamper,
)
from tests.support.tokens import user_token

ADD_BOTH_SIDES = """
mutation Add($input: AddHistoryInput!) {
  addHistory(input: $input) { historyId userId walletId direction counterparty }
}"""
MINE = "query ($d: String) { myHistory(direction: $d) { transactionId direction counterparty } }"


def sides(tx: str) -> tuple[dict[str, object], dict[str, object]]:
    sender = new_input(transactionId=tx, type="TRANSFER", userId="alice", walletId="w-alice")
    receiver = {**sender, "userId": "bob", "walletId": "w-bob", "direction": "IN", "counterparty": "alice"}
    return {**sender, "counterparty": "bob"}, receiver


async def test_a_transfer_gets_an_outgoing_entry_for_the_sender_and_an_incoming_one_for_the_receiver(
    api: HistoryApi,
) -> None:
    sender, receiver = sides("tx-both")
    out = (await api.data(ADD_BOTH_SIDES, {"input": sender}, WRITER))["addHistory"]
    inc = (await api.data(ADD_BOTH_SIDES, {"input": receiver}, WRITER))["addHistory"]
    assert (out["userId"], out["direction"], out["counterparty"]) == ("alice", "OUT", "bob")
    assert (inc["userId"], inc["walletId"], inc["direction"], inc["counterparty"]) == (
        "bob",
        "w-bob",
        "IN",
        "alice",
    )
    assert out["historyId"] != inc["historyId"]
    again = (await api.data(ADD_BOTH_SIDES, {"input": receiver}, WRITER))["addHistory"]
    assert again["historyId"] == inc["historyId"]  # idempotent per (transaction, status, user)
    bob = user_token("bob")
    assert (await api.data(MINE, {"d": "IN"}, bob))["myHistory"] == [
        {"transactionId": "tx-both", "direction": "IN", "counterparty": "alice"}
    ]
    assert (await api.data(MINE, {"d": "OUT"}, bob))["myHistory"] == []
    assert error_code(await api.call(MINE, {"d": "UP"}, bob)) == "BAD_USER_INPUT"
    assert (await api.data(VERIFY, token=ADMIN))["verifyAuditTrail"]["ok"] is True


async def test_the_same_key_with_another_direction_or_counterparty_is_refused(api: HistoryApi) -> None:
    _, receiver = sides("tx-reuse")
    await api.data(ADD_BOTH_SIDES, {"input": receiver}, WRITER)
    for change in ({"counterparty": "mallory"}, {"direction": "OUT"}):
        body = await api.add(**{**receiver, **change})
        assert error_code(body) == "IDEMPOTENCY_KEY_REUSED"
    bad = await api.add(**{**receiver, "direction": "SIDEWAYS"})
    assert error_code(bad) == "BAD_USER_INPUT"


async def test_tampering_with_an_entrys_direction_or_counterparty_breaks_the_chain(
    api: HistoryApi, service: HistoryService
) -> None:
    _, receiver = sides("tx-tamper")
    await api.data(ADD_BOTH_SIDES, {"input": receiver}, WRITER)
    await tamper(service, "UPDATE history_entries SET counterparty = 'mallory' WHERE user_id = 'bob'")
    assert (await api.data(VERIFY, token=ADMIN))["verifyAuditTrail"]["ok"] is False
    await tamper(
        service, "UPDATE history_entries SET counterparty = 'alice', direction = 'OUT' WHERE user_id = 'bob'"
    )
    assert (await api.data(VERIFY, token=ADMIN))["verifyAuditTrail"]["ok"] is False


def test_an_outgoing_entry_without_a_counterparty_hashes_as_entries_did_before_the_two_fields() -> None:
    facts = chain_facts()
    assert b"direction" not in canonical_bytes(facts) and b"counterparty" not in canonical_bytes(facts)
    incoming = ChainedFacts(**{**facts.__dict__, "direction": "IN", "counterparty": "alice"})
    assert entry_hash(incoming) != entry_hash(facts)


@pytest.fixture
def old_chain_migrated(tmp_path: Path) -> str:
    """Two entries written at revision 0001 (before directions existed), then migrated to head."""
    from datetime import UTC, datetime

    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    command.upgrade(alembic_config(MIGRATIONS_DIR, url), "0001")
    engine = sa.create_engine(url.replace("+aiosqlite", ""))
    moment = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    previous = GENESIS_HASH
    with engine.begin() as conn:
        for seq in (1, 2):
            facts = chain_facts(seq=seq, history_id=f"h{seq}", transaction_id=f"tx{seq}", prev_hash=previous)
            digest = entry_hash(facts)
            conn.execute(
                sa.text(
                    "INSERT INTO history_entries (history_id, seq, transaction_id, user_id, wallet_id,"
                    " amount_minor, type, status, va_number, occurred_at, created_at, prev_hash, entry_hash)"
                    " VALUES"
                    " (:h, :seq, :tx, 'u', 'w', 100, 'DEPOSIT', 'SUCCESS', NULL, :at, :at, :prev, :hash)"
                ).bindparams(sa.bindparam("at", type_=sa.DateTime(timezone=True))),
                {
                    "h": f"h{seq}",
                    "seq": seq,
                    "tx": f"tx{seq}",
                    "at": moment,
                    "prev": previous,
                    "hash": digest,
                },
            )
            previous = digest
        conn.execute(
            sa.text(
                "UPDATE history_chain_head SET last_seq = 2, last_hash = :h, last_history_id = 'h2'"
                " WHERE id = 1"
            ),
            {"h": previous},
        )
    engine.dispose()
    upgrade_to_head_sync(MIGRATIONS_DIR, url)
    return url


async def test_a_chain_written_before_directions_existed_still_verifies_after_the_migration(
    old_chain_migrated: str,
) -> None:
    url = old_chain_migrated
    async with running_app(url) as app, client_of(app) as api:
        assert (await api.data(VERIFY, token=ADMIN))["verifyAuditTrail"] == {
            "ok": True,
            "checked": 2,
            "firstBrokenId": None,
        }
        mine = (
            await api.data("{ myHistory { transactionId direction counterparty } }", token=user_token("u"))
        )["myHistory"]
        assert {(m["direction"], m["counterparty"]) for m in mine} == {("OUT", None)}
