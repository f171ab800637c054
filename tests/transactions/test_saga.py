"""The payment saga against real wallet, fraud and history processes: money, records, refusals."""

from __future__ import annotations

import asyncio

from tests.transactions.conftest import CREATE, Stack, TxApi, error_code

SEED_DEPOSIT = """
mutation {
  createTransaction(input: {
    walletId: "%s",
    amount: 500000,
    type: DEPOSIT
  }) {
    transactionId
    status
    amount
    createdAt
  }
}"""


async def history_has(stack: Stack, user, transaction_id: str, status: str) -> bool:  # noqa: ANN001
    entries = await stack.history(user)
    return any(e["transactionId"] == transaction_id and e["status"] == status for e in entries)


async def test_the_seed_deposit_credits_the_wallet_and_leaves_a_history_entry_and_a_fraud_log(
    tx: TxApi, stack: Stack
) -> None:
    user = await stack.new_user()
    wallet = await stack.new_wallet(user)
    data = await tx.data(SEED_DEPOSIT % wallet, token=user.token)
    deposit = data["createTransaction"]
    assert deposit["status"] == "SUCCESS"
    assert deposit["amount"] == "500000.00"
    assert deposit["createdAt"]
    assert await stack.balance(user, wallet) == "500000.00"
    movements = await stack.movements(deposit["transactionId"], system=True)
    assert sorted((m["walletId"], m["direction"], m["amount"]) for m in movements) == sorted(
        [(wallet, "CREDIT", "500000.00"), ("sys:funding:DEPOSIT", "DEBIT", "500000.00")]
    )
    fraud = await stack.fraud_log(deposit["transactionId"])
    assert fraud is not None and fraud["status"] == "SAFE" and fraud["userId"] == user.id
    await tx.wait_for(lambda: history_has(stack, user, deposit["transactionId"], "SUCCESS"))


async def test_a_transfer_moves_money_between_two_users_wallets_exactly(tx: TxApi, stack: Stack) -> None:
    sender, source = await tx.funded_wallet(300_000)
    receiver = await stack.new_user()
    target = await stack.new_wallet(receiver)
    transfer = await tx.create(
        sender, walletId=source, amount="120000.50", type="TRANSFER", toWalletId=target, description="Arisan"
    )
    assert transfer["status"] == "SUCCESS", transfer
    assert transfer["toWalletId"] == target and transfer["description"] == "Arisan"
    assert await stack.balance(sender, source) == "179999.50"
    assert await stack.balance(receiver, target) == "120000.50"
    moved = await stack.movements(transfer["transactionId"])
    assert sorted((m["walletId"], m["direction"]) for m in moved) == sorted(
        [(source, "DEBIT"), (target, "CREDIT")]
    )
    fraud = await stack.fraud_log(transfer["transactionId"])
    assert fraud is not None and fraud["amount"] == "120000.50" and fraud["userId"] == sender.id
    await tx.wait_for(lambda: history_has(stack, sender, transfer["transactionId"], "SUCCESS"))


async def test_mismatched_fields_are_bad_user_input_and_record_nothing(tx: TxApi, stack: Stack) -> None:
    user = await stack.new_user()
    wallet = await stack.new_wallet(user)
    other = await stack.new_wallet(user, "Kedua")
    cases = [
        {"walletId": wallet, "amount": 1000, "type": "DEPOSIT", "vaNumber": "DS-88001234567890"},
        {"walletId": wallet, "amount": 1000, "type": "DEPOSIT", "toWalletId": other},
        {"walletId": wallet, "amount": 1000, "type": "PAYMENT"},
        {"walletId": wallet, "amount": 1000, "type": "PAYMENT", "vaNumber": "DS-1", "toWalletId": other},
        {"walletId": wallet, "amount": 1000, "type": "TRANSFER"},
        {"walletId": wallet, "amount": 1000, "type": "TRANSFER", "toWalletId": wallet},
        {"walletId": wallet, "amount": 1000, "type": "TRANSFER", "toWalletId": other, "vaNumber": "DS-1"},
        {"walletId": wallet, "amount": 0, "type": "DEPOSIT"},
        {"walletId": wallet, "amount": "10.001", "type": "DEPOSIT"},
    ]
    for fields in cases:
        body = await tx.call(CREATE, {"input": fields}, user.token)
        assert error_code(body) == "BAD_USER_INPUT", (fields, body)
    mine = await tx.data("{ myTransactions { transactionId } }", token=user.token)
    assert mine["myTransactions"] == []
    assert await stack.balance(user, wallet) == "0.00"


