"""Operation limits: what a document may cost before anything runs (depth, aliases, root fields, tokens).

One module for every process: the router checks a client's document (ROUTER_MAX_*) and every
subgraph checks whatever reaches it (SUBGRAPH_MAX_*), so a subgraph called directly defends itself
the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    Source,
)
from graphql.language.lexer import Lexer
from graphql.language.token_kind import TokenKind


@dataclass(frozen=True)
class Limits:
    """Upper bounds per operation; 0 disables a bound."""

    max_depth: int = 15
    max_aliases: int = 30
    max_root_fields: int = 20
    max_tokens: int = 5000
    setting_prefix: str = "ROUTER_"  # names the settings in the messages


class LimitExceeded(Exception):
    """A limit was crossed; `code` goes to `extensions.code`."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def check_tokens(query: str, max_tokens: int, setting_prefix: str = "ROUTER_") -> None:
    """Count lexical tokens before parsing, so huge documents cost little."""
    if max_tokens <= 0:
        return
    lexer = Lexer(Source(query))
    count = 0
    try:
        while lexer.advance().kind != TokenKind.EOF:
            count += 1
            if count > max_tokens:
                raise LimitExceeded(
                    f"Document has more than {max_tokens} tokens (limit {setting_prefix}MAX_TOKENS)",
                    "MAX_TOKENS_EXCEEDED",
                )
    except LimitExceeded:
        raise
    except Exception:  # noqa: BLE001 - a lexing error is reported by the parser right after
        return


Fragments = Mapping[str, FragmentDefinitionNode]


def selected_fields(
    selection_set: SelectionSetNode | None, fragments: Fragments, visited: frozenset[str] = frozenset()
) -> list[tuple[FieldNode, frozenset[str]]]:
    """The fields a selection set selects at its own level (none for a leaf's None), inline
    fragments and fragment spreads opened, each with the fragments opened on the way to it. A
    fragment already opened on that path is not opened again, so a cycle (in a document nobody has
    validated yet) ends instead of recursing for ever.

    A list filled by one recursive walk, with plain loops over it below: a chain of generators
    (`yield from` per fragment, a generator expression per level) made the checks about twice as
    slow, and they run on every document the router or a subgraph has not seen yet."""
    found: list[tuple[FieldNode, frozenset[str]]] = []
    _collect(selection_set, fragments, visited, found)
    return found


def _collect(
    selection_set: SelectionSetNode | None,
    fragments: Fragments,
    visited: frozenset[str],
    found: list[tuple[FieldNode, frozenset[str]]],
) -> None:
    for selection in selection_set.selections if selection_set is not None else ():
        if isinstance(selection, FieldNode):
            found.append((selection, visited))
        elif isinstance(selection, InlineFragmentNode):
            _collect(selection.selection_set, fragments, visited, found)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is not None and name not in visited:
                _collect(fragment.selection_set, fragments, visited | {name}, found)


def _depth(selection_set: SelectionSetNode | None, fragments: Fragments, visited: frozenset[str]) -> int:
    """Fields nested in fields, introspection (`__*`) not counted."""
    deepest = 0
    for field, path in selected_fields(selection_set, fragments, visited):
        if not field.name.value.startswith("__"):
            deepest = max(deepest, 1 + _depth(field.selection_set, fragments, path))
    return deepest


def _aliases(selection_set: SelectionSetNode | None, fragments: Fragments, visited: frozenset[str]) -> int:
    """Aliased fields at every level."""
    total = 0
    for field, path in selected_fields(selection_set, fragments, visited):
        total += (1 if field.alias else 0) + _aliases(field.selection_set, fragments, path)
    return total


def check_operation(operation: OperationDefinitionNode, fragments: Fragments, limits: Limits) -> None:
    """Raise LimitExceeded for the first bound the operation crosses."""
    if limits.max_depth > 0:
        depth = _depth(operation.selection_set, fragments, frozenset())
        if depth > limits.max_depth:
            raise LimitExceeded(
                f"Query depth {depth} exceeds the maximum of {limits.max_depth}", "MAX_DEPTH_EXCEEDED"
            )
    if limits.max_aliases > 0:
        aliases = _aliases(operation.selection_set, fragments, frozenset())
        if aliases > limits.max_aliases:
            raise LimitExceeded(
                f"Query uses {aliases} aliases; the maximum is {limits.max_aliases}", "MAX_ALIASES_EXCEEDED"
            )
    if limits.max_root_fields > 0:
        roots = len(selected_fields(operation.selection_set, fragments))
        if roots > limits.max_root_fields:
            raise LimitExceeded(
                f"Query selects {roots} root fields; the maximum is {limits.max_root_fields}",
                "MAX_ROOT_FIELDS_EXCEEDED",
            )
