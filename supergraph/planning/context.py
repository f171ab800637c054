"""What every planning stage is handed instead of reaching into a planner object.

PlanContext is the run's input (the supergraph and the client's operation) and never changes.
Scope is where in the search a field is being planned; each step down passes a new one, so what a
stage may read about its callers is in its arguments, not in counters someone else maintains.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from graphql import FieldNode, FragmentDefinitionNode, GraphQLSchema, OperationDefinitionNode, print_ast

from supergraph.plan import FetchGroup
from supergraph.selection import SelectionSet
from supergraph.supergraph_schema import Supergraph


@dataclass(frozen=True, slots=True)
class PlanContext:
    """The inputs of one planning run: the supergraph, the operation and its variables."""

    supergraph: Supergraph
    schema: GraphQLSchema
    operation: OperationDefinitionNode
    fragments: dict[str, FragmentDefinitionNode]
    variables: Mapping[str, Any]
    variable_types: dict[str, str]

    @classmethod
    def of(
        cls,
        supergraph: Supergraph,
        operation: OperationDefinitionNode,
        fragments: dict[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
    ) -> PlanContext:
        variable_types = {
            d.variable.name.value: print_ast(d.type)
            + (f" = {print_ast(d.default_value)}" if d.default_value is not None else "")
            for d in operation.variable_definitions or ()
        }
        return cls(supergraph, supergraph.schema, operation, fragments, variables, variable_types)

    def field_def(self, type_name: str, field_name: str) -> Any:
        """The supergraph's definition of a field (None for an unknown one: a planning error later)."""
        gtype = self.schema.get_type(type_name)
        fields = getattr(gtype, "fields", None) or {}
        return fields.get(field_name)


@dataclass(frozen=True, slots=True)
class Frame:
    """A field whose sub-selection is being planned (to re-fetch it elsewhere when needed)."""

    group: FetchGroup
    target: SelectionSet
    type_name: str
    path: tuple[str, ...]
    key: str
    nodes: list[FieldNode]


class Scope(NamedTuple):
    """Where the field being planned sits in the search (a NamedTuple, not a frozen dataclass: one
    is made for every field planned, and a tuple is the cheapest immutable value to make).

    `frames`: the fields above it whose sub-selections are being planned, outermost first.
    `internal`: the field is read for the router itself (key fields, @requires inputs), not for
    the client, so an interface object's concrete `__typename` is not needed for the response.
    `excluded`: subgraphs a jump may not go to: the entities whose representations are being
    gathered (fetching a key from the subgraph that needs it would go round in a circle).
    `depth`: how many fields are being planned, one inside the other, down to this one (jumps and
    key reads included), which the search bounds limit.
    """

    frames: tuple[Frame, ...] = ()
    internal: bool = False
    excluded: tuple[str, ...] = ()
    depth: int = 0

    def inside(self, frame: Frame) -> Scope:
        """The scope of the sub-selection of `frame`'s field."""
        return Scope((*self.frames, frame), self.internal, self.excluded, self.depth)

    def reading_requires(self) -> Scope:
        """The scope of a field's @requires inputs, planned in the fetch that precedes it."""
        return Scope(self.frames, True, self.excluded, self.depth)

    def reading_key_for(self, graph: str) -> Scope:
        """The scope of the key fields an entity fetch to `graph` reads from its representations."""
        return Scope(self.frames, True, (*self.excluded, graph), self.depth)

    def deeper(self) -> Scope:
        """The scope of one more field planned inside this one."""
        return Scope(self.frames, self.internal, self.excluded, self.depth + 1)
