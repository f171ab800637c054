"""The fraud subgraph through its GraphQL endpoint (in-process): auth, verdicts, admin review, entities."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from subgraphs.fraud.config import FraudConfig
from tests.e2e.flows import seed
from tests.fraud.conftest import Api, MakeApi, log_count, only
from tests.support.procs import REPO_ROOT
from tests.support.tokens import service_token, user_token

# The seed operation verbatim: the public contract's file when it is beside the repository, else
# the end-to-end suite's copy of it (`#` lines are GraphQL comments).
SEED_08_FILE = REPO_ROOT.parent / "shared" / "contracts" / "seed" / "08_fraud_logs_admin.graphql"
SEED_08_QUERY = SEED_08_FILE.read_text() if SEED_08_FILE.exists() else seed("08_fraud_logs_admin")

CHECK = """
mutation Check($input: CheckFraudInput!) {
  checkFraud(input: $input) {
    logId transactionId userId walletId amount type vaNumber status isFraud is_fraud
    score reasons reason createdAt
  }
}
"""

ADMIN = user_token("admin-1", "ADMIN", username="admin")
ALICE = user_token("alice", "USER", username="alice")
BOB = user_token("bob", "USER", username="bob")
CHECKER = service_token("fraud:check")


def check_input(tx: str = "tx-1", amount: Any = "1000", **extra: Any) -> dict[str, Any]:
    return {
        "input": {
            "transactionId": tx,
            "userId": "alice",
            "walletId": "w-alice",
            "amount": amount,
            "type": "PAYMENT",
            **extra,
        }
    }


def code_of(body: dict[str, Any]) -> str:
    return body["errors"][0]["extensions"]["code"]


async def checked(api: Api, tx: str = "tx-1", amount: Any = "1000", **extra: Any) -> dict[str, Any]:
    body = await api.gql(CHECK, check_input(tx, amount, **extra), CHECKER)
    assert "errors" not in body, body
    return body["data"]["checkFraud"]


@pytest.fixture
async def api(make_api: MakeApi) -> Api:
    return await make_api(only("AMOUNT_FRAUD", "AMOUNT_SUSPICIOUS"))


# -- checkFraud ---------------------------------------------------------------------------------


async def test_check_fraud_returns_the_whole_verdict(api: Api) -> None:
    log = await checked(api, amount="10000000.01", vaNumber="VA-7")
    assert log["transactionId"] == "tx-1" and log["userId"] == "alice"
    assert (log["walletId"], log["type"], log["vaNumber"]) == ("w-alice", "PAYMENT", "VA-7")
    assert log["amount"] == "10000000.01"
    assert (log["status"], log["isFraud"], log["is_fraud"]) == ("SUSPICIOUS", False, False)
    assert log["reasons"] == ["AMOUNT_SUSPICIOUS"] and log["reason"] == "AMOUNT_SUSPICIOUS"
    assert 30 <= log["score"] <= 79
    assert log["createdAt"].endswith("+00:00")


@pytest.mark.parametrize(
    ("amount", "status", "is_fraud", "reason"),
    [
        (10_000_000, "SAFE", False, "OK"),
        ("10000000.01", "SUSPICIOUS", False, "AMOUNT_SUSPICIOUS"),
        (50_000_000, "SUSPICIOUS", False, "AMOUNT_SUSPICIOUS"),
        ("50000000.01", "FRAUD", True, "AMOUNT_FRAUD"),
    ],
)
async def test_amount_boundaries_through_graphql(
    api: Api, amount: Any, status: str, is_fraud: bool, reason: str
) -> None:
    log = await checked(api, amount=amount)
    assert (log["status"], log["isFraud"], log["is_fraud"], log["reason"]) == (
        status,
        is_fraud,
        is_fraud,
        reason,
    )


async def test_velocity_through_graphql_flags_the_check_after_the_limit(make_api: MakeApi) -> None:
    api = await make_api(only("VELOCITY", velocity_max_checks=2))
    statuses = [(await checked(api, tx=f"tx-{i}"))["status"] for i in range(3)]
    assert statuses == ["SAFE", "SAFE", "FRAUD"]


@pytest.mark.parametrize(
    ("change", "expected_field"),
    [
        ({"amount": 0}, None),
        ({"amount": -5}, None),
        ({"amount": "10.001"}, None),
        ({"transactionId": ""}, "transactionId"),
        ({"userId": " "}, "userId"),
        ({"type": "REFUND"}, "type"),
    ],
)
async def test_bad_input_through_graphql_is_bad_user_input_and_writes_nothing(
    api: Api, change: dict[str, Any], expected_field: str | None
) -> None:
    variables = check_input()
    variables["input"].update(change)
    body = await api.gql(CHECK, variables, CHECKER)
    assert code_of(body) == "BAD_USER_INPUT"
    if expected_field:
        assert body["errors"][0]["extensions"]["field"] == expected_field
    assert await log_count(api.service.db) == 0


@pytest.mark.parametrize(
    ("token", "code"),
    [
        (ALICE, "FORBIDDEN"),
        (ADMIN, "FORBIDDEN"),
        (service_token("wallet:debit"), "FORBIDDEN"),
        (None, "UNAUTHENTICATED"),
        ("not-a-jwt", "UNAUTHENTICATED"),
    ],
)
async def test_only_a_service_with_the_fraud_check_scope_may_check(
    api: Api, token: str | None, code: str
) -> None:
    body = await api.gql(CHECK, check_input(), token)
    assert code_of(body) == code
    assert body["data"] is None
    assert await log_count(api.service.db) == 0


async def test_twenty_concurrent_duplicate_requests_log_once(api: Api) -> None:
    bodies = await asyncio.gather(*(api.gql(CHECK, check_input(), CHECKER) for _ in range(20)))
    assert all("errors" not in b for b in bodies), bodies
    assert len({b["data"]["checkFraud"]["logId"] for b in bodies}) == 1
    assert await log_count(api.service.db) == 1


async def test_reusing_a_transaction_id_for_another_amount_is_refused(api: Api) -> None:
    await checked(api)
    body = await api.gql(CHECK, check_input(amount="1000.01"), CHECKER)
    assert code_of(body) == "IDEMPOTENCY_KEY_REUSED"


# -- admin review -------------------------------------------------------------------------------


async def test_seed_operation_08_returns_the_seed_fields_for_an_admin(api: Api) -> None:
    safe = await checked(api, tx="tx-a", amount="1000")
    fraud = await checked(api, tx="tx-b", amount="60000000")
    body = await api.gql(SEED_08_QUERY, token=ADMIN)
    assert "errors" not in body, body
    assert body["data"]["getFraudLogs"] == [
        {
            "logId": fraud["logId"],
            "userId": "alice",
            "amount": "60000000.00",
            "status": "FRAUD",
            "reason": "AMOUNT_FRAUD",
        },
        {
            "logId": safe["logId"],
            "userId": "alice",
            "amount": "1000.00",
            "status": "SAFE",
            "reason": "OK",
        },
    ]


@pytest.mark.parametrize(
    ("operation", "variables"),
    [
        (SEED_08_QUERY, {}),
        ("mutation($id: ID!) { deleteFraudLog(logId: $id) }", {"id": "x"}),
    ],
)
@pytest.mark.parametrize(("token", "code"), [(ALICE, "FORBIDDEN"), (None, "UNAUTHENTICATED")])
async def test_admin_operations_refuse_users_and_anonymous_callers(
    api: Api, operation: str, variables: dict[str, Any], token: str | None, code: str
) -> None:
    await checked(api)
    body = await api.gql(operation, variables, token)
    assert code_of(body) == code
    assert await log_count(api.service.db) == 1


async def test_fraud_logs_filter_by_status_and_user_and_page_newest_first(api: Api) -> None:
    ids = [(await checked(api, tx=f"tx-{i}", amount=str(1000 + i)))["logId"] for i in range(5)]
    other = check_input("tx-bob", "20000000")
    other["input"].update(userId="bob", walletId="w-bob")
    bob_log = (await api.gql(CHECK, other, CHECKER))["data"]["checkFraud"]
    query = """query($status: String, $userId: ID, $first: Int, $after: String) {
      getFraudLogs(status: $status, userId: $userId, first: $first, after: $after) { logId } }"""

    async def page(**variables: Any) -> list[str]:
        body = await api.gql(query, variables, ADMIN)
        assert "errors" not in body, body
        return [log["logId"] for log in body["data"]["getFraudLogs"]]

    newest_first = list(reversed(ids))
    assert await page(userId="alice") == newest_first
    assert await page(status="SUSPICIOUS") == [bob_log["logId"]]
    assert await page(status="safe", first=2) == newest_first[:2]
    assert await page(userId="alice", first=2, after=newest_first[1]) == newest_first[2:4]
    assert await page(userId="alice", first=2, after=newest_first[4]) == []
    for bad in ({"status": "MAYBE"}, {"first": 0}, {"first": 201}, {"after": "no-such-log"}):
        body = await api.gql(query, bad, ADMIN)
        assert code_of(body) == "BAD_USER_INPUT", bad


async def test_an_admin_deletes_a_log_once(api: Api) -> None:
    log = await checked(api)
    delete = "mutation($id: ID!) { deleteFraudLog(logId: $id) }"
    assert (await api.gql(delete, {"id": log["logId"]}, ADMIN))["data"]["deleteFraudLog"] is True
    assert (await api.gql(delete, {"id": log["logId"]}, ADMIN))["data"]["deleteFraudLog"] is False
    assert await log_count(api.service.db) == 0


# -- entities -----------------------------------------------------------------------------------

ENTITIES = """query($reps: [_Any!]!) { _entities(representations: $reps) {
  ... on FraudLog { logId status reason }
  ... on Transaction { transactionId fraudCheck { logId userId status is_fraud } } } }"""


async def entities(api: Api, reps: list[dict[str, Any]], token: str | None) -> list[Any]:
    body = await api.gql(ENTITIES, {"reps": reps}, token)
    assert "errors" not in body, body
    return body["data"]["_entities"]


async def test_a_fraud_log_entity_is_visible_only_to_its_user_and_admins(api: Api) -> None:
    log = await checked(api)
    rep = [{"__typename": "FraudLog", "logId": log["logId"]}]
    assert (await entities(api, rep, ALICE))[0]["logId"] == log["logId"]
    assert (await entities(api, rep, ADMIN))[0]["status"] == "SAFE"
    assert await entities(api, rep, BOB) == [None]
    assert await entities(api, rep, None) == [None]
    assert await entities(api, rep, CHECKER) == [None]


async def test_transaction_fraud_check_is_visible_to_its_user_an_admin_or_a_service(api: Api) -> None:
    first = await checked(api, tx="tx-1")
    second = await checked(api, tx="tx-2", amount="60000000")
    reps = [{"__typename": "Transaction", "transactionId": t} for t in ("tx-1", "tx-2", "tx-none")]
    for token in (ALICE, ADMIN, service_token("transactions:read")):
        got = await entities(api, reps, token)
        assert [e["transactionId"] for e in got] == ["tx-1", "tx-2", "tx-none"]
        assert got[0]["fraudCheck"]["logId"] == first["logId"]
        assert got[1]["fraudCheck"] == {
            "logId": second["logId"],
            "userId": "alice",
            "status": "FRAUD",
            "is_fraud": True,
        }
        assert got[2]["fraudCheck"] is None
    for token in (BOB, None):
        assert [e["fraudCheck"] for e in await entities(api, reps, token)] == [None] * 3


async def test_the_sdl_hides_check_fraud_and_declares_both_keys(make_api: MakeApi) -> None:
    api = await make_api(FraudConfig())
    sdl = (await api.gql("{ _service { sdl } }"))["data"]["_service"]["sdl"]
    assert 'type FraudLog @key(fields: "logId")' in sdl
    assert 'type Transaction @key(fields: "transactionId")' in sdl
    assert "checkFraud(input: CheckFraudInput!): FraudLog! @inaccessible" in sdl
    assert "getFraudLogs(" in sdl and "deleteFraudLog(logId: ID!): Boolean!" in sdl
