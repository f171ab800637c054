"""The Strawberry federation schema every subgraph builds: Federation v2 plus our error codes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.federation.schema import FederationAny
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext, Info

from shared.errors import AppError, ErrorCode
from shared.graphql_errors import ErrorCodes, _root_cause
from shared.money import MONEY_SCALAR, Money


class SubgraphSchema(strawberry.federation.Schema):
    """Logs only unexpected errors; a client's AppError (e.g. INSUFFICIENT_FUNDS) is not a fault."""

    def entities_resolver(self, info: Info, representations: list[FederationAny]) -> list[FederationAny]:
        """Strawberry's, but a representation that is not one of our entities (a missing or unknown
        `__typename`) is a BAD_USER_INPUT for that item, not an INTERNAL KeyError for all."""
        known: list[FederationAny] = []
        refused: dict[int, AppError] = {}
        for index, representation in enumerate(representations):
            name = representation.get("__typename") if isinstance(representation, dict) else None
            type_ = self.schema_converter.type_map.get(name) if isinstance(name, str) else None
            if type_ is None or not hasattr(type_, "definition"):
                refused[index] = AppError(
                    ErrorCode.BAD_USER_INPUT, f"{name!r} is not an entity of this subgraph"
                )
            else:
                known.append(representation)
        if not refused:
            return super().entities_resolver(info, representations)
        resolved = iter(super().entities_resolver(info, known) if known else [])
        return [refused[i] if i in refused else next(resolved) for i in range(len(representations))]  # type: ignore[misc]

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        unexpected = [error for error in errors if not isinstance(_root_cause(error), AppError)]
        unexpected = [error for error in unexpected if error.path is not None]
        if unexpected:
            super().process_errors(unexpected, execution_context)


def build_schema(
    query: type, mutation: type | None = None, types: Iterable[type] = (), **kwargs: Any
) -> SubgraphSchema:
    config = kwargs.pop("config", None) or StrawberryConfig()
    config.scalar_map = {**config.scalar_map, Money: MONEY_SCALAR}
    return SubgraphSchema(
        config=config,
        query=query,
        mutation=mutation,
        types=list(types),
        # The router sends the same few operations again and again: parse and validate each once.
        extensions=[ErrorCodes, lambda: ParserCache(maxsize=256), lambda: ValidationCache(maxsize=256)],
        **kwargs,
    )
