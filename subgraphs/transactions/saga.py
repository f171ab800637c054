"""The payment saga (README: "The payment saga"): create -> fraud -> VA -> debit -> settle, and
the compare-and-set that records a final status with its outbox rows.

A saga's state is written to our own database before every network call, so a crash at any point
leaves a row that says how far it got:

    RECORDED --fraud ok--> [CHECKED --VA ok-->] DEBITING --wallet answered--> DONE (final status)

Money may have moved only once a row reached DEBITING. From there the saga never reports FAILED
unless the wallet definitely refused; when the wallet is unreachable (or answered ambiguously) the
row stays PENDING and recovery (recovery.py) settles it later from the wallet's ledger
(`movementsOf`) or by re-issuing the same idempotent movement (same transaction id). A VA is claimed
in `va_payments` (primary key = VA number) in the same local transaction that moves a PAYMENT to
DEBITING, and the claim is released only when the debit definitely failed. Every final status
writes its outbox rows (outbox_rows.py) in the same local transaction.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.clock import utcnow
from shared.errors import AppError, ErrorCode, bad_input
from shared.tokens import Principal
from shared.tracing import span, traced
from subgraphs.transactions.inputs import CreateTransactionInput, normalise_input, request_hash
from subgraphs.transactions.invoices import Invoices, invoice_failure
from subgraphs.transactions.models import (
    Invoice,
    InvoiceStatus,
    SagaStep,
    Transaction,
    TxStatus,
    TxType,
    VaPayment,
)
from subgraphs.transactions.queries import Queries
from subgraphs.transactions.recipients import Recipients
from subgraphs.transactions.records import TransactionRecord
from subgraphs.transactions.rules import AMBIGUOUS_CODES, DESCRIPTION_MAX, Failure, locked
from subgraphs.transactions.wiring import JobDeps

log = logging.getLogger(__name__)

# A transfer's receiver as recorded: (wallet id, user id, username); deposits and payments have none.
Receiver = tuple[str | None, str | None, str | None]


def _new_row(
    principal: Principal, inp: CreateTransactionInput, digest: str, receiver: Receiver
) -> Transaction:
    """The saga's first row: PENDING, RECORDED, nothing asked of anyone yet."""
    now = utcnow()
    to_wallet_id, to_user_id, to_username = receiver
    return Transaction(
        transaction_id=str(uuid.uuid4()),
        user_id=principal.subject,
        wallet_id=inp.wallet_id,
        to_wallet_id=to_wallet_id,
        to_user_id=to_user_id,
        to_username=to_username,
        user_username=principal.username,
        amount_minor=inp.amount_minor,
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


class Saga:
    """Runs one saga per createTransaction call; recovery resumes the ones a crash interrupted.

    `deps.inflight`: the ids of sagas (and reversals) running in this process, shared with recovery
    so it leaves them alone. `after_debit`: called once the wallet moved a transaction's money and
    before SUCCESS is recorded (app.py's test-only crash hook; a no-op otherwise)."""

    def __init__(
        self,
        deps: JobDeps,
        *,
        recipients: Recipients,
        queries: Queries,
        invoices: Invoices,
        after_debit: Callable[[TransactionRecord], None],
    ) -> None:
        self.deps = deps
        self.db = deps.database
        self.clients = deps.clients
        self.recipients = recipients
        self.queries = queries
        self.invoices = invoices
        self.after_debit = after_debit
        self._tasks: set[asyncio.Task[TransactionRecord]] = set()
        self._waiters: dict[str, asyncio.Future[None]] = {}

    async def create(
        self, principal: Principal, raw: CreateTransactionInput, *, client: str | None = None
    ) -> TransactionRecord:
        """Run the saga for one createTransaction call; returns the transaction as it stands.

        `client`: the caller's address, one of the keys `toUsername` lookups are throttled by."""
        inp = normalise_input(raw)
        digest = request_hash(inp)
        user_id = principal.subject
        if inp.idempotency_key is not None:
            existing = await self._by_key(user_id, inp.idempotency_key)
            if existing is not None:
                return await self._replay(existing, digest)
        tx = _new_row(principal, inp, digest, await self._receiver(inp, user_id, client))
        record = TransactionRecord.of(tx)
        # Registered before the row is visible: recovery leaves it alone, and a concurrent replay
        # of the same idempotency key waits for this saga's outcome instead of seeing PENDING.
        tx_id = tx.transaction_id
        self.deps.inflight.add(tx_id)
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
        task = asyncio.create_task(self._run(record))
        self._tasks.add(task)
        task.add_done_callback(self._saga_done)
        return await asyncio.shield(task)

    async def _receiver(self, inp: CreateTransactionInput, user_id: str, client: str | None) -> Receiver:
        """Who a transfer pays, found before anything is recorded (a lookup failure moves and records
        nothing): by username, or the owner of `toWalletId` when it can be found (best effort)."""
        if inp.type is not TxType.TRANSFER:
            return inp.to_wallet_id, None, None
        if inp.to_username is not None:
            keys = (f"user:{user_id}", f"client:{client or 'unknown'}")
            recipient = await self.recipients.by_username(inp.to_username, throttle_keys=keys)
            if recipient.wallet_id == inp.wallet_id:
                raise bad_input("A TRANSFER needs two different wallets", field="toUsername")
            return recipient.wallet_id, recipient.user_id, recipient.username
        found = await self.recipients.owner_of_wallet(inp.to_wallet_id or "")
        to_user_id, to_username = found if found is not None else (None, None)
        return inp.to_wallet_id, to_user_id, to_username

    def _release(self, tx_id: str) -> None:
        self.deps.inflight.discard(tx_id)
        waiter = self._waiters.pop(tx_id, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _saga_done(self, task: asyncio.Task[TransactionRecord]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("saga failed unexpectedly; recovery will settle it", exc_info=task.exception())

    async def _replay(self, existing: TransactionRecord, digest: str) -> TransactionRecord:
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
            return await self.queries.get(existing.transaction_id)
        return existing

    async def _by_key(self, user_id: str, key: str) -> TransactionRecord | None:
        query = select(Transaction).where(Transaction.user_id == user_id, Transaction.idempotency_key == key)

        def work(session: Session) -> TransactionRecord | None:
            row = session.execute(query).scalar_one_or_none()
            return None if row is None else TransactionRecord.of(row)

        return await self.db.read(work)

    async def _run(self, tx: TransactionRecord) -> TransactionRecord:
        try:
            return await self._saga(tx)
        finally:
            self._release(tx.transaction_id)

    async def _saga(self, tx: TransactionRecord) -> TransactionRecord:
        tx_id = tx.transaction_id
        # Step 2: fraud. Nothing has moved yet, so an unreachable fraud service is a safe FAILED.
        try:
            with span("saga.fraud_check"):
                verdict = await self.clients.fraud.check(tx)
        except AppError as exc:
            code = ErrorCode.SUBGRAPH_UNAVAILABLE if exc.code in AMBIGUOUS_CODES else exc.code
            return await self.finish(
                tx_id,
                TxStatus.FAILED,
                Failure(code, f"Fraud check failed: {exc.message}"),
                expect=(SagaStep.RECORDED,),
            )
        if verdict.is_fraud:
            return await self.finish(
                tx_id,
                TxStatus.REJECTED,
                Failure(ErrorCode.FRAUD_REJECTED, verdict.reason or "Rejected by the fraud check"),
                expect=(SagaStep.RECORDED,),
                fraud_status=verdict.status,
            )
        flagged = verdict.is_suspicious

        # Step 3: a PAYMENT's VA must be payable (our invoice, then the marketplace's order).
        if tx.type == TxType.PAYMENT:
            if not await self._advance(tx_id, SagaStep.RECORDED, SagaStep.CHECKED, flagged, verdict.status):
                return await self.queries.get(tx_id)
            failure = await self.invoices.validate_va(tx)
            if failure is not None:
                return await self.finish(tx_id, TxStatus.FAILED, failure, expect=(SagaStep.CHECKED,))

        # Step 4a: DEBITING (+ the VA claim) committed before the wallet is called.
        entered = await self._enter_debit(tx_id, flagged, verdict.status)
        if isinstance(entered, Failure):
            return await self.finish(
                tx_id, TxStatus.FAILED, entered, expect=(SagaStep.RECORDED, SagaStep.CHECKED)
            )
        if entered is None:
            return await self.queries.get(tx_id)
        # Step 4b: the money (to the merchant the claim recorded), then step 5.
        return await self.debit_and_settle(entered)

    @traced("saga.advance")
    async def _advance(
        self, tx_id: str, expect: SagaStep, to: SagaStep, flagged: bool, fraud_status: str
    ) -> bool:
        """Move a PENDING row from step `expect` to `to`; False when it is no longer there."""

        def work(session: Session) -> bool:
            row = locked(session, tx_id)
            if row.status != TxStatus.PENDING or row.step != expect:
                return False
            row.step = to.value
            row.flagged = flagged
            row.fraud_status = fraud_status
            row.updated_at = utcnow()
            return True

        return await self.db.write(work)

    @traced("saga.enter_debit")
    async def _enter_debit(
        self, tx_id: str, flagged: bool, fraud_status: str
    ) -> TransactionRecord | Failure | None:
        """Move to DEBITING (claiming a PAYMENT's VA) in one local transaction: the row as it now
        stands (a PAYMENT's with its invoice's merchant), a Failure, or None if settled elsewhere."""

        def work(session: Session) -> TransactionRecord | Failure | None:
            row = locked(session, tx_id)
            if row.status != TxStatus.PENDING or row.step not in (SagaStep.RECORDED, SagaStep.CHECKED):
                return None
            if row.type == TxType.PAYMENT:
                va = row.va_number or ""
                invoice = session.get(Invoice, va, with_for_update=True)
                claim = session.get(VaPayment, va)
                failure = invoice_failure(invoice, claim, row.amount_minor)
                if failure is not None:
                    return failure
                session.add(VaPayment(va_number=va, transaction_id=row.transaction_id, created_at=utcnow()))
                session.flush()
                row.merchant_id = invoice.merchant_id if invoice is not None else None
            row.step = SagaStep.DEBITING.value
            row.flagged = flagged
            row.fraud_status = fraud_status
            row.updated_at = utcnow()
            return TransactionRecord.of(row)

        try:
            return await self.db.write(work)
        except IntegrityError:
            # Another transaction claimed this VA between our check and our insert.
            return Failure(ErrorCode.VA_ALREADY_PAID, "This VA is already paid")

    @traced("saga.move_money")
    async def _move_money(self, tx: TransactionRecord) -> str | None:
        """The wallet call of this transaction type; idempotent by the transaction id. Returns a
        transfer's receiver (the owner of the credited wallet, as the wallet says)."""
        wallet = self.clients.wallet
        if tx.type == TxType.DEPOSIT:
            await wallet.topup(tx)
        elif tx.type == TxType.PAYMENT:
            await wallet.deduct(tx)
        else:
            moved = await wallet.transfer(tx)
            return moved.credit.owner_id
        return None

    async def debit_and_settle(self, tx: TransactionRecord) -> TransactionRecord:
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
            return await self.finish(tx_id, TxStatus.FAILED, failure, expect=(SagaStep.DEBITING,))
        # Money moved, SUCCESS not yet recorded: the window a crash hurts most (tests inject one here).
        self.after_debit(tx)
        return await self.finish(
            tx_id, TxStatus.SUCCESS, None, expect=(SagaStep.DEBITING,), receiver=receiver
        )

    async def _note_unavailable(self, tx_id: str, exc: AppError) -> TransactionRecord:
        def work(session: Session) -> TransactionRecord:
            row = locked(session, tx_id)
            if row.status == TxStatus.PENDING:
                row.failure_code = ErrorCode.SUBGRAPH_UNAVAILABLE.value
                row.failure_message = (
                    "The wallet did not confirm the movement; the transaction is settled automatically "
                    "once the wallet answers"
                )[:DESCRIPTION_MAX]
                row.updated_at = utcnow()
            return TransactionRecord.of(row)

        record = await self.db.write(work)
        # Logged here, on the event loop, so the line keeps the request id (a context variable).
        log.warning("transaction %s left PENDING: %s", tx_id, exc.message)
        return record

    @traced("saga.finish")
    async def finish(
        self,
        tx_id: str,
        status: TxStatus,
        failure: Failure | None,
        *,
        expect: Sequence[SagaStep],
        fraud_status: str | None = None,
        receiver: str | None = None,
    ) -> TransactionRecord:
        """Record a final status with its outbox rows in one local transaction (compare-and-set).
        `receiver`: a transfer's receiver as the wallet reported it (kept when not known before)."""

        def work(session: Session) -> tuple[TransactionRecord, bool]:
            """The row as it stands, and whether this call settled it (and wrote outbox rows)."""
            row = locked(session, tx_id)
            if row.status != TxStatus.PENDING or row.step not in {step.value for step in expect}:
                return TransactionRecord.of(row), False
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
                _settle_va(session, row.transaction_id, row.va_number, status, now)
            self.deps.outbox_rows.write(session, row, status, now)
            return TransactionRecord.of(row), True

        return await self.deps.write_final(work)

    async def drain(self) -> None:
        """Wait for sagas still running (shutdown)."""
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


def _settle_va(session: Session, tx_id: str, va: str, status: TxStatus, now: datetime) -> None:
    """A settled PAYMENT's VA: its invoice PAID on SUCCESS; otherwise its claim released."""
    if status is TxStatus.SUCCESS:
        invoice = session.get(Invoice, va, with_for_update=True)
        if invoice is not None:
            invoice.status = InvoiceStatus.PAID.value
            invoice.paid_at = now
            invoice.paid_by_transaction_id = tx_id
    else:
        session.execute(delete(VaPayment).where(VaPayment.va_number == va, VaPayment.transaction_id == tx_id))
