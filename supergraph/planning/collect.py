"""Stage 1, collecting fields: which fields of a selection apply to an object of a given type.

graphql's CollectFields, with the plan's own twists: `@skip`/`@include` are decided here (the plan
is cached per their variables), fragments on an abstract type apply to its members, and the
fields an `@provides` makes available are collected the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    SelectionNode,
    is_abstract_type,
    is_interface_type,
    is_object_type,
)

from supergraph.fieldset import parse_field_set
from supergraph.plan import collect_fields, should_include
from supergraph.planning.context import PlanContext
from supergraph.supergraph_schema import JoinField


def applies(ctx: PlanContext, condition: str | None, type_name: str) -> bool:
    """Whether a fragment on `condition` applies to every object of type `type_name`."""
    if condition is None or condition == type_name:
        return True
    cond_type = ctx.schema.get_type(condition)
    own_type = ctx.schema.get_type(type_name)
    if not is_abstract_type(cond_type) or own_type is None:
        return False
    if is_object_type(own_type) or is_interface_type(own_type):
        return ctx.schema.is_sub_type(cond_type, own_type)  # type: ignore[arg-type]
    return False


def collect(
    ctx: PlanContext, type_name: str, selections: Sequence[SelectionNode]
) -> dict[str, list[FieldNode]]:
    """Fields by response key that apply to an object of type `type_name` (graphql's CollectFields)."""

    def applies_here(condition: str) -> bool:
        return applies(ctx, condition, type_name)

    return collect_fields(selections, ctx.variables, ctx.fragments, applies_here)


def has_foreign_fragments(ctx: PlanContext, type_name: str, selections: Sequence[SelectionNode]) -> bool:
    """Whether a selection on an abstract type has fragments for other (narrower) types."""
    for selection in selections:
        if not should_include(selection, ctx.variables):
            continue
        if isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition.name.value if selection.type_condition else None
            if condition not in (None, type_name):
                return True
            if has_foreign_fragments(ctx, type_name, selection.selection_set.selections):
                return True
        elif isinstance(selection, FragmentSpreadNode):
            fragment = ctx.fragments.get(selection.name.value)
            if fragment is None:
                continue
            if fragment.type_condition.name.value != type_name:
                return True
            if has_foreign_fragments(ctx, type_name, fragment.selection_set.selections):
                return True
    return False


def provided_fields(
    ctx: PlanContext, provided: Sequence[SelectionNode] | None, type_name: str
) -> dict[str, list[FieldNode]]:
    """The fields an `@provides` selection makes available on `type_name`, by field name."""
    if not provided:
        return {}
    out: dict[str, list[FieldNode]] = {}
    for selection in provided:
        if isinstance(selection, FieldNode):
            out.setdefault(selection.name.value, []).append(selection)
        elif isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition.name.value if selection.type_condition else None
            if condition is None or condition == type_name or applies(ctx, condition, type_name):
                for k, v in provided_fields(ctx, selection.selection_set.selections, type_name).items():
                    out.setdefault(k, []).extend(v)
    return out


def provided_under(
    provided: dict[str, list[FieldNode]], field_name: str, join: JoinField | None
) -> list[SelectionNode] | None:
    """What is provided inside a field's sub-selection (None: nothing): the sub-selections an
    enclosing `@provides` gives the field, then the field's own `@provides` in the subgraph."""
    out = [s for p in provided.get(field_name, []) if p.selection_set for s in p.selection_set.selections]
    if join is not None and join.provides:
        out.extend(parse_field_set(join.provides).selections)
    return out or None


def sub_selections(nodes: Sequence[FieldNode]) -> list[SelectionNode]:
    """The sub-selections of every node of one response key, merged (as the client wrote them)."""
    return [s for n in nodes if n.selection_set for s in n.selection_set.selections]
