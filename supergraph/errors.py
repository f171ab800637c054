"""Every exception the router raises, in one tree (as httpx's `_exceptions.py`), so a caller can
catch a whole family: `SupergraphLoadError` (nothing to serve yet), `RequestError` (a client's
request refused with a code), `ExecutionError` (a request that was accepted but could not run).

    RouterError
    ├── SupergraphLoadError
    │   ├── ConfigError          the Rover config is missing or malformed, or an SDL could not be read
    │   ├── CompositionError     the subgraphs do not compose
    │   └── SupergraphError      a supergraph SDL the router cannot (or must not) serve
    ├── RequestError             a request-level failure: no data, errors sharing one code
    │   └── PersistedQueryError  an APQ protocol error
    └── ExecutionError
        ├── PlanningError        valid for the API schema, but no subgraph combination resolves it
        ├── SubgraphUnavailable  a subgraph could not be reached, timed out, or answered non-GraphQL
        └── StreamError          a subscription ended with GraphQL errors
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class RouterError(Exception):
    """The root of the router's exceptions."""


class SupergraphLoadError(RouterError):
    """There is no supergraph to serve (yet)."""


class ConfigError(SupergraphLoadError):
    """The Rover config is missing, malformed, or a subgraph SDL could not be obtained."""


class CompositionError(SupergraphLoadError):
    """Composition failed; `errors` lists every problem found (each names subgraphs, types, fields)."""

    def __init__(self, errors: Sequence[str]) -> None:
        super().__init__("composition failed:\n" + "\n".join(f"- {e}" for e in errors))
        self.errors = list(errors)


class SupergraphError(SupergraphLoadError):
    """A supergraph SDL the router cannot (or must not) serve."""


class RequestError(RouterError):
    """A request-level failure: no data, errors sharing one code."""

    def __init__(
        self, message: str, code: str, status: int = 400, more_messages: tuple[str, ...] = ()
    ) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.messages = (message, *more_messages)


class PersistedQueryError(RequestError):
    """An APQ protocol error; `code` goes to `extensions.code`."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message, code)


class ExecutionError(RouterError):
    """An accepted request that could not run (or finish)."""


class PlanningError(ExecutionError):
    """The operation is valid for the API schema but no subgraph combination can resolve it."""


class SubgraphUnavailable(ExecutionError):
    """The subgraph could not be reached, timed out, or answered something that is not GraphQL."""


class StreamError(ExecutionError):
    """A subscription ended with GraphQL errors (the subgraph's, or the router's own)."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors[0]["message"] if errors else "subscription failed")
        self.errors = errors
