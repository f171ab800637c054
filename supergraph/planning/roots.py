"""Where the walk starts: an operation's root fields, or the entities of a deferred fragment.

A query's (or subscription's) root fields are one phase: each goes to the subgraph serving most of
its selection, and fields of one subgraph share one fetch. A mutation's root fields must run in
the client's order, so consecutive fields of one subgraph share a fetch and every change of
subgraph starts a new phase. A deferred fragment on an entity starts from one `_entities` fetch
for the objects already in the response. Each entry point ends in finalise.py.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from graphql import FieldNode, SelectionNode

from supergraph.plan import FetchGroup, PlanningError, QueryPlan
from supergraph.planning.choose import entity_graph, root_graph
from supergraph.planning.collect import collect, sub_selections
from supergraph.planning.context import PlanContext, Scope
from supergraph.planning.fetch_groups import FetchGroups
from supergraph.planning.finalise import finalise
from supergraph.planning.requirements import require_key
from supergraph.planning.walk import SearchBudget, Walk


def plan_operation(ctx: PlanContext) -> QueryPlan:
    """The plan of the whole operation."""
    root_type = ctx.schema.get_root_type(ctx.operation.operation)
    if root_type is None:
        raise PlanningError(f"the supergraph has no {ctx.operation.operation.value} type")
    kind = ctx.operation.operation.value
    walk = Walk(ctx, FetchGroups(), SearchBudget())
    fields = collect(ctx, root_type.name, ctx.operation.selection_set.selections)
    if kind == "mutation":
        phases = _mutation_phases(walk, root_type.name, fields)
    else:
        phases = [_root_phase(walk, root_type.name, fields, kind)]
    return finalise(ctx, walk.groups.all, phases)


def plan_entities(
    ctx: PlanContext, type_name: str, selections: Sequence[SelectionNode], path: tuple[str, ...]
) -> tuple[QueryPlan, str]:
    """The plan of `selections` on the objects of entity type `type_name` at `path`, and the key
    whose fields (with `__typename`) those objects must already hold."""
    walk = Walk(ctx, FetchGroups(), SearchBudget())
    graph = entity_graph(ctx, type_name, selections)
    if graph is None:
        raise PlanningError(f"{type_name} has no resolvable key")
    key = ctx.supergraph.types[type_name].keys(graph)[0]
    entity = walk.groups.entity(ctx, graph, path, type_name, type_name, None, {type_name}, False)
    require_key(ctx, entity, type_name, key)
    walk.selection(entity, entity.selection, type_name, selections, path, None, Scope())
    return finalise(ctx, walk.groups.all, [walk.groups.next_phase()]), key


def _root_phase(walk: Walk, root: str, fields: dict[str, list[FieldNode]], kind: str) -> list[FetchGroup]:
    """A query's or subscription's root fields, grouped by subgraph, in one phase."""
    for key, nodes, candidates in _root_fields(walk.ctx, root, fields):
        subs = sub_selections(nodes)
        graph = root_graph(walk.ctx, root, nodes[0].name.value, candidates, subs, walk.groups.root_graphs)
        group = walk.groups.root(graph, kind)
        walk.field(group, group.selection, root, key, nodes, (), {}, Scope())
    return walk.groups.next_phase()


def _mutation_phases(walk: Walk, root: str, fields: dict[str, list[FieldNode]]) -> list[list[FetchGroup]]:
    """A mutation's root fields in order: a new fetch, and phase, whenever the subgraph changes."""
    phases: list[list[FetchGroup]] = []
    current: FetchGroup | None = None
    for key, nodes, candidates in _root_fields(walk.ctx, root, fields):
        graph = current.graph if current is not None and current.graph in candidates else candidates[0]
        if current is None or current.graph != graph:
            if current is not None:
                phases.append(walk.groups.next_phase())
            current = walk.groups.new(graph, (), "mutation")
        walk.field(current, current.selection, root, key, nodes, (), {}, Scope())
    if walk.groups.phase:
        phases.append(walk.groups.next_phase())
    return phases


def _root_fields(
    ctx: PlanContext, root: str, fields: dict[str, list[FieldNode]]
) -> Iterator[tuple[str, list[FieldNode], list[str]]]:
    """Each root field but introspection, with the subgraphs that resolve it (PlanningError: none)."""
    for key, nodes in fields.items():
        name = nodes[0].name.value
        if name.startswith("__"):
            continue
        candidates = ctx.supergraph.resolving_graphs(root, name)
        if not candidates:
            raise PlanningError(f"no subgraph resolves {root}.{name}")
        yield key, nodes, candidates
