"""The one list of error codes clients see in `extensions.code`, and the exception that carries one."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    """Every code a subgraph can send a client (the router adds its own: supergraph/README.md)."""

    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    BAD_USER_INPUT = "BAD_USER_INPUT"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS"
    WALLET_FROZEN = "WALLET_FROZEN"
    WALLET_CLOSED = "WALLET_CLOSED"
    LIMIT_EXCEEDED = "LIMIT_EXCEEDED"
    FRAUD_REJECTED = "FRAUD_REJECTED"
    VA_NOT_FOUND = "VA_NOT_FOUND"
    VA_AMOUNT_MISMATCH = "VA_AMOUNT_MISMATCH"
    VA_ALREADY_PAID = "VA_ALREADY_PAID"
    VA_EXPIRED = "VA_EXPIRED"
    NOTHING_TO_SETTLE = "NOTHING_TO_SETTLE"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    RATE_LIMITED = "RATE_LIMITED"
    SUBGRAPH_UNAVAILABLE = "SUBGRAPH_UNAVAILABLE"
    MARKETPLACE_UNAVAILABLE = "MARKETPLACE_UNAVAILABLE"
    GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
    GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
    INTERNAL = "INTERNAL"


KNOWN_CODES: frozenset[str] = frozenset(code.value for code in ErrorCode)


class AppError(Exception):
    """A failure the client may see: a code from `ErrorCode`, a plain message, optional details."""

    def __init__(self, code: ErrorCode, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details

    def extensions(self) -> dict[str, Any]:
        return {"code": self.code.value, **self.details}

    def __repr__(self) -> str:
        return f"AppError({self.code.value}, {self.message!r})"


def bad_input(message: str, **details: Any) -> AppError:
    return AppError(ErrorCode.BAD_USER_INPUT, message, **details)


def not_found(message: str = "Not found", **details: Any) -> AppError:
    return AppError(ErrorCode.NOT_FOUND, message, **details)


def forbidden(message: str = "Forbidden", **details: Any) -> AppError:
    return AppError(ErrorCode.FORBIDDEN, message, **details)


def unauthenticated(message: str = "Authentication required") -> AppError:
    return AppError(ErrorCode.UNAUTHENTICATED, message)
