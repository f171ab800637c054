"""Replicas: two processes each of wallet and transactions on one PostgreSQL database, behind two
routers (router 1 -> wallet, transactions; router 2 -> wallet-2, transactions-2, which calls
wallet-2). A 200-way race of deposits, transfers and VA payments through both routers, with wallet-2
and transactions-2 killed (SIGKILL) in the middle of it and started again, keeps every invariant:
each wallet's balance is what its settled transactions say, the trial balance sums to zero, the
marketplace's statement lists exactly the paid bills; both processes' recovery workers settle each
interrupted saga once and both outbox workers deliver each payment notice once (leases,
`SKIP LOCKED`); replaying every request with its idempotency key through the other router answers
the same transaction and moves nothing."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.e2e.flows import (
    CREATE_TX,
    admin_token,
    balance,
    data_of,
    funded_wallet,
    marketplace_order,
    money_literal,
)
from tests.e2e.test_ledger import STATEMENT, TRIAL_BALANCE, settle_everything, settlement_balance
from tests.support.postgres import admin_url
from tests.support.stack import Stack, fresh_postgres_urls

# Its own package, so the e2e suite's package-scoped stacks (and their pooled PostgreSQL
# connections) have stopped before this one starts.
pytestmark = [pytest.mark.postgres, pytest.mark.e2e]

PAYERS = 8
RACE = 200
FUNDS = 1_000_000
MY_OUT = """query ($after: String) { myTransactions(direction: OUT, first: 200, after: $after) {
  transactionId type status amount walletId toWalletId vaNumber idempotencyKey } }"""
# The crash comes once this many answers are in: both paths have settled some of the race and are
# in the middle of the rest.
CRASH_AFTER_ANSWERS = RACE // 4
NOTICES = "query ($va: String) { sandboxNotices(vaNumber: $va) { outcome } }"


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory, base_env: dict[str, str]) -> Iterator[Stack]:
    url, reason = admin_url()
    if url is None:
        pytest.skip(f"the replicas test needs PostgreSQL: {reason}")
    with contextlib.ExitStack() as cleanup:
        urls = cleanup.enter_context(fresh_postgres_urls("sawit_replicas"))
        # Recovery takes up a saga idle for RECOVERY_GRACE_S: a replica does not know which sagas the
        # other still runs, so the grace must outlast a live saga on a loaded 2-core machine (1 s did
        # not: live sagas were failed, money-safe but visible). 10 s still recovers within the test.
        stack = Stack(
            tmp_path_factory.mktemp("replicas"),
            base_env,
            database_urls=urls,
            replicated=("wallet", "transactions"),
            # Seven processes on one server: a smaller pool each stays under PostgreSQL's 100 clients.
            extra_env={"RECOVERY_GRACE_S": "10", "RECOVERY_INTERVAL_S": "1", "DB_POOL_SIZE": "5"},
        )
        stack.start()
        cleanup.callback(stack.stop)
        yield stack


@dataclass(frozen=True)
class Step:
    """One request of the race: who sends it, what, through which router."""

    key: str
    payer: dict[str, str]
    router: int
    move: dict[str, Any]


def race_steps(payers: list[dict[str, str]], orders: list[dict[str, Any]]) -> list[Step]:
    """40 VA payments, 40 deposits and 120 transfers, alternating between the two routers."""
    steps = []
    bills = iter(orders)
    for i in range(RACE):
        payer = payers[i % PAYERS]
        kind = ("PAYMENT", "DEPOSIT", "TRANSFER", "TRANSFER", "TRANSFER")[i % 5]
        key = f"race-{i}"
        move: dict[str, Any] = {"walletId": payer["wallet"], "type": kind, "idempotencyKey": key}
        if kind == "PAYMENT":
            order = next(bills)
            move |= {"amount": money_literal(order["totalHarga"]), "vaNumber": order["nomorVA"]}
        elif kind == "DEPOSIT":
            move["amount"] = 5_000 + i
        else:
            move |= {"amount": 100 + i, "toWalletId": payers[(3 * i + 1) % PAYERS]["wallet"]}
        steps.append(Step(key, payer, 1 + i % 2, move))
    return steps


async def send(client: httpx.AsyncClient, stack: Stack, step: Step, router: int) -> dict[str, Any]:
    try:
        return await stack.agql(
            client, CREATE_TX, {"input": step.move}, token=step.payer["token"], router=router
        )
    except (httpx.HTTPError, AssertionError) as exc:  # a killed process may cut an answer off
        return {"errors": [{"message": repr(exc)}]}


async def race_with_crashes(stack: Stack, steps: list[Step]) -> list[dict[str, Any]]:
    """Every step at once; meanwhile wallet-2, then transactions-2 are SIGKILLed and started again."""
    loop = asyncio.get_running_loop()

    answered = 0
    crash_now = asyncio.Event()

    async def counted(client: httpx.AsyncClient, step: Step) -> dict[str, Any]:
        nonlocal answered
        answer = await send(client, stack, step, step.router)
        answered += 1
        if answered >= CRASH_AFTER_ANSWERS:
            crash_now.set()
        return answer

    async def crash_and_restart() -> None:
        await crash_now.wait()
        await loop.run_in_executor(None, stack.kill, "wallet-2")
        await asyncio.sleep(0.5)
        await loop.run_in_executor(None, stack.kill, "transactions-2")
        await asyncio.sleep(1.0)
        await loop.run_in_executor(None, stack.restart, "wallet-2")
        await loop.run_in_executor(None, stack.restart, "transactions-2")

    limits = httpx.Limits(max_connections=RACE, max_keepalive_connections=RACE)
    async with httpx.AsyncClient(timeout=httpx.Timeout(90.0), limits=limits) as client:
        crashes = asyncio.create_task(crash_and_restart())
        answers = await asyncio.gather(*(counted(client, s) for s in steps))
        await crashes
    return list(answers)


def own_transactions(stack: Stack, payer: dict[str, str]) -> list[dict[str, Any]]:
    """Every transaction the payer sent (OUT), all pages."""
    out: list[dict[str, Any]] = []
    after = None
    while True:
        page = data_of(stack.gql(MY_OUT, {"after": after}, token=payer["token"]))["myTransactions"]
        out += page
        if len(page) < 200:
            return out
        after = page[-1]["transactionId"]


def wait_until(what: str, check: Any, timeout_s: float = 120.0) -> Any:  # noqa: ANN401
    deadline = time.monotonic() + timeout_s
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not after {timeout_s}s")
        time.sleep(0.5)


def balances(stack: Stack, payers: list[dict[str, str]]) -> dict[str, Decimal]:
    return {p["wallet"]: Decimal(balance(stack, p["token"], p["wallet"])) for p in payers}


def race_transactions(sent: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The transactions the race's requests made (their keys), not the payers' first deposits."""
    return [tx for tx in sent if (tx["idempotencyKey"] or "").startswith("race-")]


