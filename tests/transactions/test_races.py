"""Races between a live saga, the recovery worker and an admin: no settled transaction moves money later.

A `GatedWallet` sits between transactions and the real wallet and holds each kind of call (by its
root field) until the test opens that gate, so the interleavings below are exact, not timing luck.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.support.tokens import user_token
from tests.transactions.conftest import Stack, running_app
from tests.transactions.fakes import LocalServer, WalletProxy, serving

OPERATIONS = ("movementsOf", "deductWallet", "topupWallet", "transferWallet", "reverseLedger")


@dataclass
class GatedWallet:
    """Forwards to the real wallet; a call of a closed operation waits until its gate opens (all held
    calls) or until `release_next` lets the oldest held one through."""

    target: str
    closed: set[str] = field(default_factory=set)
    held: dict[str, list[asyncio.Event]] = field(default_factory=lambda: defaultdict(list))
    seen: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    server: LocalServer | None = None
    _http: httpx.AsyncClient = field(default_factory=lambda: httpx.AsyncClient(timeout=10.0))

    def close(self, operation: str) -> None:
        self.closed.add(operation)

    def open(self, operation: str) -> None:
        self.closed.discard(operation)
        for event in self.held.pop(operation, []):
            event.set()

    def release_next(self, operation: str) -> None:
        self.held[operation].pop(0).set()

    async def arrived(self, operation: str, count: int = 1) -> None:
        for _ in range(500):
            if self.seen[operation] >= count:
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"{operation} never reached the wallet")

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        operation = next((name for name in OPERATIONS if name.encode() in body), "other")
        self.seen[operation] += 1
        if operation in self.closed:
            event = asyncio.Event()
            self.held[operation].append(event)
            await event.wait()
        headers = {k: v for k, v in request.headers.items() if k.lower() in ("authorization", "content-type")}
        upstream = await self._http.post(self.target, content=body, headers=headers)
        return Response(upstream.content, status_code=upstream.status_code, media_type="application/json")

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/graphql", self.handle, methods=["POST"])])


async def test_recovery_never_re_debits_a_payment_that_failed_while_its_batch_was_being_worked(
    stack: Stack, tmp_path: Path
) -> None:
    """Recovery reads a batch, then works it row by row. A live saga in that batch may settle FAILED
    (and release its VA) before recovery reaches it; recovery must not act on its stale copy and
    debit the wallet (now funded) for a transaction everyone was told FAILED."""
    async with (
        serving(WalletProxy(stack.wallet_url, mode="down")) as down,
        serving(GatedWallet(stack.wallet_url)) as gated,
    ):
        async with running_app(stack, tmp_path / "tx.db", wallet_url=down.server.url) as api:
            # An older saga stuck in DEBITING (wallet unreachable): first in recovery's batch.
            stuck_user = await stack.new_user()
            stuck_wallet = await stack.new_wallet(stuck_user)
            stuck = await api.create(stuck_user, walletId=stuck_wallet, amount=1000, type="DEPOSIT")
            assert stuck["status"] == "PENDING", stuck
            # From now on the wallet answers, through the gates.
            api.service.clients.wallet.client.client.url = gated.server.url  # type: ignore[attr-defined]

            payer = await stack.new_user()
            payer_wallet = await stack.new_wallet(payer)  # empty: the payment will be refused
            va = await api.invoice("25000")
            gated.close("deductWallet")
            paying = asyncio.create_task(
                api.create(payer, walletId=payer_wallet, amount=25000, type="PAYMENT", vaNumber=va)
            )
            await gated.arrived("deductWallet")  # the live saga is in DEBITING, waiting for the wallet

            gated.close("movementsOf")
            recovering = asyncio.create_task(api.service.recover_once())
            await gated.arrived("movementsOf")  # recovery read both rows and works on the stuck one

            gated.open("deductWallet")
            failed = await paying
            assert failed["status"] == "FAILED"
            assert failed["failureReason"]["code"] == "INSUFFICIENT_FUNDS"
            await stack.topup(payer, payer_wallet, 25_000)  # the payer funds the wallet afterwards

            gated.open("movementsOf")
            await recovering

            assert (await api.get(payer, failed["transactionId"]))["status"] == "FAILED"
            assert await stack.movements(failed["transactionId"]) == []
            assert await stack.balance(payer, payer_wallet) == "25000.00"
            assert (await api.get(stuck_user, stuck["transactionId"]))["status"] == "SUCCESS"
            invoice = await api.data(
                "query($v: String!) { invoice(vaNumber: $v) { status } }", {"v": va}, payer.token
            )
            assert invoice["invoice"]["status"] == "UNPAID"


REVERSE = """mutation($id: ID!) { reverseTransaction(transactionId: $id) { transactionId status } }"""


async def test_recovery_does_not_race_a_live_reversal_into_moving_money_behind_a_success(
    stack: Stack, tmp_path: Path
) -> None:
    """An admin's reversal waits on the wallet past the recovery grace; the recovery worker must not
    send the same reversal alongside it. Otherwise the live call may be refused (funds spent), the
    row goes back to SUCCESS, and recovery's copy succeeds after a top-up: the ledger reversed, the
    transaction still SUCCESS, no REVERSED history, and every later reversal refused as a CONFLICT."""
    async with serving(GatedWallet(stack.wallet_url)) as gated:
        async with running_app(stack, tmp_path / "tx.db", wallet_url=gated.server.url) as api:
            user = await stack.new_user()
            wallet = await stack.new_wallet(user)
            deposit = await api.create(user, walletId=wallet, amount=10_000, type="DEPOSIT")
            assert deposit["status"] == "SUCCESS"
            va = await api.invoice("10000")
            spent = await api.create(user, walletId=wallet, amount=10_000, type="PAYMENT", vaNumber=va)
            assert spent["status"] == "SUCCESS"  # the deposit is spent: reversing it is refused for now

            admin = user_token(str(uuid.uuid4()), role="ADMIN")
            gated.close("reverseLedger")
            reversing = asyncio.create_task(api.call(REVERSE, {"id": deposit["transactionId"]}, admin))
            await gated.arrived("reverseLedger")
            recovering = asyncio.create_task(api.service.recover_once())
            for _ in range(100):  # recovery either skips the row or sends its own reverseLedger
                if recovering.done() or gated.seen["reverseLedger"] >= 2:
                    break
                await asyncio.sleep(0.01)

            gated.release_next("reverseLedger")  # the admin's call: INSUFFICIENT_FUNDS
            refused = await reversing
            assert refused["errors"][0]["extensions"]["code"] == "INSUFFICIENT_FUNDS"
            await stack.topup(user, wallet, 10_000)
            gated.open("reverseLedger")
            await recovering

            row = await api.service.get(deposit["transactionId"])
            moved = await stack.movements(row.reversal_id or "")
            assert (row.status == "REVERSED") == bool(moved), (row.status, moved)

            again = await api.data(REVERSE, {"id": deposit["transactionId"]}, admin)
            assert again["reverseTransaction"]["status"] == "REVERSED"
            assert await stack.balance(user, wallet) == "0.00"
