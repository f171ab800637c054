"""The plan model shared by the planner and the executor: fetch groups, phases, and which of the
client's selections apply (@skip/@include, field collection: the planner and the response shaper
must agree on it to the letter)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLOutputType,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionNode,
    VariableNode,
    is_list_type,
    is_non_null_type,
    visit,
)
from graphql.language import Visitor

from supergraph.errors import PlanningError as PlanningError  # re-exported
from supergraph.selection import SelectionSet

LIST = "@"


@dataclass(eq=False)
class FetchGroup:
    """One request to one subgraph, merged into the response at `path`."""

    id: int
    graph: str
    path: tuple[str, ...]
    operation_kind: str = "query"
    entity_type: str | None = None
    match_types: set[str] = field(default_factory=set)
    rep_typename: str | None = None
    selection: SelectionSet = field(default_factory=SelectionSet)
    requires: SelectionSet = field(default_factory=SelectionSet)
    key_fields: set[str] = field(default_factory=set)
    deps: set[FetchGroup] = field(default_factory=set)
    variables: set[str] = field(default_factory=set)
    query_text: str = ""
    renames: bool = False

    @property
    def is_entity(self) -> bool:
        return self.entity_type is not None

    def describe(self) -> dict[str, Any]:
        """A JSON-friendly view for `extensions.queryPlan`."""
        return {
            "id": self.id,
            "subgraph": self.graph,
            "path": list(self.path),
            "entityType": self.entity_type,
            "dependsOn": sorted(d.id for d in self.deps),
            "operation": self.query_text,
        }


@dataclass
class QueryPlan:
    """Phases of fetch groups plus what the executor needs to shape the final response."""

    operation: OperationDefinitionNode
    fragments: dict[str, FragmentDefinitionNode]
    phases: list[list[FetchGroup]]
    variable_definitions: dict[str, str]

    def describe(self) -> list[list[dict[str, Any]]]:
        return [[g.describe() for g in phase] for phase in self.phases]


def sub_path(path: tuple[str, ...], key: str, field_type: GraphQLOutputType) -> tuple[str, ...]:
    """The plan path of a field's objects: its response key, then one LIST step per list level."""
    out = (*path, key)
    gtype: GraphQLOutputType = field_type
    while True:
        if is_non_null_type(gtype):
            gtype = gtype.of_type
        if is_list_type(gtype):
            out = (*out, LIST)
            gtype = gtype.of_type
            continue
        return out


def should_include(node: SelectionNode, variables: Mapping[str, Any]) -> bool:
    """Evaluate `@skip`/`@include` (the plan is cached per their variable values)."""
    for directive in node.directives or ():
        name = directive.name.value
        if name not in ("skip", "include"):
            continue
        value: Any = None
        for argument in directive.arguments or ():
            if argument.name.value == "if":
                if isinstance(argument.value, VariableNode):
                    value = variables.get(argument.value.name.value)
                else:
                    value = getattr(argument.value, "value", None)
        if name == "skip" and value is True:
            return False
        if name == "include" and value is not True:
            return False
    return True


def collect_fields(
    selections: Sequence[SelectionNode],
    variables: Mapping[str, Any],
    fragments: Mapping[str, FragmentDefinitionNode],
    applies: Callable[[str], bool],
    visited: frozenset[str] = frozenset(),
) -> dict[str, list[FieldNode]]:
    """Fields by response key, as graphql's CollectFields: `@skip`/`@include` decided, a fragment
    merged in when it has no type condition or `applies(condition)`, a named fragment once per path."""
    out: dict[str, list[FieldNode]] = {}
    for selection in selections:
        if not should_include(selection, variables):
            continue
        if isinstance(selection, FieldNode):
            key = selection.alias.value if selection.alias else selection.name.value
            out.setdefault(key, []).append(selection)
            continue
        if isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition.name.value if selection.type_condition else None
            inner, seen = selection.selection_set.selections, visited
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is None or name in visited:
                continue
            condition = fragment.type_condition.name.value
            inner, seen = fragment.selection_set.selections, visited | {name}
        else:
            continue
        if condition is None or applies(condition):
            for key, nodes in collect_fields(inner, variables, fragments, applies, seen).items():
                out.setdefault(key, []).extend(nodes)
    return out


def skip_include_variables(operation: OperationDefinitionNode, fragments: Mapping[str, Any]) -> list[str]:
    """Variables that steer `@skip`/`@include`; they are part of the plan cache key."""
    names: set[str] = set()

    class _Collect(Visitor):
        def enter_directive(self, node: Any, *_args: Any) -> None:
            if node.name.value in ("skip", "include"):
                for argument in node.arguments or ():
                    if isinstance(argument.value, VariableNode):
                        names.add(argument.value.name.value)

    visit(operation, _Collect())
    for fragment in fragments.values():
        visit(fragment, _Collect())
    return sorted(names)
