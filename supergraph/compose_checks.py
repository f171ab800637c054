"""Composition's checks beyond merging: every field set (`@key`, `@requires`, `@provides`) must
name fields that exist where it is read, and the composed SDL must load as a supergraph whose API
schema is valid. Merging alone would let such a supergraph through and fail only at query time."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graphql import FieldNode, InlineFragmentNode, validate_schema

from supergraph.compose_subgraph import _named, _quote, _Subgraph
from supergraph.errors import CompositionError
from supergraph.fieldset import parse_field_set
from supergraph.supergraph_schema import Supergraph, SupergraphError


def field_set_errors(subgraphs: Sequence[_Subgraph]) -> list[str]:
    """Every @key/@requires/@provides must name fields that exist where they are read."""
    errors: list[str] = []
    for sub in subgraphs:
        for name, tdef in sub.types.items():
            for key, _ in tdef.keys:
                _check_field_set(errors, sub, name, key, f'@key(fields: {_quote(key)}) on type "{name}"')
            for fname, fdef in tdef.fields.items():
                if fdef.requires:
                    _check_field_set(errors, sub, name, fdef.requires, f'@requires on field "{name}.{fname}"')
                if fdef.provides:
                    target = _named(fdef.node.type)
                    _check_field_set(
                        errors, sub, target, fdef.provides, f'@provides on field "{name}.{fname}"'
                    )
    return errors


def _check_field_set(errors: list[str], sub: _Subgraph, type_name: str, field_set: str, where: str) -> None:
    try:
        selections = parse_field_set(field_set).selections
    except Exception as exc:  # noqa: BLE001
        errors.append(f'{where} in subgraph "{sub.source.name}": invalid field set: {exc}')
        return
    _check_selections(errors, sub, type_name, selections, where)


def _check_selections(
    errors: list[str], sub: _Subgraph, type_name: str, selections: Sequence[Any], where: str
) -> None:
    tdef = sub.types.get(type_name)
    for selection in selections:
        if isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition.name.value if selection.type_condition else type_name
            _check_selections(errors, sub, condition, selection.selection_set.selections, where)
            continue
        if not isinstance(selection, FieldNode):
            continue
        fname = selection.name.value
        if fname == "__typename":
            continue
        if tdef is None or fname not in tdef.fields:
            errors.append(
                f'{where} in subgraph "{sub.source.name}": field "{type_name}.{fname}" does not exist'
            )
            continue
        if selection.selection_set is not None:
            _check_selections(
                errors, sub, _named(tdef.fields[fname].node.type), selection.selection_set.selections, where
            )


def check_result(sdl: str) -> None:
    """The composed SDL must load as a supergraph with a valid API schema; raises CompositionError."""
    try:
        supergraph = Supergraph(sdl)
    except SupergraphError as exc:
        raise CompositionError([str(exc)]) from exc
    problems = validate_schema(supergraph.api_schema)
    if problems:
        raise CompositionError([p.message for p in problems])
