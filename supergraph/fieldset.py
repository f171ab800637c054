"""Parse federation field sets (`@key(fields:)`, `@requires`, `@provides`) into selection ASTs."""

from __future__ import annotations

from functools import lru_cache

from graphql import FieldNode, GraphQLError, InlineFragmentNode, SelectionSetNode
from graphql.language.parser import Parser
from graphql.language.token_kind import TokenKind


@lru_cache(maxsize=4096)
def parse_field_set(field_set: str) -> SelectionSetNode:
    """Field sets are selection sets without braces; parsing them once keeps planning cheap."""
    parser = Parser("{" + field_set + "}", no_location=True)
    parser.expect_token(TokenKind.SOF)
    return parser.parse_selection_set()


def top_level_field_names(field_set: str) -> list[str]:
    """The first-level field names of a field set (e.g. the fields a key reads on its own type)."""
    names: list[str] = []
    for selection in parse_field_set(field_set).selections:
        if isinstance(selection, FieldNode):
            names.append(selection.name.value)
        elif isinstance(selection, InlineFragmentNode):
            continue
        else:
            raise GraphQLError(f"Unsupported selection in field set {field_set!r}")
    return names