async def test_the_same_idempotency_key_and_input_gives_the_same_transaction_and_moves_money_once(
    tx: TxApi, stack: Stack
) -> None:
    user = await stack.new_user()
    wallet = await stack.new_wallet(user)
    fields = {"walletId": wallet, "amount": 25000, "type": "DEPOSIT", "idempotencyKey": "topup-1"}
    results = await asyncio.gather(*(tx.create(user, **fields) for _ in range(5)))
    assert len({r["transactionId"] for r in results}) == 1
    assert {r["status"] for r in results} == {"SUCCESS"}  # a replay waits for the running saga
    again = await tx.create(user, **fields)
    assert again["transactionId"] == results[0]["transactionId"] and again["status"] == "SUCCESS"
    assert await stack.balance(user, wallet) == "25000.00"
    reused = await tx.call(CREATE, {"input": {**fields, "amount": 26000}}, user.token)
    assert error_code(reused) == "IDEMPOTENCY_KEY_REUSED"
    assert await stack.balance(user, wallet) == "25000.00"
    # The key is per user: another user may use the same one.
    other = await stack.new_user()
    other_wallet = await stack.new_wallet(other)
    theirs = await tx.create(
        other, walletId=other_wallet, amount=25000, type="DEPOSIT", idempotencyKey="topup-1"
    )
    assert theirs["transactionId"] != results[0]["transactionId"] and theirs["status"] == "SUCCESS"


async def test_without_a_key_every_call_is_a_new_transaction(tx: TxApi, stack: Stack) -> None:
    user = await stack.new_user()
    wallet = await stack.new_wallet(user)
    first = await tx.create(user, walletId=wallet, amount=1000, type="DEPOSIT")
    second = await tx.create(user, walletId=wallet, amount=1000, type="DEPOSIT")
    assert first["transactionId"] != second["transactionId"]
    assert await stack.balance(user, wallet) == "2000.00"


async def test_paying_from_another_users_wallet_is_refused_and_moves_nothing(tx: TxApi, stack: Stack) -> None:
    victim, victim_wallet = await tx.funded_wallet(50_000)
    thief = await stack.new_user()
    thief_wallet = await stack.new_wallet(thief)
    attempt = await tx.create(
        thief, walletId=victim_wallet, amount=50_000, type="TRANSFER", toWalletId=thief_wallet
    )
    assert attempt["status"] == "FAILED"
    assert attempt["failureReason"]["code"] == "NOT_FOUND"
    deposit = await tx.create(thief, walletId=victim_wallet, amount=10, type="DEPOSIT")
    assert deposit["status"] == "FAILED" and deposit["failureReason"]["code"] == "NOT_FOUND"
    assert await stack.balance(victim, victim_wallet) == "50000.00"
    assert await stack.balance(thief, thief_wallet) == "0.00"
    assert await stack.movements(attempt["transactionId"]) == []
    # The victim cannot see the attempt, and the thief's transaction is not the victim's business.
    body = await tx.call(
        "query($id: ID!) { transaction(transactionId: $id) { status } }",
        {"id": attempt["transactionId"]},
        victim.token,
    )
    assert error_code(body) == "NOT_FOUND"


async def test_a_fraud_verdict_rejects_the_transaction_and_moves_nothing(tx: TxApi, stack: Stack) -> None:
    user = await stack.new_user()
    wallet = await stack.new_wallet(user)
    rejected = await tx.create(user, walletId=wallet, amount=60_000_000, type="DEPOSIT")
    assert rejected["status"] == "REJECTED"
    assert rejected["failureReason"]["code"] == "FRAUD_REJECTED"
    assert await stack.balance(user, wallet) == "0.00"
    assert await stack.movements(rejected["transactionId"]) == []
    await tx.wait_for(lambda: history_has(stack, user, rejected["transactionId"], "REJECTED"))


