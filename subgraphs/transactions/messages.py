"""The outbox payloads: one frozen dataclass per `OutboxKind`, stored as JSON in `OutboxMessage.payload`.

The JSON is what the rows have always held, so rows already in a database decode: a flat camelCase
object written with `separators=(",", ":")`, the message's own keys first, then the trace context of
the request that wrote it (`traceparent`/`tracestate`, and `baggage` when the propagators add one:
whatever `shared.tracing.inject` put there) as further top-level keys. Decoding keeps those trace
keys in `trace`, so the delivery span joins that trace (`extract_from(message.trace)`).

    HISTORY      {"transactionId","userId","walletId","amount","type","status","vaNumber",
                  "occurredAt","direction","counterparty", ...trace}
    MARKETPLACE  {"vaNumber","status", ...trace}

Keys added later are optional when decoding, for the rows written before them: `direction` is
"OUT" when absent (or empty), `counterparty` and `vaNumber` are None; a marketplace `status` is
"PAID" when absent.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Self

from subgraphs.transactions.models import OutboxKind

_SEPARATORS = (",", ":")


class MessageError(ValueError):
    """A stored payload that cannot be decoded as its kind (bad JSON, a missing or mistyped key)."""


class UnknownMessageKind(MessageError):
    """An outbox row whose kind no message class handles."""


def _object(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MessageError(f"outbox payload is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise MessageError(f"outbox payload is not a JSON object but {type(data).__name__}")
    return data


def _required(data: Mapping[str, Any], key: str, accepts: Callable[[object], bool], what: str) -> Any:
    """`data[key]`, or MessageError when it is missing or not `what` (`accepts` says which is)."""
    if key not in data:
        raise MessageError(f"outbox payload lacks {key!r}")
    value = data[key]
    if not accepts(value):
        raise MessageError(f"outbox payload {key!r} is not {what}: {value!r}")
    return value


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _str(data: Mapping[str, Any], key: str) -> str:
    return str(_required(data, key, lambda value: isinstance(value, str), "a string"))


def _optional_str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise MessageError(f"outbox payload {key!r} is not a string or null: {value!r}")
    return value


def _int(data: Mapping[str, Any], key: str) -> int:
    return int(_required(data, key, _is_int, "an integer"))


def _trace(data: Mapping[str, Any], own: frozenset[str]) -> dict[str, str]:
    """The trace-context keys: every top-level string entry that is not one of the message's own."""
    return {key: value for key, value in data.items() if key not in own and isinstance(value, str)}


def _dumps(fields: dict[str, object], trace: Mapping[str, str]) -> str:
    return json.dumps({**fields, **trace}, separators=_SEPARATORS)


@dataclass(frozen=True)
class HistoryNotice:
    """`OutboxKind.HISTORY`: one audit entry for the history subgraph (`HistoryClient.add`)."""

    transaction_id: str
    user_id: str
    wallet_id: str
    amount_minor: int  # sen; "amount" in the JSON
    type: str
    status: str
    va_number: str | None
    occurred_at: datetime
    direction: str = "OUT"
    counterparty: str | None = None
    trace: dict[str, str] = field(default_factory=dict)

    KIND: ClassVar[OutboxKind] = OutboxKind.HISTORY
    _KEYS: ClassVar[frozenset[str]] = frozenset(
        (
            "transactionId",
            "userId",
            "walletId",
            "amount",
            "type",
            "status",
            "vaNumber",
            "occurredAt",
            "direction",
            "counterparty",
        )
    )

    def to_json(self) -> str:
        fields: dict[str, object] = {
            "transactionId": self.transaction_id,
            "userId": self.user_id,
            "walletId": self.wallet_id,
            "amount": self.amount_minor,
            "type": self.type,
            "status": self.status,
            "vaNumber": self.va_number,
            "occurredAt": self.occurred_at.isoformat(),
            "direction": self.direction,
            "counterparty": self.counterparty,
        }
        return _dumps(fields, self.trace)

    @classmethod
    def from_json(cls, text: str) -> Self:
        data = _object(text)
        occurred_at = _str(data, "occurredAt")
        try:
            when = datetime.fromisoformat(occurred_at)
        except ValueError as exc:
            raise MessageError(f"outbox payload 'occurredAt' is not an ISO time: {occurred_at!r}") from exc
        return cls(
            transaction_id=_str(data, "transactionId"),
            user_id=_str(data, "userId"),
            wallet_id=_str(data, "walletId"),
            amount_minor=_int(data, "amount"),
            type=_str(data, "type"),
            status=_str(data, "status"),
            va_number=_optional_str(data, "vaNumber"),
            occurred_at=when,
            direction=_optional_str(data, "direction") or "OUT",
            counterparty=_optional_str(data, "counterparty"),
            trace=_trace(data, cls._KEYS),
        )


@dataclass(frozen=True)
class MarketplaceNotice:
    """`OutboxKind.MARKETPLACE`: tell the marketplace a VA bill is paid (`update_payment_status`)."""

    va_number: str
    status: str = "PAID"
    trace: dict[str, str] = field(default_factory=dict)

    KIND: ClassVar[OutboxKind] = OutboxKind.MARKETPLACE
    _KEYS: ClassVar[frozenset[str]] = frozenset(("vaNumber", "status"))

    def to_json(self) -> str:
        return _dumps({"vaNumber": self.va_number, "status": self.status}, self.trace)

    @classmethod
    def from_json(cls, text: str) -> Self:
        data = _object(text)
        return cls(
            va_number=_str(data, "vaNumber"),
            status=_str(data, "status") if "status" in data else "PAID",
            trace=_trace(data, cls._KEYS),
        )


OutboxNotice = HistoryNotice | MarketplaceNotice


def decode(kind: str, text: str) -> HistoryNotice | MarketplaceNotice:
    """The message stored in an outbox row of `kind`; `UnknownMessageKind` for any other kind."""
    if kind == OutboxKind.HISTORY:
        return HistoryNotice.from_json(text)
    if kind == OutboxKind.MARKETPLACE:
        return MarketplaceNotice.from_json(text)
    known = ", ".join(k.value for k in OutboxKind)
    raise UnknownMessageKind(f"unknown outbox kind {kind!r} (known: {known})")
