"""The Strawberry extension that gives every error an `extensions.code` and never leaks internals.

An AppError keeps its message and code. A parse or validation failure gets the matching code.
Anything else (a bug, a database error) is replaced by a plain "Internal server error" with code
INTERNAL (the schema's `process_errors` logs the traceback), so no stack trace or SQL reaches a client.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from shared.errors import AppError, ErrorCode


def _root_cause(error: GraphQLError) -> BaseException | None:
    original: BaseException | None = error.original_error
    while isinstance(original, GraphQLError) and original.original_error is not None:
        original = original.original_error
    return original


def format_error(error: GraphQLError) -> GraphQLError:
    """One error in our shape: message safe for clients, `extensions.code` from the one list."""
    cause = _root_cause(error)
    extensions = dict(error.extensions or {})
    message = error.message
    if isinstance(cause, AppError):
        extensions.update(cause.extensions())
        if error.path is not None:
            message = cause.message
    elif error.path is None:
        if message.startswith("Syntax Error"):
            extensions.setdefault("code", ErrorCode.GRAPHQL_PARSE_FAILED.value)
        elif cause is not None or message.startswith("Variable "):
            extensions.setdefault("code", ErrorCode.BAD_USER_INPUT.value)
        else:
            extensions.setdefault("code", ErrorCode.GRAPHQL_VALIDATION_FAILED.value)
    elif cause is None and "code" in extensions:
        pass
    else:
        message = "Internal server error"
        extensions = {"code": ErrorCode.INTERNAL.value}
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
        extensions=extensions,
    )


class ErrorCodes(SchemaExtension):
    """Applies `format_error` to every error of every operation."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        errors = getattr(result, "errors", None)
        if result is not None and errors:
            result.errors = [format_error(error) for error in errors]

    def on_stream_result(self, result: Any) -> Iterator[None]:
        """The same for each result of a stream (a subscription's events, over graphql-transport-ws):
        `on_operation` sees only the operation's final result, never the events sent before it."""
        errors = getattr(result, "errors", None)
        if errors:
            result.errors = [format_error(error) for error in errors]
        yield
