"""Invoices (VAs): issuing one with a fresh VA number, reading one, and whether a VA can be paid
(our invoice, its claim, then the marketplace's order), which the saga asks before it debits."""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.clock import as_utc, utcnow
from shared.db import Database, has_nul
from shared.errors import AppError, ErrorCode, bad_input
from shared.money import format_minor
from shared.tracing import traced
from subgraphs.transactions.clients import Clients
from subgraphs.transactions.config import TransactionsConfig
from subgraphs.transactions.models import Invoice, InvoiceStatus, VaPayment
from subgraphs.transactions.records import InvoiceRecord, TransactionRecord
from subgraphs.transactions.rules import DESCRIPTION_MAX, Failure, clean

log = logging.getLogger(__name__)

VA_PREFIX = "DS-8800"
VA_RANDOM_DIGITS = 10
VA_MAX_ATTEMPTS = 8


def new_va_number() -> str:
    return f"{VA_PREFIX}{secrets.randbelow(10**VA_RANDOM_DIGITS):0{VA_RANDOM_DIGITS}d}"


def invoice_status(invoice: Invoice | InvoiceRecord, now: datetime | None = None) -> InvoiceStatus:
    """UNPAID invoices past their expiry read as EXPIRED."""
    if invoice.status == InvoiceStatus.UNPAID and as_utc(invoice.expires_at) <= (now or utcnow()):
        return InvoiceStatus.EXPIRED
    return InvoiceStatus(invoice.status)


def invoice_failure(invoice: Invoice | None, claim: VaPayment | None, amount_minor: int) -> Failure | None:
    """Why a payment of `amount_minor` (sen) cannot claim this VA (checked before the debit and again, locked,
    when the saga claims it), or None."""
    if invoice is None:
        return Failure(ErrorCode.VA_NOT_FOUND, "No bill with this VA number")
    status = invoice_status(invoice)
    if status is InvoiceStatus.PAID or claim is not None:
        return Failure(ErrorCode.VA_ALREADY_PAID, "This VA is already paid")
    if status is InvoiceStatus.EXPIRED:
        return Failure(ErrorCode.VA_EXPIRED, "This VA has expired")
    if invoice.amount_minor != amount_minor:
        bill = format_minor(invoice.amount_minor)
        return Failure(
            ErrorCode.VA_AMOUNT_MISMATCH,
            f"The amount {format_minor(amount_minor)} does not equal the bill's {bill}",
        )
    return None


class Invoices:
    """Issues and reads invoices; `validate_va` is the saga's step 3."""

    def __init__(self, *, database: Database, clients: Clients, config: TransactionsConfig) -> None:
        self.db = database
        self.clients = clients
        self.config = config

    async def generate_invoice(self, amount_minor: int, description: str | None) -> InvoiceRecord:
        """A new UNPAID invoice with a fresh VA number (unique in the database; retried on collision)."""
        description = clean(description)
        if description is not None and len(description) > DESCRIPTION_MAX:
            raise bad_input(f"description may have at most {DESCRIPTION_MAX} characters", field="description")
        if has_nul(description):
            raise bad_input("description must not contain a NUL character", field="description")
        for _ in range(VA_MAX_ATTEMPTS):
            now = utcnow()
            invoice = Invoice(
                va_number=new_va_number(),
                amount_minor=amount_minor,
                merchant_id=self.config.merchant_id,
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
            return InvoiceRecord.of(invoice)
        raise AppError(ErrorCode.INTERNAL, "Could not allocate a VA number")

    async def get_invoice(self, va_number: str) -> InvoiceRecord | None:
        if has_nul(va_number):
            return None
        va = va_number.strip()

        def work(session: Session) -> InvoiceRecord | None:
            invoice = session.get(Invoice, va)
            return None if invoice is None else InvoiceRecord.of(invoice)

        return await self.db.read(work)

    @traced("saga.validate_va")
    async def validate_va(self, tx: TransactionRecord) -> Failure | None:
        va = tx.va_number or ""
        if va.upper().startswith("OFFLINE-"):
            return Failure(ErrorCode.VA_NOT_FOUND, "This VA was not issued by this wallet; it cannot be paid")
        failure = await self.db.read(
            lambda session: invoice_failure(
                session.get(Invoice, va), session.get(VaPayment, va), tx.amount_minor
            )
        )
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
        if order.total_minor != tx.amount_minor:
            return Failure(
                ErrorCode.VA_AMOUNT_MISMATCH,
                f"The amount {format_minor(tx.amount_minor)} does not equal the order's total",
            )
        if order.is_paid:
            return Failure(ErrorCode.VA_ALREADY_PAID, "The marketplace order is already paid")
        return None