async def test_a_suspicious_transaction_passes_and_is_flagged(tx: TxApi, stack: Stack) -> None:
    user = await stack.new_user()
    wallet = await stack.new_wallet(user)
    flagged = await tx.create(user, walletId=wallet, amount=6_000_000, type="DEPOSIT")
    assert flagged["status"] == "SUCCESS" and flagged["flagged"] is True
    plain = await tx.create(user, walletId=wallet, amount=1_000, type="DEPOSIT")
    assert plain["flagged"] is False
    assert await stack.balance(user, wallet) == "6001000.00"


async def test_insufficient_funds_fails_with_the_wallets_code_and_moves_nothing(
    tx: TxApi, stack: Stack
) -> None:
    sender, source = await tx.funded_wallet(1_000)
    receiver = await stack.new_user()
    target = await stack.new_wallet(receiver)
    failed = await tx.create(sender, walletId=source, amount=1_000.01, type="TRANSFER", toWalletId=target)
    assert failed["status"] == "FAILED"
    assert failed["failureReason"]["code"] == "INSUFFICIENT_FUNDS"
    assert await stack.balance(sender, source) == "1000.00"
    assert await stack.balance(receiver, target) == "0.00"
    await tx.wait_for(lambda: history_has(stack, sender, failed["transactionId"], "FAILED"))


async def test_my_transactions_lists_newest_first_with_filters_and_pages(tx: TxApi, stack: Stack) -> None:
    user, wallet = await tx.funded_wallet(10_000, via_saga=True)
    other = await stack.new_user()
    other_wallet = await stack.new_wallet(other)
    made = [await tx.create(user, walletId=wallet, amount=100 + i, type="DEPOSIT") for i in range(3)]
    sent = await tx.create(user, walletId=wallet, amount=5, type="TRANSFER", toWalletId=other_wallet)
    assert sent["status"] == "SUCCESS", sent
    listed = (await tx.data("{ myTransactions { transactionId type } }", token=user.token))["myTransactions"]
    assert [t["type"] for t in listed] == ["TRANSFER", "DEPOSIT", "DEPOSIT", "DEPOSIT", "DEPOSIT"]
    query = """query($after: String) { myTransactions(type: DEPOSIT, first: 2, after: $after) {
        transactionId amount } }"""
    page1 = (await tx.data(query, {"after": None}, user.token))["myTransactions"]
    page2 = (await tx.data(query, {"after": page1[-1]["transactionId"]}, user.token))["myTransactions"]
    assert [p["transactionId"] for p in page1] == [made[2]["transactionId"], made[1]["transactionId"]]
    assert [p["transactionId"] for p in page2][0] == made[0]["transactionId"]
    assert len(page2) == 2  # and the funding deposit
    none = await tx.data("{ myTransactions(status: FAILED) { transactionId } }", token=user.token)
    assert none["myTransactions"] == []
    # the receiver lists the transfer as incoming, and nothing of the sender's own
    theirs = (await tx.data("{ myTransactions { type direction } }", token=other.token))["myTransactions"]
    assert theirs == [{"type": "TRANSFER", "direction": "IN"}]


async def test_a_page_size_outside_1_to_200_is_bad_user_input_as_in_every_subgraph(tx: TxApi) -> None:
    from tests.support.tokens import user_token

    user, _ = await tx.funded_wallet(1_000, via_saga=True)
    admin = user_token("page-size-admin", role="ADMIN")
    for first in (0, 201, -1):
        mine = await tx.call(
            "query($n: Int) { myTransactions(first: $n) { transactionId } }", {"n": first}, user.token
        )
        assert error_code(mine) == "BAD_USER_INPUT", (first, mine)
        outbox = await tx.call("query($n: Int) { outboxMessages(first: $n) { id } }", {"n": first}, admin)
        assert error_code(outbox) == "BAD_USER_INPUT", (first, outbox)
    one = await tx.data("{ myTransactions(first: 1) { transactionId } }", token=user.token)
    assert len(one["myTransactions"]) == 1


async def test_wallet_and_user_entities_show_only_the_callers_transactions(tx: TxApi, stack: Stack) -> None:
    user, wallet = await tx.funded_wallet(10_000, via_saga=True)
    other = await stack.new_user()
    query = """query($r: [_Any!]!) { _entities(representations: $r) {
        ... on Wallet { walletId transactions { transactionId amount } }
        ... on User { id transactions(first: 10) { transactionId } } } }"""
    reps = {"r": [{"__typename": "Wallet", "walletId": wallet}, {"__typename": "User", "id": user.id}]}
    mine = (await tx.data(query, reps, user.token))["_entities"]
    assert [t["amount"] for t in mine[0]["transactions"]] == ["10000.00"]
    assert len(mine[1]["transactions"]) == 1
    theirs = (await tx.data(query, reps, other.token))["_entities"]
    assert theirs[0]["transactions"] == [] and theirs[1]["transactions"] == []


