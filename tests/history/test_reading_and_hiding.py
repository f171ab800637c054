"""myHistory, deleteHistory (hide), auditTrail, entities: each caller sees exactly what is theirs."""

from __future__ import annotations

from tests.history.conftest import ADMIN, HistoryApi, error_code
from tests.support.tokens import service_token, user_token

ALICE = user_token("user-a", username="alice")
BOB = user_token("user-b", username="bob")
# contracts/seed/07_my_history.graphql, verbatim.
SEED_07 = """query cekHistori{
  myHistory {
    historyId
    transactionId
    amount
    type
    status
    createdAt
  }
}
"""

MY_HISTORY = """
query Mine($type: String, $status: String, $from: DateTime, $to: DateTime, $first: Int, $after: String) {
  myHistory(type: $type, status: $status, from: $from, to: $to, first: $first, after: $after) {
    historyId transactionId amount type status occurredAt hidden
  }
}
"""
AUDIT = """
query Audit($userId: ID, $first: Int, $after: String) {
  auditTrail(userId: $userId, first: $first, after: $after) { historyId userId transactionId hidden }
}
"""
DELETE = "mutation Del($id: ID!) { deleteHistory(historyId: $id) }"
VERIFY = "{ verifyAuditTrail { ok checked firstBrokenId } }"
ENTITIES = """
query E($reps: [_Any!]!) {
  _entities(representations: $reps) {
    ... on HistoryEntry { historyId userId amount hidden }
    ... on User { id history { historyId transactionId } }
  }
}
"""


async def mine(api: HistoryApi, token: str = ALICE, **variables: object) -> list[dict[str, object]]:
    return (await api.data(MY_HISTORY, dict(variables), token))["myHistory"]


async def test_seed_operation_07_returns_the_callers_history_fields(api: HistoryApi) -> None:
    added = await api.added(transactionId="tx-seed", userId="user-a", amount=50000, type="DEPOSIT")
    data = await api.data(SEED_07, token=ALICE)
    assert data["myHistory"] == [
        {
            "historyId": added["historyId"],
            "transactionId": "tx-seed",
            "amount": "50000.00",
            "type": "DEPOSIT",
            "status": "SUCCESS",
            "createdAt": added["createdAt"],
        }
    ]


async def test_my_history_lists_only_the_callers_entries_newest_first(api: HistoryApi) -> None:
    older = await api.added(transactionId="a-1", userId="user-a")
    await api.added(transactionId="b-1", userId="user-b")
    newer = await api.added(transactionId="a-2", userId="user-a")
    assert [e["historyId"] for e in await mine(api)] == [newer["historyId"], older["historyId"]]
    assert [e["transactionId"] for e in await mine(api, BOB)] == ["b-1"]


async def test_my_history_needs_a_signed_in_user(api: HistoryApi) -> None:
    assert error_code(await api.call(MY_HISTORY)) == "UNAUTHENTICATED"
    assert error_code(await api.call(MY_HISTORY, token=service_token("history:write"))) == "FORBIDDEN"


async def test_my_history_filters_by_type_status_and_time(api: HistoryApi) -> None:
    await api.added(transactionId="t1", type="DEPOSIT", status="SUCCESS", occurredAt="2026-11-01T00:00:00Z")
    await api.added(transactionId="t2", type="PAYMENT", status="SUCCESS", occurredAt="2026-11-10T00:00:00Z")
    await api.added(transactionId="t3", type="PAYMENT", status="FAILED", occurredAt="2026-11-20T00:00:00Z")

    def ids(entries: list[dict[str, object]]) -> list[object]:
        return [e["transactionId"] for e in entries]

    assert ids(await mine(api, type="PAYMENT")) == ["t3", "t2"]
    assert ids(await mine(api, status="SUCCESS")) == ["t2", "t1"]
    assert ids(await mine(api, type="PAYMENT", status="FAILED")) == ["t3"]
    assert ids(await mine(api, **{"from": "2026-11-05T00:00:00Z"})) == ["t3", "t2"]
    assert ids(await mine(api, to="2026-11-10T00:00:00Z")) == ["t2", "t1"]
    window = {"from": "2026-11-02T00:00:00+07:00", "to": "2026-11-15T00:00:00Z"}
    assert ids(await mine(api, **window)) == ["t2"]
    reversed_window = {"from": "2026-11-15T00:00:00Z", "to": "2026-11-01T00:00:00Z"}
    assert error_code(await api.call(MY_HISTORY, reversed_window, ALICE)) == "BAD_USER_INPUT"


async def test_my_history_pages_with_first_and_after(api: HistoryApi) -> None:
    for n in range(5):
        await api.added(transactionId=f"p{n}")
    page1 = await mine(api, first=2)
    page2 = await mine(api, first=2, after=page1[-1]["historyId"])
    page3 = await mine(api, first=2, after=page2[-1]["historyId"])
    assert [e["transactionId"] for e in page1 + page2 + page3] == ["p4", "p3", "p2", "p1", "p0"]
    assert error_code(await api.call(MY_HISTORY, {"first": 0}, ALICE)) == "BAD_USER_INPUT"
    assert error_code(await api.call(MY_HISTORY, {"first": 201}, ALICE)) == "BAD_USER_INPUT"
    assert error_code(await api.call(MY_HISTORY, {"after": "no-such-id"}, ALICE)) == "BAD_USER_INPUT"


