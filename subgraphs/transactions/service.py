"""The payment saga (README: "The payment saga"), invoices, queries and admin reversal; no GraphQL here.

A saga's state is written to our own database before every network call, so a crash at any point
leaves a row that says how far it got:

    RECORDED --fraud ok--> [CHECKED --VA ok-->] DEBITING --wallet answered--> DONE (final status)

Money may have moved only once a row reached DEBITING. From there the saga never reports FAILED
unless the wallet definitely refused; when the wallet is unreachable (or answered ambiguously) the
row stays PENDING and `recover_once` settles it later from the wallet's ledger (`movementsOf`) or by
re-issuing the same idempotent movement (same transaction id). A VA is claimed in `va_payments`
(primary key = VA number) in the same local transaction that moves a PAYMENT to DEBITING, and the
claim is released only when the debit definitely failed. Every final status writes its outbox
rows (history record; the marketplace notice for a settled PAYMENT) in the same local transaction.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.db import Database, has_nul
from shared.errors import AppError, ErrorCode, bad_input, not_found
from shared.metrics import SAGA_OUTCOMES
from shared.money import format_minor
from shared.pagination import newest_first, older_than
from shared.throttle import MemoryThrottle, Throttle
from shared.tokens import Principal
from shared.tracing import inject, span, traced
from subgraphs.transactions.clients import Clients
from subgraphs.transactions.config import TransactionsConfig
from subgraphs.transactions.messages import HistoryNotice, MarketplaceNotice, OutboxNotice
from subgraphs.transactions.models import (
    Invoice,
    InvoiceStatus,
    OutboxKind,
    OutboxMessage,
    OutboxState,
    SagaStep,
    Transaction,
    TxStatus,
    TxType,
    VaPayment,
    as_utc,
    utcnow,
)
from subgraphs.transactions.recipients import Recipients

log = logging.getLogger(__name__)

VA_PREFIX = "DS-8800"
VA_RANDOM_DIGITS = 10
VA_MAX_ATTEMPTS = 8
PAGE_DEFAULT = 50
PAGE_MAX = 200
DESCRIPTION_MAX = 255
IDEMPOTENCY_KEY_MAX = 128
ID_MAX = 64
USERNAME_MAX = 64
VA_MAX = 64
CRASH_EXIT_CODE = 86

# Wallet answers after which money may or may not have moved: settle from the ledger later.
AMBIGUOUS_CODES = frozenset({ErrorCode.SUBGRAPH_UNAVAILABLE, ErrorCode.INTERNAL})
FINAL_STATUSES = frozenset({TxStatus.SUCCESS, TxStatus.FAILED, TxStatus.REJECTED, TxStatus.REVERSED})


@dataclass(frozen=True)
class CreateTransactionInput:
    wallet_id: str
    amount: int
    type: TxType
    va_number: str | None = None
    to_wallet_id: str | None = None
    description: str | None = None
    idempotency_key: str | None = None
    to_username: str | None = None


@dataclass(frozen=True)
class Failure:
    code: ErrorCode
    message: str


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def normalise_input(raw: CreateTransactionInput) -> CreateTransactionInput:
    """The input with blanks removed, or BAD_USER_INPUT when its fields do not fit its type."""
    for name, value in (
        ("walletId", raw.wallet_id),
        ("vaNumber", raw.va_number),
        ("toWalletId", raw.to_wallet_id),
        ("toUsername", raw.to_username),
        ("description", raw.description),
        ("idempotencyKey", raw.idempotency_key),
    ):
        if has_nul(value):
            raise bad_input(f"{name} must not contain a NUL character", field=name)
    wallet_id = _clean(raw.wallet_id)
    va = _clean(raw.va_number)
    to_wallet = _clean(raw.to_wallet_id)
    to_username = _clean(raw.to_username)
    description = _clean(raw.description)
    key = _clean(raw.idempotency_key)
    if wallet_id is None or len(wallet_id) > ID_MAX:
        raise bad_input("walletId is required", field="walletId")
    if raw.type is not TxType.TRANSFER and to_username is not None:
        raise bad_input(f"A {raw.type.value} takes no toUsername", field="toUsername")
    if raw.type is TxType.DEPOSIT:
        if va is not None:
            raise bad_input("A DEPOSIT takes no vaNumber", field="vaNumber")
        if to_wallet is not None:
            raise bad_input("A DEPOSIT takes no toWalletId", field="toWalletId")
    elif raw.type is TxType.PAYMENT:
        if va is None:
            raise bad_input("A PAYMENT needs the vaNumber of the bill", field="vaNumber")
        if to_wallet is not None:
            raise bad_input("A PAYMENT takes no toWalletId", field="toWalletId")
        if len(va) > VA_MAX:
            raise bad_input("vaNumber is too long", field="vaNumber")
    elif raw.type is TxType.TRANSFER:
        if (to_wallet is None) == (to_username is None):
            raise bad_input("A TRANSFER needs exactly one of toWalletId and toUsername", field="toWalletId")
        if va is not None:
            raise bad_input("A TRANSFER takes no vaNumber", field="vaNumber")
        if to_wallet is not None and len(to_wallet) > ID_MAX:
            raise bad_input("toWalletId is too long", field="toWalletId")
        if to_username is not None and len(to_username) > USERNAME_MAX:
            raise bad_input("toUsername is too long", field="toUsername")
        if to_wallet == wallet_id:
            raise bad_input("A TRANSFER needs two different wallets", field="toWalletId")
    if description is not None and len(description) > DESCRIPTION_MAX:
        raise bad_input(f"description may have at most {DESCRIPTION_MAX} characters", field="description")
    if key is not None and len(key) > IDEMPOTENCY_KEY_MAX:
        raise bad_input(
            f"idempotencyKey may have at most {IDEMPOTENCY_KEY_MAX} characters", field="idempotencyKey"
        )
    return CreateTransactionInput(
        wallet_id=wallet_id,
        amount=raw.amount,
        type=raw.type,
        va_number=va,
        to_wallet_id=to_wallet,
        description=description,
        idempotency_key=key,
        to_username=to_username,
    )


def request_hash(inp: CreateTransactionInput) -> str:
    """What makes two calls with one idempotency key 'the same input'. (`toUsername` is appended
    only when given, so the hashes of transactions recorded before it existed stay the same.)"""
    fields: list[object] = [inp.wallet_id, inp.amount, inp.type.value, inp.va_number, inp.to_wallet_id]
    fields.append(inp.description)
    if inp.to_username is not None:
        fields.append({"toUsername": inp.to_username})
    canonical = json.dumps(fields, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def new_va_number() -> str:
    return f"{VA_PREFIX}{secrets.randbelow(10**VA_RANDOM_DIGITS):0{VA_RANDOM_DIGITS}d}"


def invoice_status(invoice: Invoice, now: datetime | None = None) -> InvoiceStatus:
    """UNPAID invoices past their expiry read as EXPIRED."""
    if invoice.status == InvoiceStatus.UNPAID and as_utc(invoice.expires_at) <= (now or utcnow()):
        return InvoiceStatus.EXPIRED
    return InvoiceStatus(invoice.status)


RECEIVED_STATUSES = (TxStatus.SUCCESS.value, TxStatus.REVERSED.value)


def received_by(user_id: str) -> Any:
    """SQL condition: a transfer to `user_id` from someone else that moved money."""
    return and_(
        Transaction.type == TxType.TRANSFER.value,
        Transaction.to_user_id == user_id,
        Transaction.user_id != user_id,
        Transaction.status.in_(RECEIVED_STATUSES),
    )


def visibility(user_id: str | None, wallet_id: str | None, direction: str | None) -> Any:
    """SQL condition for the transactions a list shows (see `TransactionService.list`)."""
    sides = []
    if direction in (None, "OUT"):
        out = [] if user_id is None else [Transaction.user_id == user_id]
        if wallet_id is not None:
            out.append(Transaction.wallet_id == wallet_id)
        sides.append(and_(true(), *out))
    if direction in (None, "IN"):
        incoming = [Transaction.type == TxType.TRANSFER.value, Transaction.status.in_(RECEIVED_STATUSES)]
        if user_id is not None:
            incoming.append(received_by(user_id))
        if wallet_id is not None:
            incoming.append(Transaction.to_wallet_id == wallet_id)
        if user_id is None and wallet_id is None and direction is None:
            return true()
        sides.append(and_(*incoming))
    return or_(*sides)


def is_overdue(now: datetime, overdue_s: float) -> Any:
    """SQL condition: a message still not delivered `overdue_s` after it was written."""
    return and_(
        OutboxMessage.state != OutboxState.DELIVERED.value,
        OutboxMessage.created_at <= now - timedelta(seconds=overdue_s),
    )


def _page_size(first: int | None) -> int:
    if first is None:
        return PAGE_DEFAULT
    if first < 0 or first > PAGE_MAX:
        raise bad_input(f"first must be between 0 and {PAGE_MAX}", field="first")
    return first


class TransactionService:
    """Runs sagas, issues invoices, answers queries; the workers call `recover_once`."""

    def __init__(
        self,
        *,
        database: Database,
        clients: Clients,
        config: TransactionsConfig,
        on_outbox_written: Callable[[], None] = lambda: None,
        recipient_throttle: Throttle | None = None,
    ) -> None:
        self.db = database
        self.clients = clients
        self.config = config
        self.on_outbox_written = on_outbox_written
        self.recipients = Recipients(
            clients,
            recipient_throttle
            or MemoryThrottle(config.recipient_lookup_limit, config.recipient_lookup_window_s),
        )
        self._inflight: set[str] = set()
        self._tasks: set[asyncio.Task[Transaction]] = set()
        self._waiters: dict[str, asyncio.Future[None]] = {}

    # ------------------------------------------------------------------------------ creating

    async def create(
        self, principal: Principal, raw: CreateTransactionInput, *, client: str | None = None
    ) -> Transaction:
        """Run the saga for one createTransaction call; returns the transaction as it stands.

        `client`: the caller's address, one of the keys `toUsername` lookups are throttled by."""
        inp = normalise_input(raw)
        digest = request_hash(inp)
        user_id = principal.subject
        if inp.idempotency_key is not None:
            existing = await self._by_key(user_id, inp.idempotency_key)
            if existing is not None:
                return await self._replay(existing, digest)
        to_wallet_id, to_user_id, to_username = inp.to_wallet_id, None, None
        if inp.type is TxType.TRANSFER:
            # Before anything is recorded: who receives (a lookup failure moves and records nothing).
            if inp.to_username is not None:
                keys = (f"user:{user_id}", f"client:{client or 'unknown'}")
                recipient = await self.recipients.by_username(inp.to_username, throttle_keys=keys)
                to_wallet_id, to_user_id, to_username = (
                    recipient.wallet_id,
                    recipient.user_id,
                    recipient.username,
                )
                if to_wallet_id == inp.wallet_id:
                    raise bad_input("A TRANSFER needs two different wallets", field="toUsername")
            else:
                found = await self.recipients.owner_of_wallet(inp.to_wallet_id or "")
                if found is not None:
                    to_user_id, to_username = found
        now = utcnow()
        tx = Transaction(
            transaction_id=str(uuid.uuid4()),
            user_id=user_id,
            wallet_id=inp.wallet_id,
            to_wallet_id=to_wallet_id,
            to_user_id=to_user_id,
            to_username=to_username,
            user_username=principal.username,
            amount=inp.amount,
            type=inp.type.value,
            status=TxStatus.PENDING.value,
            step=SagaStep.RECORDED.value,
            va_number=inp.va_number,
            description=inp.description,
            idempotency_key=inp.idempotency_key,
            request_hash=digest,
            flagged=False,
            created_at=now,
            updated_at=now,
        )
        # Registered before the row is visible: recovery leaves it alone, and a concurrent replay
        # of the same idempotency key waits for this saga's outcome instead of seeing PENDING.
        tx_id = tx.transaction_id
        self._inflight.add(tx_id)
        self._waiters[tx_id] = asyncio.get_running_loop().create_future()
        try:
            await self.db.write(lambda session: session.add(tx))
        except BaseException as exc:
            self._release(tx_id)
            if not isinstance(exc, IntegrityError) or inp.idempotency_key is None:
                raise
            existing = await self._by_key(user_id, inp.idempotency_key)
            if existing is None:
                raise
            return await self._replay(existing, digest)
        # The saga finishes even if the caller disconnects: a cancelled request must not leave a
        # half-run saga to the recovery worker when it could simply complete.
        task = asyncio.create_task(self._run(tx))
        self._tasks.add(task)
        task.add_done_callback(self._saga_done)
        return await asyncio.shield(task)

    def _release(self, tx_id: str) -> None:
        self._inflight.discard(tx_id)
        waiter = self._waiters.pop(tx_id, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _saga_done(self, task: asyncio.Task[Transaction]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("saga failed unexpectedly; recovery will settle it", exc_info=task.exception())

    async def _replay(self, existing: Transaction, digest: str) -> Transaction:
        """The transaction of an idempotency key, once its saga (if still running here) is done."""
        if existing.request_hash != digest:
            raise AppError(
                ErrorCode.IDEMPOTENCY_KEY_REUSED,
                "This idempotencyKey was already used for a different transaction",
                transactionId=existing.transaction_id,
            )
        waiter = self._waiters.get(existing.transaction_id)
        if waiter is not None:
            await asyncio.shield(waiter)
            return await self.get(existing.transaction_id)
        return existing

    async def _by_key(self, user_id: str, key: str) -> Transaction | None:
        query = select(Transaction).where(Transaction.user_id == user_id, Transaction.idempotency_key == key)
        return await self.db.read(lambda session: session.execute(query).scalar_one_or_none())

    async def _run(self, tx: Transaction) -> Transaction:
        try:
            return await self._saga(tx)
        finally:
            self._release(tx.transaction_id)

    async def _saga(self, tx: Transaction) -> Transaction:
        tx_id = tx.transaction_id
        # Step 2: fraud. Nothing has moved yet, so an unreachable fraud service is a safe FAILED.
        try:
            with span("saga.fraud_check"):
                verdict = await self.clients.fraud.check(
                    transaction_id=tx_id,
                    user_id=tx.user_id,
                    wallet_id=tx.wallet_id,
                    amount=tx.amount,
                    type=tx.type,
                    va_number=tx.va_number,
                )
        except AppError as exc:
            code = ErrorCode.SUBGRAPH_UNAVAILABLE if exc.code in AMBIGUOUS_CODES else exc.code
            return await self._finish(
                tx_id,
                TxStatus.FAILED,
                Failure(code, f"Fraud check failed: {exc.message}"),
                expect=(SagaStep.RECORDED,),
            )
        if verdict.is_fraud:
            return await self._finish(
                tx_id,
                TxStatus.REJECTED,
                Failure(ErrorCode.FRAUD_REJECTED, verdict.reason or "Rejected by the fraud check"),
                expect=(SagaStep.RECORDED,),
                fraud_status=verdict.status,
            )
        flagged = verdict.is_suspicious

        # Step 3: a PAYMENT's VA must be payable (our invoice, then the marketplace's order).
        if tx.type == TxType.PAYMENT:
            row = await self._advance(tx_id, SagaStep.RECORDED, SagaStep.CHECKED, flagged, verdict.status)
            if row is None:
                return await self.get(tx_id)
            failure = await self._validate_va(tx)
            if failure is not None:
                return await self._finish(tx_id, TxStatus.FAILED, failure, expect=(SagaStep.CHECKED,))

        # Step 4a: DEBITING (+ the VA claim) committed before the wallet is called.
        entered = await self._enter_debit(tx, flagged, verdict.status)
        if isinstance(entered, Failure):
            return await self._finish(
                tx_id, TxStatus.FAILED, entered, expect=(SagaStep.RECORDED, SagaStep.CHECKED)
            )
        if not entered:
            return await self.get(tx_id)
        # Step 4b: the money, then step 5.
        return await self._debit_and_settle(tx)

    @traced("saga.advance")
    async def _advance(
        self, tx_id: str, expect: SagaStep, to: SagaStep, flagged: bool, fraud_status: str
    ) -> Transaction | None:
        def work(session: Session) -> Transaction | None:
            row = self._locked(session, tx_id)
            if row.status != TxStatus.PENDING or row.step != expect:
                return None
            row.step = to.value
            row.flagged = flagged
            row.fraud_status = fraud_status
            row.updated_at = utcnow()
            return row

        return await self.db.write(work)

    @traced("saga.validate_va")
    async def _validate_va(self, tx: Transaction) -> Failure | None:
        va = tx.va_number or ""
        if va.upper().startswith("OFFLINE-"):
            return Failure(ErrorCode.VA_NOT_FOUND, "This VA was not issued by this wallet; it cannot be paid")
        invoice, claim = await self.db.read(
            lambda session: (session.get(Invoice, va), session.get(VaPayment, va))
        )
        failure = self._invoice_failure(invoice, claim, tx.amount)
        if failure is not None:
            return failure
        marketplace = self.clients.marketplace
        if marketplace is None:
            return None
        try:
            order = await marketplace.get_order_by_va(va)
        except AppError as exc:
            return Failure(ErrorCode.MARKETPLACE_UNAVAILABLE, f"Could not validate the bill: {exc.message}")
        if order is None:
            return Failure(ErrorCode.VA_NOT_FOUND, "The marketplace has no order for this VA")
        if order.total_minor != tx.amount:
            return Failure(
                ErrorCode.VA_AMOUNT_MISMATCH,
                f"The amount {format_minor(tx.amount)} does not equal the order's total",
            )
        if order.is_paid:
            return Failure(ErrorCode.VA_ALREADY_PAID, "The marketplace order is already paid")
        return None

    @staticmethod
    def _invoice_failure(invoice: Invoice | None, claim: VaPayment | None, amount: int) -> Failure | None:
        if invoice is None:
            return Failure(ErrorCode.VA_NOT_FOUND, "No bill with this VA number")
        status = invoice_status(invoice)
        if status is InvoiceStatus.PAID or claim is not None:
            return Failure(ErrorCode.VA_ALREADY_PAID, "This VA is already paid")
        if status is InvoiceStatus.EXPIRED:
            return Failure(ErrorCode.VA_EXPIRED, "This VA has expired")
        if invoice.amount != amount:
            return Failure(
                ErrorCode.VA_AMOUNT_MISMATCH,
                f"The amount {format_minor(amount)} does not equal the bill's {format_minor(invoice.amount)}",
            )
        return None

    @traced("saga.enter_debit")
    async def _enter_debit(self, tx: Transaction, flagged: bool, fraud_status: str) -> bool | Failure:
        """Move to DEBITING (claiming a PAYMENT's VA) in one local transaction; False if settled elsewhere."""
        tx_id = tx.transaction_id

        def work(session: Session) -> bool | Failure:
            row = self._locked(session, tx_id)
            if row.status != TxStatus.PENDING or row.step not in (SagaStep.RECORDED, SagaStep.CHECKED):
                return False
            if row.type == TxType.PAYMENT:
                va = row.va_number or ""
                invoice = session.get(Invoice, va, with_for_update=True)
                claim = session.get(VaPayment, va)
                failure = self._invoice_failure(invoice, claim, row.amount)
                if failure is not None:
                    return failure
                session.add(VaPayment(va_number=va, transaction_id=row.transaction_id, created_at=utcnow()))
                session.flush()
            row.step = SagaStep.DEBITING.value
            row.flagged = flagged
            row.fraud_status = fraud_status
            row.updated_at = utcnow()
            return True

        try:
            return await self.db.write(work)
        except IntegrityError:
            # Another transaction claimed this VA between our check and our insert.
            return Failure(ErrorCode.VA_ALREADY_PAID, "This VA is already paid")

    @traced("saga.move_money")
    async def _move_money(self, tx: Transaction) -> str | None:
        """The wallet call of this transaction type; idempotent by the transaction id. Returns a
        transfer's receiver (the owner of the credited wallet, as the wallet says)."""
        wallet = self.clients.wallet
        if tx.type == TxType.DEPOSIT:
            await wallet.topup(
                transaction_id=tx.transaction_id, user_id=tx.user_id, wallet_id=tx.wallet_id, amount=tx.amount
            )
        elif tx.type == TxType.PAYMENT:
            await wallet.deduct(
                transaction_id=tx.transaction_id, user_id=tx.user_id, wallet_id=tx.wallet_id, amount=tx.amount
            )
        else:
            moved = await wallet.transfer(
                transaction_id=tx.transaction_id,
                user_id=tx.user_id,
                from_wallet_id=tx.wallet_id,
                to_wallet_id=tx.to_wallet_id or "",
                amount=tx.amount,
            )
            return moved.credit.owner_id
        return None

    async def _debit_and_settle(self, tx: Transaction) -> Transaction:
        tx_id = tx.transaction_id
        try:
            receiver = await self._move_money(tx)
        except AppError as exc:
            if exc.code in AMBIGUOUS_CODES:
                # Money may have moved: stay PENDING, say why, let recovery settle it from the ledger.
                return await self._note_unavailable(tx_id, exc)
            failure = Failure(exc.code, exc.message)
            if exc.code is ErrorCode.FORBIDDEN:
                # Someone else's wallet: say what the wallet says to its readers (the wallet rule), NOT_FOUND.
                failure = Failure(ErrorCode.NOT_FOUND, "Wallet not found")
            return await self._finish(tx_id, TxStatus.FAILED, failure, expect=(SagaStep.DEBITING,))
        if self.config.crash_after_debit:
            # Fault-injection hook for tests (TRANSACTIONS_CRASH_AFTER_DEBIT): die like a crash would.
            log.error("TRANSACTIONS_CRASH_AFTER_DEBIT set: exiting after the wallet call of %s", tx_id)
            os._exit(CRASH_EXIT_CODE)
        return await self._finish(
            tx_id, TxStatus.SUCCESS, None, expect=(SagaStep.DEBITING,), receiver=receiver
        )

    async def _note_unavailable(self, tx_id: str, exc: AppError) -> Transaction:
        def work(session: Session) -> Transaction:
            row = self._locked(session, tx_id)
            if row.status == TxStatus.PENDING:
                row.failure_code = ErrorCode.SUBGRAPH_UNAVAILABLE.value
                row.failure_message = (
                    "The wallet did not confirm the movement; the transaction is settled automatically "
                    "once the wallet answers"
                )[:DESCRIPTION_MAX]
                row.updated_at = utcnow()
            return row

        row = await self.db.write(work)
        # Logged here, on the event loop, so the line keeps the request id (a context variable).
        log.warning("transaction %s left PENDING: %s", tx_id, exc.message)
        return row

    @traced("saga.finish")
    async def _finish(
        self,
        tx_id: str,
        status: TxStatus,
        failure: Failure | None,
        *,
        expect: Sequence[SagaStep],
        fraud_status: str | None = None,
        receiver: str | None = None,
    ) -> Transaction:
        """Record a final status with its outbox rows in one local transaction (compare-and-set).
        `receiver`: a transfer's receiver as the wallet reported it (kept when not known before)."""

        def work(session: Session) -> tuple[Transaction, bool]:
            """The row as it stands, and whether this call settled it (and wrote outbox rows)."""
            row = self._locked(session, tx_id)
            if row.status != TxStatus.PENDING or row.step not in {step.value for step in expect}:
                return row, False
            now = utcnow()
            row.status = status.value
            row.step = SagaStep.DONE.value
            row.failure_code = failure.code.value if failure else None
            row.failure_message = failure.message[:DESCRIPTION_MAX] if failure else None
            if fraud_status is not None:
                row.fraud_status = fraud_status
            if receiver is not None and row.to_user_id is None:
                row.to_user_id = receiver
            row.updated_at = now
            row.settled_at = now
            if row.type == TxType.PAYMENT and row.va_number:
                if status is TxStatus.SUCCESS:
                    invoice = session.get(Invoice, row.va_number, with_for_update=True)
                    if invoice is not None:
                        invoice.status = InvoiceStatus.PAID.value
                        invoice.paid_at = now
                        invoice.paid_by_transaction_id = row.transaction_id
                else:
                    session.execute(
                        delete(VaPayment).where(
                            VaPayment.va_number == row.va_number,
                            VaPayment.transaction_id == row.transaction_id,
                        )
                    )
            self._write_outbox(session, row, status, now)
            return row, True

        row, settled = await self.db.write(work)
        if not settled:
            return row
        SAGA_OUTCOMES.labels(row.type, row.status).inc()
        self.on_outbox_written()
        return row

    def _write_outbox(self, session: Session, row: Transaction, status: TxStatus, now: datetime) -> None:
        history = HistoryNotice(
            transaction_id=row.transaction_id,
            user_id=row.user_id,
            wallet_id=row.wallet_id,
            amount=row.amount,
            type=row.type,
            status=status.value,
            va_number=row.va_number,
            occurred_at=now,
            direction="OUT",
            counterparty=row.to_username,
        )
        session.add(self._message(row.transaction_id, f"{status.value}", history, now))
        receiver = row.to_user_id if row.type == TxType.TRANSFER else None
        if receiver and receiver != row.user_id and status in (TxStatus.SUCCESS, TxStatus.REVERSED):
            # The receiver's own audit entry: money came in (or, reversed, went back out). A transfer
            # between one's own wallets stays one (outgoing) entry.
            incoming = replace(
                history,
                user_id=receiver,
                wallet_id=row.to_wallet_id,  # set on every TRANSFER (resolved before it was recorded)
                direction="IN",
                counterparty=row.user_username,
            )
            session.add(self._message(row.transaction_id, f"{status.value}:IN", incoming, now))
        if (
            status is TxStatus.SUCCESS
            and row.type == TxType.PAYMENT
            and row.va_number
            and self.clients.marketplace is not None
        ):
            notice = MarketplaceNotice(va_number=row.va_number, status="PAID")
            session.add(self._message(row.transaction_id, "PAID", notice, now))

    def _message(self, tx_id: str, tag: str, notice: OutboxNotice, now: datetime) -> OutboxMessage:
        kind = notice.KIND
        # The trace of the request that wrote it, so its delivery joins that trace.
        traced_notice = replace(notice, trace=dict(inject({})))
        return OutboxMessage(
            message_id=str(uuid.uuid4()),
            transaction_id=tx_id,
            kind=kind.value,
            dedup_key=f"{kind.value}:{tx_id}:{tag}",
            payload=traced_notice.to_json(),
            state=OutboxState.PENDING.value,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
            deadline_at=now + timedelta(seconds=self.config.outbox_retry_horizon_s),
        )

    @staticmethod
    def _locked(session: Session, tx_id: str) -> Transaction:
        row = session.get(Transaction, tx_id, with_for_update=True, populate_existing=True)
        if row is None:
            raise not_found("Transaction not found")
        return row

    # ------------------------------------------------------------------------------ recovery

    async def recover_once(self, *, grace_s: float | None = None) -> int:
        """Settle or resume sagas left PENDING (and reversals left half-way); returns how many settled."""
        grace = self.config.recovery_grace_s if grace_s is None else grace_s
        cutoff = utcnow() - timedelta(seconds=grace)
        query = (
            select(Transaction)
            .where(
                or_(
                    Transaction.status == TxStatus.PENDING.value,
                    and_(
                        Transaction.status == TxStatus.SUCCESS.value,
                        Transaction.step == SagaStep.REVERSING.value,
                    ),
                ),
                Transaction.updated_at <= cutoff,
            )
            .order_by(Transaction.updated_at)
            .limit(self.config.recovery_batch_size)
        )
        rows = await self.db.read(lambda session: list(session.execute(query).scalars()))
        settled = 0
        for row in rows:
            if row.transaction_id in self._inflight:
                continue
            self._inflight.add(row.transaction_id)
            try:
                if await self._recover(row):
                    settled += 1
            except Exception:  # noqa: BLE001 - one bad row must not stop the others
                log.exception("recovery of %s failed", row.transaction_id)
            finally:
                self._inflight.discard(row.transaction_id)
        return settled

    @traced("saga.recover")
    async def _recover(self, stale: Transaction) -> bool:
        tx_id = stale.transaction_id
        # The batch was read before this row's turn: a live saga (or reversal) may have settled it
        # since. Act only on the row as it stands now, or a settled FAILED could still move money.
        row = await self.find(tx_id)
        if row is None:
            return False
        if row.status == TxStatus.SUCCESS and row.step == SagaStep.REVERSING:
            try:
                await self._finish_reversal(row)
            except AppError as exc:
                log.warning("reversal of %s still pending: %s", tx_id, exc.message)
                return False
            return True
        if row.step in (SagaStep.RECORDED, SagaStep.CHECKED):
            # The wallet was never called for this id: nothing can have moved.
            settled = await self._finish(
                tx_id,
                TxStatus.FAILED,
                Failure(ErrorCode.INTERNAL, "The transaction was interrupted before any money moved"),
                expect=(SagaStep.RECORDED, SagaStep.CHECKED),
            )
            return settled.status != TxStatus.PENDING
        if row.status != TxStatus.PENDING or row.step != SagaStep.DEBITING:
            return False
        try:
            movements = await self.clients.wallet.movements_of(tx_id)
        except AppError as exc:
            log.info("recovery of %s waits for the wallet: %s", tx_id, exc.message)
            return False
        if movements:
            settled = await self._finish(tx_id, TxStatus.SUCCESS, None, expect=(SagaStep.DEBITING,))
            return settled.status != TxStatus.PENDING
        settled = await self._debit_and_settle(row)
        return settled.status != TxStatus.PENDING

    # ------------------------------------------------------------------------------ reversal

    async def reverse(self, admin: Principal, tx_id: str, reason: str | None) -> Transaction:
        """Post the compensating movement of a SUCCESS transaction and mark it REVERSED."""
        reason = _clean(reason)
        if reason is not None and len(reason) > DESCRIPTION_MAX:
            raise bad_input(f"reason may have at most {DESCRIPTION_MAX} characters", field="reason")
        if has_nul(reason):
            raise bad_input("reason must not contain a NUL character", field="reason")
        if has_nul(tx_id):
            raise not_found("Transaction not found")

        def work(session: Session) -> tuple[Transaction, bool]:
            """The row, and whether it still needs the wallet's reversal (False: already REVERSED)."""
            row = self._locked(session, tx_id)
            if row.status == TxStatus.REVERSED:
                return row, False
            if row.status != TxStatus.SUCCESS:
                raise AppError(
                    ErrorCode.CONFLICT, f"Only SUCCESS transactions can be reversed (this is {row.status})"
                )
            if row.step != SagaStep.REVERSING:
                row.step = SagaStep.REVERSING.value
                row.reversal_id = str(uuid.uuid4())
                row.reversal_reason = reason
                row.reversed_by = admin.subject
                row.updated_at = utcnow()
            return row, True

        row, to_reverse = await self.db.write(work)
        if not to_reverse:
            return row
        # Like a live saga: the recovery worker leaves a reversal alone while it runs here.
        owner = tx_id not in self._inflight
        self._inflight.add(tx_id)
        try:
            return await self._finish_reversal(row)
        finally:
            if owner:
                self._inflight.discard(tx_id)

    @traced("saga.finish_reversal")
    async def _finish_reversal(self, row: Transaction) -> Transaction:
        tx_id = row.transaction_id
        try:
            await self.clients.wallet.reverse_ledger(transaction_id=tx_id, reversal_id=row.reversal_id or "")
        except AppError as exc:
            if exc.code in AMBIGUOUS_CODES:
                raise AppError(
                    ErrorCode.SUBGRAPH_UNAVAILABLE,
                    "The wallet did not confirm the reversal; it is retried automatically",
                    retriable=True,
                ) from None

            def refused(session: Session) -> None:
                current = self._locked(session, tx_id)
                if current.status == TxStatus.SUCCESS and current.step == SagaStep.REVERSING:
                    current.step = SagaStep.DONE.value
                    current.updated_at = utcnow()

            await self.db.write(refused)
            raise
        reversal_id = row.reversal_id

        def work(session: Session) -> tuple[Transaction, bool]:
            """The row as it stands, and whether this call marked it REVERSED (and wrote outbox rows)."""
            current = self._locked(session, tx_id)
            # The wallet confirmed that this reversal id moved the money: the transaction is
            # REVERSED, even if a refused attempt with the same id already set the step back.
            if current.status != TxStatus.SUCCESS or current.reversal_id != reversal_id:
                return current, False
            now = utcnow()
            current.status = TxStatus.REVERSED.value
            current.step = SagaStep.DONE.value
            current.updated_at = now
            self._write_outbox(session, current, TxStatus.REVERSED, now)
            return current, True

        current, reversed_now = await self.db.write(work)
        if not reversed_now:
            return current
        SAGA_OUTCOMES.labels(current.type, current.status).inc()
        self.on_outbox_written()
        return current

    # ------------------------------------------------------------------------------ invoices

    async def generate_invoice(self, amount: int, description: str | None) -> Invoice:
        """A new UNPAID invoice with a fresh VA number (unique in the database; retried on collision)."""
        description = _clean(description)
        if description is not None and len(description) > DESCRIPTION_MAX:
            raise bad_input(f"description may have at most {DESCRIPTION_MAX} characters", field="description")
        if has_nul(description):
            raise bad_input("description must not contain a NUL character", field="description")
        for _ in range(VA_MAX_ATTEMPTS):
            now = utcnow()
            invoice = Invoice(
                va_number=new_va_number(),
                amount=amount,
                description=description,
                status=InvoiceStatus.UNPAID.value,
                created_at=now,
                expires_at=now + timedelta(seconds=self.config.invoice_ttl_s),
            )
            try:
                await self.db.write(lambda session, invoice=invoice: session.add(invoice))
            except IntegrityError:
                log.warning("VA number collision; drawing another")
                continue
            return invoice
        raise AppError(ErrorCode.INTERNAL, "Could not allocate a VA number")

    async def get_invoice(self, va_number: str) -> Invoice | None:
        if has_nul(va_number):
            return None
        va = va_number.strip()
        return await self.db.read(lambda session: session.get(Invoice, va))

    # ------------------------------------------------------------------------------- queries

    async def get(self, tx_id: str) -> Transaction:
        row = await self.find(tx_id)
        if row is None:
            raise not_found("Transaction not found")
        return row

    async def arrived_for(self, user_id: str, row: Transaction) -> bool:
        """A transfer to `user_id` still PENDING whose money the wallet has already credited: the
        receiver's wallet event (published at the wallet's commit, just before this saga records
        SUCCESS) may name it. Asked of the wallet only in that window; anything else is False."""
        if (
            row.type != TxType.TRANSFER.value
            or row.status != TxStatus.PENDING.value
            or row.step != SagaStep.DEBITING.value
            or row.to_user_id != user_id
            or row.user_id == user_id
        ):
            return False
        try:
            movements = await self.clients.wallet.movements_of(row.transaction_id)
        except AppError:
            return False
        return any(m.direction == "CREDIT" and m.wallet_id == row.to_wallet_id for m in movements)

    async def find(self, tx_id: str) -> Transaction | None:
        if has_nul(tx_id):
            return None
        return await self.db.read(lambda session: session.get(Transaction, tx_id))

    async def find_many(self, tx_ids: Sequence[str]) -> dict[str, Transaction]:
        tx_ids = [tx_id for tx_id in tx_ids if not has_nul(tx_id)]
        if not tx_ids:
            return {}
        query = select(Transaction).where(Transaction.transaction_id.in_(list(set(tx_ids))))
        return await self.db.read(
            lambda session: {row.transaction_id: row for row in session.execute(query).scalars()}
        )

    async def list(
        self,
        *,
        user_id: str | None,
        wallet_id: str | None = None,
        type: TxType | None = None,
        status: TxStatus | None = None,
        first: int | None = None,
        after: str | None = None,
        direction: str | None = None,
    ) -> list[Transaction]:
        """Newest first; `after` is the id of the last item of the previous page.

        With `user_id`: that user's own transactions (OUT) and the transfers they received (IN: a
        TRANSFER to them that moved money, SUCCESS or REVERSED); `direction` picks one side. With
        `wallet_id`: those that left that wallet and the transfers it received."""
        size = _page_size(first)
        if has_nul(after):
            raise bad_input("Unknown cursor in after", field="after")
        if direction is not None and direction not in ("IN", "OUT"):
            raise bad_input("direction must be IN or OUT", field="direction")
        if size == 0 or has_nul(user_id, wallet_id):
            return []
        visible = visibility(user_id, wallet_id, direction)
        query = select(Transaction).where(visible)
        if type is not None:
            query = query.where(Transaction.type == type.value)
        if status is not None:
            query = query.where(Transaction.status == status.value)

        def work(session: Session) -> list[Transaction]:
            page = query
            if after:
                anchor = session.execute(
                    select(Transaction.created_at, Transaction.transaction_id).where(
                        Transaction.transaction_id == after, visible
                    )
                ).first()
                if anchor is None:
                    raise bad_input("Unknown cursor in after", field="after")
                page = page.where(
                    older_than(Transaction.created_at, Transaction.transaction_id, anchor[0], anchor[1])
                )
            page = page.order_by(*newest_first(Transaction.created_at, Transaction.transaction_id))
            page = page.limit(size)
            return list(session.execute(page).scalars())

        return await self.db.read(work)

    async def notifications(self, tx_ids: Sequence[str]) -> dict[str, OutboxMessage]:
        """The marketplace notice of each transaction that has one."""
        if not tx_ids:
            return {}
        query = select(OutboxMessage).where(
            OutboxMessage.transaction_id.in_(list(set(tx_ids))),
            OutboxMessage.kind == OutboxKind.MARKETPLACE.value,
        )
        return await self.db.read(
            lambda session: {row.transaction_id: row for row in session.execute(query).scalars()}
        )

    async def outbox_messages(
        self, state: str | None, first: int | None, overdue: bool | None = None
    ) -> list[OutboxMessage]:
        """Newest first; `overdue`: only (or, False: no) messages undelivered for OUTBOX_OVERDUE_S."""
        size = _page_size(first)
        query = select(OutboxMessage)
        if state is not None:
            wanted = state.strip().upper()
            if wanted not in {s.value for s in OutboxState}:
                raise bad_input("state must be PENDING, DELIVERED or DEAD", field="state")
            query = query.where(OutboxMessage.state == wanted)
        if overdue is not None:
            condition = is_overdue(utcnow(), self.config.outbox_overdue_s)
            query = query.where(condition if overdue else ~condition)
        query = query.order_by(OutboxMessage.created_at.desc(), OutboxMessage.message_id.desc()).limit(size)
        return await self.db.read(lambda session: list(session.execute(query).scalars()))

    async def retry_outbox_message(self, message_id: str) -> OutboxMessage:
        """Put a DEAD (or failing) message back in the queue with a fresh retry horizon."""
        if has_nul(message_id):
            raise not_found("Outbox message not found")

        def work(session: Session) -> OutboxMessage:
            row = session.get(OutboxMessage, message_id, with_for_update=True)
            if row is None:
                raise not_found("Outbox message not found")
            if row.state != OutboxState.DELIVERED:
                now = utcnow()
                row.state = OutboxState.PENDING.value
                row.attempts = 0
                row.next_attempt_at = now
                row.deadline_at = now + timedelta(seconds=self.config.outbox_retry_horizon_s)
            return row

        row = await self.db.write(work)
        self.on_outbox_written()
        return row

    async def outbox_backlog(self) -> dict[str, int]:
        query = select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)
        return await self.db.read(
            lambda session: {str(state): int(count) for state, count in session.execute(query).all()}
        )

    async def drain(self) -> None:
        """Wait for sagas still running (shutdown)."""
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