async def test_the_transaction_entity_resolves_for_its_owner_and_a_service_only(
    tx: TxApi, stack: Stack
) -> None:
    from tests.support.tokens import service_token, user_token

    user, _ = await tx.funded_wallet(1_000, via_saga=True)
    listed = (await tx.data("{ myTransactions { transactionId } }", token=user.token))["myTransactions"]
    query = """query($r: [_Any!]!) { _entities(representations: $r) {
        ... on Transaction { transactionId status wallet { walletId } } } }"""
    reps = {"r": [{"__typename": "Transaction", "transactionId": listed[0]["transactionId"]}]}
    owner = (await tx.data(query, reps, user.token))["_entities"][0]
    assert owner["status"] == "SUCCESS" and owner["wallet"]["walletId"]
    assert (await tx.data(query, reps, service_token("transactions:read")))["_entities"][0] is not None
    stranger = (await tx.data(query, reps, user_token("someone-else")))["_entities"][0]
    assert stranger is None


REVERSE = """mutation($id: ID!, $r: String) { reverseTransaction(transactionId: $id, reason: $r) {
    transactionId status reversalReason } }"""


async def test_an_admin_reverses_a_success_with_a_compensating_movement_once(tx: TxApi, stack: Stack) -> None:
    from tests.support.tokens import user_token

    user, wallet = await tx.funded_wallet(70_000)
    va = await tx.invoice("20000")
    payment = await tx.create(user, walletId=wallet, amount=20000, type="PAYMENT", vaNumber=va)
    assert await stack.balance(user, wallet) == "50000.00"
    variables = {"id": payment["transactionId"], "r": "Double charge"}
    assert error_code(await tx.call(REVERSE, variables, user.token)) == "FORBIDDEN"
    admin = user_token("admin-1", role="ADMIN")
    reversed_ = (await tx.data(REVERSE, variables, admin))["reverseTransaction"]
    assert reversed_["status"] == "REVERSED" and reversed_["reversalReason"] == "Double charge"
    again = (await tx.data(REVERSE, variables, admin))["reverseTransaction"]
    assert again["status"] == "REVERSED"
    assert await stack.balance(user, wallet) == "70000.00"
    # The bill stays paid: a reversal refunds the payer, it does not re-open the marketplace order.
    invoice = await tx.data("query($v: String!) { invoice(vaNumber: $v) { status } }", {"v": va}, user.token)
    assert invoice["invoice"]["status"] == "PAID"
    await tx.wait_for(lambda: history_has(stack, user, payment["transactionId"], "REVERSED"))
    failed = await tx.create(
        user, walletId=wallet, amount=10**6, type="PAYMENT", vaNumber="DS-88000000000001"
    )
    assert error_code(await tx.call(REVERSE, {"id": failed["transactionId"]}, admin)) == "CONFLICT"


async def test_recovery_fails_a_saga_interrupted_before_the_wallet_was_called(
    tx: TxApi, stack: Stack
) -> None:
    import uuid
    from datetime import UTC, datetime, timedelta

    from subgraphs.transactions.models import Transaction

    user = await stack.new_user()
    wallet = await stack.new_wallet(user)
    old = datetime.now(UTC) - timedelta(minutes=5)
    row = Transaction(
        transaction_id=str(uuid.uuid4()),
        user_id=user.id,
        wallet_id=wallet,
        amount_minor=500,
        type="DEPOSIT",
        status="PENDING",
        step="RECORDED",
        request_hash="x",
        flagged=False,
        created_at=old,
        updated_at=old,
    )
    await tx.service.db.write(lambda session: session.add(row))
    await tx.service.recover_once()
    settled = await tx.get(user, row.transaction_id)
    assert settled["status"] == "FAILED" and settled["failureReason"]["code"] == "INTERNAL"
    assert await stack.movements(row.transaction_id) == []
    await tx.wait_for(lambda: history_has(stack, user, row.transaction_id, "FAILED"))
