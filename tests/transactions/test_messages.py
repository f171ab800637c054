"""The typed outbox messages: what is stored stays byte for byte what rows already hold, and decodes."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from opentelemetry import trace

from shared.tracing import extract_from
from subgraphs.transactions.messages import (
    HistoryNotice,
    MarketplaceNotice,
    MessageError,
    UnknownMessageKind,
    decode,
)
from subgraphs.transactions.models import OutboxKind
from subgraphs.transactions.workers import OutboxWorker, _Claimed

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
TRACE = {"traceparent": TRACEPARENT, "tracestate": "sawit=1"}
WHEN = datetime(2024, 5, 1, 3, 4, 5, 123456, tzinfo=UTC)

# Payloads exactly as `TransactionService._message` wrote them before the messages were typed
# (a settled PAYMENT with its marketplace notice, and a transfer's incoming entry, inside a trace).
STORED_HISTORY = (
    '{"transactionId":"tx-1","userId":"u-1","walletId":"w-1","amount":125000,"type":"PAYMENT",'
    '"status":"SUCCESS","vaNumber":"8808123456789012","occurredAt":"2024-05-01T03:04:05.123456+00:00",'
    '"direction":"OUT","counterparty":null,'
    '"traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01","tracestate":"sawit=1"}'
)
STORED_INCOMING = (
    '{"transactionId":"tx-1","userId":"u-2","walletId":"w-2","amount":125000,"type":"TRANSFER",'
    '"status":"SUCCESS","vaNumber":null,"occurredAt":"2024-05-01T03:04:05.123456+00:00",'
    '"direction":"IN","counterparty":"sari",'
    '"traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01","tracestate":"sawit=1"}'
)
STORED_MARKETPLACE = (
    '{"vaNumber":"8808123456789012","status":"PAID",'
    '"traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01","tracestate":"sawit=1"}'
)
STORED_UNTRACED_MARKETPLACE = '{"vaNumber":"8808123456789012","status":"PAID"}'


def history(**changes: Any) -> HistoryNotice:
    fields: dict[str, Any] = {
        "transaction_id": "tx-1",
        "user_id": "u-1",
        "wallet_id": "w-1",
        "amount_minor": 125000,
        "type": "PAYMENT",
        "status": "SUCCESS",
        "va_number": "8808123456789012",
        "occurred_at": WHEN,
        "direction": "OUT",
        "counterparty": None,
        "trace": dict(TRACE),
    }
    return HistoryNotice(**{**fields, **changes})


def test_each_kind_round_trips() -> None:
    for notice in (
        history(),
        history(direction="IN", counterparty="sari", va_number=None, trace={}),
        MarketplaceNotice(va_number="8808123456789012", trace=dict(TRACE)),
        MarketplaceNotice(va_number="DS-88001234567890", status="PAID"),
    ):
        assert type(notice).from_json(notice.to_json()) == notice
        assert decode(notice.KIND, notice.to_json()) == notice


def test_rows_stored_before_the_messages_were_typed_decode_to_the_same_fields_and_bytes() -> None:
    assert decode(OutboxKind.HISTORY.value, STORED_HISTORY) == history()
    incoming = decode("HISTORY", STORED_INCOMING)
    assert incoming == history(
        user_id="u-2", wallet_id="w-2", type="TRANSFER", va_number=None, direction="IN", counterparty="sari"
    )
    assert decode("MARKETPLACE", STORED_MARKETPLACE) == MarketplaceNotice("8808123456789012", "PAID", TRACE)
    untraced = decode("MARKETPLACE", STORED_UNTRACED_MARKETPLACE)
    assert untraced == MarketplaceNotice("8808123456789012") and untraced.trace == {}
    # What is written now is what was written then.
    for stored in (STORED_HISTORY, STORED_INCOMING, STORED_MARKETPLACE, STORED_UNTRACED_MARKETPLACE):
        kind = "MARKETPLACE" if stored.startswith('{"vaNumber"') else "HISTORY"
        assert decode(kind, stored).to_json() == stored


def test_the_stored_trace_context_is_the_delivery_spans_parent() -> None:
    parent = extract_from(decode("HISTORY", STORED_HISTORY).trace)
    assert parent is not None
    assert format(trace.get_current_span(parent).get_span_context().trace_id, "032x") == TRACEPARENT[3:35]
    assert extract_from(decode("MARKETPLACE", STORED_UNTRACED_MARKETPLACE).trace) is None


def test_an_old_row_without_the_optional_keys_decodes_with_their_defaults() -> None:
    old = (
        '{"transactionId":"tx-0","userId":"u-1","walletId":"w-1","amount":500,"type":"DEPOSIT",'
        '"status":"SUCCESS","occurredAt":"2023-12-31T23:59:59+00:00"}'
    )
    notice = decode("HISTORY", old)
    assert isinstance(notice, HistoryNotice)
    assert (notice.direction, notice.counterparty, notice.va_number, notice.trace) == ("OUT", None, None, {})
    assert notice.occurred_at == datetime(2023, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert decode("HISTORY", old.replace("}", ',"direction":null}')).direction == "OUT"
    assert decode("MARKETPLACE", '{"vaNumber":"DS-88001234567890"}') == MarketplaceNotice("DS-88001234567890")


def test_an_unknown_kind_or_a_broken_payload_raises_a_clear_error() -> None:
    with pytest.raises(UnknownMessageKind, match="unknown outbox kind 'EMAIL'"):
        decode("EMAIL", STORED_MARKETPLACE)
    with pytest.raises(MessageError, match="lacks 'occurredAt'"):
        decode("HISTORY", STORED_MARKETPLACE)
    with pytest.raises(MessageError, match="'amount' is not an integer"):
        decode("HISTORY", STORED_HISTORY.replace('"amount":125000', '"amount":"125000"'))
    with pytest.raises(MessageError, match="not JSON"):
        decode("MARKETPLACE", "{")


class _Recorder:
    def __init__(self, answer: bool = True) -> None:
        self.calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
        self.answer = answer

    async def add(self, *args: Any, **kwargs: Any) -> str:
        self.calls.append((args, kwargs))
        return "h-1"

    async def update_payment_status(self, *args: Any, **kwargs: Any) -> bool:
        self.calls.append((args, kwargs))
        return self.answer


async def test_the_worker_delivers_each_kind_to_its_receiver() -> None:
    history_client, marketplace = _Recorder(), _Recorder(answer=False)
    clients: Any = SimpleNamespace(history=history_client, marketplace=marketplace)
    unused: Any = None  # delivering one claimed message needs neither the database nor the config
    worker = OutboxWorker(database=unused, clients=clients, config=unused)

    def claimed(kind: str, payload: str) -> _Claimed:
        return _Claimed("m-1", "tx-1", kind, payload, 0)

    assert await worker._deliver_bounded(claimed("HISTORY", STORED_INCOMING)) is None
    incoming = history(
        user_id="u-2", wallet_id="w-2", type="TRANSFER", va_number=None, direction="IN", counterparty="sari"
    )
    assert history_client.calls == [((incoming,), {})]
    outcome = await worker._deliver_bounded(claimed("MARKETPLACE", STORED_MARKETPLACE))
    assert outcome == "not acknowledged: the marketplace answered false"
    assert marketplace.calls == [
        (("8808123456789012", "PAID"), {"idempotency_key": "m-1", "transaction_id": "tx-1"})
    ]
    outcome = await worker._deliver_bounded(claimed("EMAIL", STORED_MARKETPLACE))
    assert outcome is not None and outcome.startswith("UnknownMessageKind: unknown outbox kind 'EMAIL'")
