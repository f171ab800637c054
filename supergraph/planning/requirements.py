"""Stage 3's representations: what an `_entities` fetch copies into each object it sends.

A representation carries `__typename`, the fields of the chosen key and any `@requires` inputs.
These rules only touch the entity group's `requires` selection (never the fetches that produce
the fields): how a key or a `@requires` field set becomes that selection, how `@requires` fields
with arguments get aliases of their own, and when two jumps' inputs clash so that they cannot
share one `_entities` fetch.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from typing import Any

from graphql import (
    FieldNode,
    InlineFragmentNode,
    NameNode,
    SelectionNode,
    SelectionSetNode,
    get_named_type,
    is_composite_type,
    print_ast,
)

from supergraph.fieldset import parse_field_set
from supergraph.plan import FetchGroup
from supergraph.planning.context import PlanContext
from supergraph.selection import SelectionSet


def require_key(ctx: PlanContext, entity: FetchGroup, type_name: str, key: str) -> tuple[SelectionNode, ...]:
    """Make `entity`'s representations carry `__typename` and the key's fields; the key's selections."""
    entity.requires.add_field("__typename", "__typename", "", False)
    selections = parse_field_set(key).selections
    for selection in selections:
        if isinstance(selection, FieldNode):
            entity.key_fields.add(selection.name.value)
    merge_requirement(ctx, entity.requires, type_name, selections)
    return selections


def merge_requirement(
    ctx: PlanContext, target: SelectionSet, type_name: str, selections: Sequence[SelectionNode]
) -> None:
    """Record what an entity fetch copies into each representation (keys, @requires inputs)."""
    for selection in selections:
        if isinstance(selection, FieldNode):
            fdef = ctx.field_def(type_name, selection.name.value)
            named = get_named_type(fdef.type) if fdef is not None else None
            composite = named is not None and is_composite_type(named)
            response_key = selection.alias.value if selection.alias else selection.name.value
            selected = target.add_field(response_key, selection.name.value, "", composite)
            if selection.selection_set and selected.sub is not None and named is not None:
                sub_model = ctx.supergraph.types.get(named.name)
                if sub_model is not None and sub_model.kind.is_abstract:
                    selected.sub.add_field("__typename", "__typename", "", False)
                merge_requirement(ctx, selected.sub, named.name, selection.selection_set.selections)
        elif isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition.name.value if selection.type_condition else type_name
            merge_requirement(ctx, target.fragment(condition), condition, selection.selection_set.selections)


def conflicts(existing: SelectionSet, selections: Sequence[SelectionNode]) -> bool:
    """Whether a representation would need one field name with two different argument sets."""
    by_name = {f.name: f.response_key for f in existing.fields.values()}
    for selection in selections:
        if isinstance(selection, FieldNode):
            key = selection.alias.value if selection.alias else selection.name.value
            other = by_name.get(selection.name.value)
            if other is not None and other != key:
                return True
    return False


def alias_arguments(selections: Sequence[SelectionNode]) -> tuple[SelectionNode, ...]:
    """Give `@requires` fields with arguments their own alias, so they never clash with the
    client's selection of the same field with other arguments."""
    out: list[SelectionNode] = []
    for selection in selections:
        if isinstance(selection, FieldNode):
            changes: dict[str, Any] = {}
            if selection.arguments:
                digest = hashlib.sha1(
                    "".join(print_ast(a) for a in selection.arguments).encode()
                ).hexdigest()[:8]
                changes["alias"] = NameNode(value=f"_req_{selection.name.value}_{digest}")
            if selection.selection_set is not None:
                changes["selection_set"] = _aliased_set(selection.selection_set)
            out.append(dataclasses.replace(selection, **changes) if changes else selection)
        elif isinstance(selection, InlineFragmentNode):
            out.append(dataclasses.replace(selection, selection_set=_aliased_set(selection.selection_set)))
        else:
            out.append(selection)
    return tuple(out)


def _aliased_set(selection_set: SelectionSetNode) -> SelectionSetNode:
    return SelectionSetNode(selections=alias_arguments(selection_set.selections))