def paid_bills(race_sent: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """VA number -> the SUCCESS payment of it."""
    return {tx["vaNumber"]: tx for tx in race_sent if tx["type"] == "PAYMENT" and tx["status"] == "SUCCESS"}


def expected_balances(payers: list[dict[str, str]], sent: list[dict[str, Any]]) -> dict[str, Decimal]:
    """What each wallet must hold if exactly the SUCCESS transactions moved money, once each."""
    expected = {p["wallet"]: Decimal(0) for p in payers}
    for tx in sent:
        if tx["status"] != "SUCCESS":
            continue
        amount = Decimal(tx["amount"])
        if tx["type"] == "DEPOSIT":
            expected[tx["walletId"]] += amount
        else:
            expected[tx["walletId"]] -= amount
            if tx["type"] == "TRANSFER":
                expected[tx["toWalletId"]] += amount
    return expected


def fund_the_race(stack: Stack) -> tuple[list[dict[str, str]], list[dict[str, Any]], list[Step]]:
    """Eight funded payers, a bill per VA payment, the race's steps; each payer holds just its funds."""
    payers = [funded_wallet(stack, FUNDS, prefix="replica") for _ in range(PAYERS)]
    orders = [marketplace_order(stack, quantity=1) for _ in range(RACE // 5)]
    steps = race_steps(payers, orders)
    before = {p["wallet"]: Decimal(FUNDS) for p in payers}
    assert balances(stack, payers) == before
    return payers, orders, steps


def race_with_the_marketplace_down(stack: Stack, steps: list[Step]) -> list[dict[str, Any]]:
    """The race and its crashes, with the marketplace down for the whole of it; returns the answers."""
    # Notices pile up while the marketplace is down, so both outbox workers find them at once later.
    stack.orders("mutation { sandboxSetDown(down: true) }")
    try:
        return asyncio.run(race_with_crashes(stack, steps))
    finally:
        stack.orders("mutation { sandboxSetDown(down: false) }")


def check_the_race_answers(steps: list[Step], answers: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Enough of the race succeeded and the crashes hit work in flight; returns key -> answered tx."""
    answered = {
        s.key: (a.get("data") or {}).get("createTransaction")
        for s, a in zip(steps, answers, strict=True)
        if (a.get("data") or {}).get("createTransaction")
    }
    statuses = [tx["status"] for tx in answered.values()]
    cut_off = Counter(
        (s.router, str(((a.get("errors") or [{}])[0].get("extensions") or {}).get("code")))
        for s, a in zip(steps, answers, strict=True)
        if s.key not in answered
    )
    by_router = Counter(s.router for s in steps if s.key in answered)
    # shown with -s, and on a failure
    print(f"race: {len(answered)} answered {dict(by_router)}, {Counter(statuses)}; cut off: {dict(cut_off)}")
    assert statuses.count("SUCCESS") >= RACE // 4, statuses
    # The crashes hit work in flight: some requests were cut off or left PENDING for recovery.
    assert len(answered) < RACE or "PENDING" in statuses, statuses
    return answered


def settled_transactions(stack: Stack, payers: list[dict[str, str]]) -> list[dict[str, Any]] | None:
    """Every transaction the payers sent, or None while any of them is still PENDING."""
    sent = [tx for p in payers for tx in own_transactions(stack, p)]
    return None if any(tx["status"] == "PENDING" for tx in sent) else sent


def check_recovery_settled_each_request_once(
    stack: Stack, payers: list[dict[str, str]], answered: dict[str, dict[str, Any]]
) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """Recovery settles every saga, each request once, as answered; balances match the SUCCESS ones."""
    sent = wait_until("every saga settled by recovery", lambda: settled_transactions(stack, payers))
    print(f"recorded: {Counter(tx['status'] for tx in sent)}")
    race_sent = race_transactions(sent)
    keys = [tx["idempotencyKey"] for tx in race_sent]
    # Nothing was created twice: at most one transaction per race request (idempotency keys).
    assert len(keys) == len(set(keys)) <= RACE
    by_key = {tx["idempotencyKey"]: tx for tx in race_sent}
    for key, tx in answered.items():  # an answered request is the transaction it said it was
        assert by_key[key]["transactionId"] == tx["transactionId"], (key, tx, by_key.get(key))
    expected = expected_balances(payers, sent)
    assert balances(stack, payers) == expected
    return race_sent, by_key


def check_the_trial_balance(stack: Stack, admin: str) -> None:
    """The trial balance is balanced and sums to zero: debits equal credits."""
    report = data_of(stack.gql(TRIAL_BALANCE, None, token=admin))["trialBalance"]
    assert report["balanced"] is True and report["balanceTotal"] == "0.00", report
    assert report["debitTotal"] == report["creditTotal"]


def check_the_statement_lists_the_paid_bills(
    stack: Stack, admin: str, race_sent: list[dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """The marketplace's statement lists exactly the paid bills; returns VA -> its payment."""
    paid = paid_bills(race_sent)
    assert paid
    lines = data_of(stack.gql(STATEMENT, {"after": None}, token=admin))["merchantStatement"]
    assert sorted(line["transactionId"] for line in lines if line["kind"] == "PAYMENT") == sorted(
        tx["transactionId"] for tx in paid.values()
    )
    return paid


def notices_of(stack: Stack, va: str) -> list[dict[str, Any]]:
    """The sandbox's notices of a VA that reached it (not those it refused while down)."""
    return [n for n in data_of(stack.orders(NOTICES, {"va": va}))["sandboxNotices"] if n["outcome"] != "DOWN"]


def check_each_paid_bill_notified_once(
    stack: Stack, orders: list[dict[str, Any]], paid: dict[str, dict[str, Any]]
) -> None:
    """Both outbox workers together notify each paid bill exactly once, and no unpaid bill."""

    def all_notified() -> bool:
        return all(notices_of(stack, va) for va in paid)

    wait_until("every paid bill notified", all_notified)
    time.sleep(2)  # both outbox workers poll every 0.2 s: a second delivery would show up by now
    for order in orders:
        va = order["nomorVA"]
        seen = notices_of(stack, va)
        if va in paid:
            assert [n["outcome"] for n in seen] == ["ACCEPTED"], (va, seen)
        else:
            assert seen == [], (va, seen)


def check_the_replay_moves_nothing(
    stack: Stack, payers: list[dict[str, str]], steps: list[Step], by_key: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """A replay through the other router answers what each key made; cut-off requests run once."""
    # Replaying every request through the other router answers the transaction its key made and
    # moves nothing again; a request a crash cut off before it was recorded runs now, once.
    replay = asyncio.run(_replay(stack, steps))
    for step, body in zip(steps, replay, strict=True):
        tx = data_of(body)["createTransaction"]
        if step.key in by_key:
            assert tx["transactionId"] == by_key[step.key]["transactionId"], (step, tx)
            assert tx["status"] == by_key[step.key]["status"], (step, tx)
    sent = wait_until("the replayed requests settled", lambda: settled_transactions(stack, payers))
    race_sent = race_transactions(sent)
    assert sorted(tx["idempotencyKey"] for tx in race_sent) == sorted(s.key for s in steps)
    assert balances(stack, payers) == expected_balances(payers, sent)
    return race_sent


def check_the_payout_closes_the_paid_bills(stack: Stack, admin: str, race_sent: list[dict[str, Any]]) -> None:
    """The payout closes exactly the bills paid, in the race and by the replay, and empties settlement."""
    paid = paid_bills(race_sent)
    batch = settle_everything(stack, admin, "replicas-payout")
    assert batch is not None and batch["paymentCount"] == len(paid)
    assert sorted(line["transactionId"] for line in batch["lines"] if line["kind"] == "PAYMENT") == sorted(
        tx["transactionId"] for tx in paid.values()
    )
    assert Decimal(batch["total"]) == sum(Decimal(tx["amount"]) for tx in paid.values())
    after = data_of(stack.gql(TRIAL_BALANCE, None, token=admin))["trialBalance"]
    assert after["balanced"] is True and settlement_balance(after) == "0.00"


def test_two_replicas_of_wallet_and_transactions_keep_every_invariant_through_a_race_and_crashes(
    replicas: Stack,
) -> None:
    stack = replicas
    admin = admin_token(stack)
    payers, orders, steps = fund_the_race(stack)
    answers = race_with_the_marketplace_down(stack, steps)
    answered = check_the_race_answers(steps, answers)
    race_sent, by_key = check_recovery_settled_each_request_once(stack, payers, answered)
    check_the_trial_balance(stack, admin)
    # The marketplace: its statement is exactly the paid bills, each paid and notified exactly once.
    paid = check_the_statement_lists_the_paid_bills(stack, admin, race_sent)
    check_each_paid_bill_notified_once(stack, orders, paid)
    race_sent = check_the_replay_moves_nothing(stack, payers, steps, by_key)
    # The payout closes exactly the bills paid, in the race and by the replay.
    check_the_payout_closes_the_paid_bills(stack, admin, race_sent)


async def _replay(stack: Stack, steps: list[Step]) -> list[dict[str, Any]]:
    """Every step again through the other router, 50 at a time (the client's connection limit)."""
    limits = httpx.Limits(max_connections=50)
    async with httpx.AsyncClient(timeout=httpx.Timeout(90.0), limits=limits) as client:
        return list(await asyncio.gather(*(send(client, stack, s, 3 - s.router) for s in steps)))