async def test_another_users_entry_is_not_a_valid_cursor(api: HistoryApi) -> None:
    bobs = await api.added(userId="user-b")
    await api.added(userId="user-a")
    body = await api.call(MY_HISTORY, {"after": bobs["historyId"]}, ALICE)
    assert error_code(body) == "BAD_USER_INPUT"


async def test_deleting_hides_an_entry_from_its_owner_but_the_audit_trail_keeps_it_marked(
    api: HistoryApi,
) -> None:
    kept = await api.added(transactionId="keep")
    gone = await api.added(transactionId="hide")
    assert (await api.data(DELETE, {"id": gone["historyId"]}, ALICE))["deleteHistory"] is True
    assert [e["historyId"] for e in await mine(api)] == [kept["historyId"]]
    trail = (await api.data(AUDIT, {"userId": "user-a"}, ADMIN))["auditTrail"]
    assert {(e["historyId"], e["hidden"]) for e in trail} == {
        (kept["historyId"], False),
        (gone["historyId"], True),
    }
    # Hiding again is harmless, and the page cursor may be an entry hidden since.
    assert (await api.data(DELETE, {"id": gone["historyId"]}, ALICE))["deleteHistory"] is True
    after_hidden = await mine(api, after=gone["historyId"])
    assert [e["historyId"] for e in after_hidden] == [kept["historyId"]]
    verification = (await api.data(VERIFY, token=ADMIN))["verifyAuditTrail"]
    assert verification == {"ok": True, "checked": 2, "firstBrokenId": None}


async def test_a_user_cannot_hide_another_users_entry(api: HistoryApi) -> None:
    bobs = await api.added(userId="user-b", transactionId="bob-tx")
    body = await api.call(DELETE, {"id": bobs["historyId"]}, ALICE)
    assert error_code(body) == "NOT_FOUND"
    assert error_code(await api.call(DELETE, {"id": "nope"}, ALICE)) == "NOT_FOUND"
    assert [e["transactionId"] for e in await mine(api, BOB)] == ["bob-tx"]
    trail = (await api.data(AUDIT, {"userId": "user-b"}, ADMIN))["auditTrail"]
    assert [e["hidden"] for e in trail] == [False]


async def test_admin_operations_refuse_users_with_forbidden(api: HistoryApi) -> None:
    await api.added()
    assert error_code(await api.call(AUDIT, token=ALICE)) == "FORBIDDEN"
    assert error_code(await api.call(VERIFY, token=ALICE)) == "FORBIDDEN"
    assert error_code(await api.call(AUDIT)) == "UNAUTHENTICATED"
    assert error_code(await api.call(VERIFY, token=service_token("history:write"))) == "FORBIDDEN"


async def test_the_audit_trail_shows_every_users_entries_to_an_admin(api: HistoryApi) -> None:
    await api.added(userId="user-a", transactionId="x1")
    await api.added(userId="user-b", transactionId="x2")
    await api.added(userId="user-a", transactionId="x3")
    everyone = (await api.data(AUDIT, token=ADMIN))["auditTrail"]
    assert [e["transactionId"] for e in everyone] == ["x3", "x2", "x1"]
    page = (await api.data(AUDIT, {"first": 1, "after": everyone[0]["historyId"]}, ADMIN))["auditTrail"]
    assert [e["transactionId"] for e in page] == ["x2"]


async def test_a_history_entry_entity_resolves_only_for_its_owner_or_an_admin(api: HistoryApi) -> None:
    entry = await api.added(userId="user-a", amount="12.30")
    reps = {"reps": [{"__typename": "HistoryEntry", "historyId": entry["historyId"]}]}
    own = (await api.data(ENTITIES, reps, ALICE))["_entities"]
    assert own == [{"historyId": entry["historyId"], "userId": "user-a", "amount": "12.30", "hidden": False}]
    assert (await api.data(ENTITIES, reps, BOB))["_entities"] == [None]
    assert (await api.data(ENTITIES, reps))["_entities"] == [None]
    assert (await api.data(ENTITIES, reps, ADMIN))["_entities"][0]["historyId"] == entry["historyId"]


async def test_user_history_is_given_to_that_user_or_an_admin_only(api: HistoryApi) -> None:
    entry = await api.added(userId="user-a", transactionId="u-1")
    await api.added(userId="user-b", transactionId="u-2")
    reps = {"reps": [{"__typename": "User", "id": "user-a"}]}
    expected = [{"id": "user-a", "history": [{"historyId": entry["historyId"], "transactionId": "u-1"}]}]
    assert (await api.data(ENTITIES, reps, ALICE))["_entities"] == expected
    assert (await api.data(ENTITIES, reps, ADMIN))["_entities"] == expected
    assert (await api.data(ENTITIES, reps, BOB))["_entities"] == [{"id": "user-a", "history": []}]
    assert (await api.data(ENTITIES, reps))["_entities"] == [{"id": "user-a", "history": []}]
