"""The plan model shared by the planner and the executor: fetch groups, phases, @skip/@include."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    FragmentDefinitionNode,
    OperationDefinitionNode,
    SelectionNode,
    VariableNode,
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
