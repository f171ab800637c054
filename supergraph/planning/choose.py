"""Stage 2, choosing subgraphs: which subgraph serves a field, and with which key.

Every decision the walk makes about *where* a field comes from is here: whether the subgraph
already fetching the parent object can return the field in the same fetch (`is_local`), how much
of a selection a subgraph would serve without another jump (`score`, to prefer fewer fetches),
where an `_entities` jump may go and which key it uses, and which runtime types of an abstract
type to trust. None of it changes the plan being built; it only reads the supergraph.
"""

from __future__ import annotations

from collections.abc import Container, Sequence

from graphql import FieldNode, SelectionNode, get_named_type, is_abstract_type, is_composite_type

from supergraph.fieldset import parse_field_set
from supergraph.planning.collect import collect, provided_fields, provided_under, sub_selections
from supergraph.planning.context import Frame, PlanContext
from supergraph.supergraph_schema import TypeKind

# (subgraph, entity type to ask `_entities` for, `__typename` override of the representations)
JumpCandidate = tuple[str, str, str | None]


def key_field_names(ctx: PlanContext, type_name: str, graph: str) -> set[str]:
    """The top-level fields of every key (resolvable or not) of a type in one subgraph."""
    model = ctx.supergraph.types.get(type_name)
    if model is None:
        return set()
    names: set[str] = set()
    for key in model.keys(graph, resolvable_only=False):
        for selection in parse_field_set(key).selections:
            if isinstance(selection, FieldNode):
                names.add(selection.name.value)
    return names


def is_local(
    ctx: PlanContext, graph: str, type_name: str, field_name: str, provided: dict[str, list[FieldNode]]
) -> bool:
    """Whether `graph` can return the field in the same fetch (no `_entities` jump needed).

    @provides makes external fields local; @requires never is (its inputs must be fetched
    first); key fields of a fed1-style type extension are local although marked external.
    """
    if field_name == "__typename":
        return True
    if field_name in provided:
        return True
    sg = ctx.supergraph
    join = sg.field_join(type_name, field_name, graph)
    if join is not None and join.requires:
        return False
    if sg.field_resolvable_in(type_name, field_name, graph):
        return True
    if sg.field_defined_in(type_name, field_name, graph) and field_name in key_field_names(
        ctx, type_name, graph
    ):
        model = sg.types.get(type_name)
        return model is not None and any(j.extension for j in model.joins if j.graph == graph)
    return False


def score(
    ctx: PlanContext,
    graph: str,
    type_name: str,
    selections: Sequence[SelectionNode],
    depth: int = 0,
    provided: Sequence[SelectionNode] | None = None,
) -> int:
    """How many requested fields a subgraph resolves without a jump (to prefer fewer fetches)."""
    if depth > 3:
        return 0
    total = 0
    gtype = ctx.schema.get_type(type_name)
    if is_abstract_type(gtype):
        possible = ctx.supergraph.possible_types_in(type_name, graph)
        if not possible:
            return -1
        return max(score(ctx, graph, r, selections, depth, provided) for r in possible)
    if gtype is None or not hasattr(gtype, "fields"):
        return 0
    prov = provided_fields(ctx, provided, type_name)
    for nodes in collect(ctx, type_name, selections).values():
        name = nodes[0].name.value
        if name == "__typename":
            continue
        if not is_local(ctx, graph, type_name, name, prov):
            continue
        total += 1
        fdef = ctx.field_def(type_name, name)
        if fdef is None or not is_composite_type(get_named_type(fdef.type)):
            continue
        subs = sub_selections(nodes)
        sub_provided = provided_under(prov, name, ctx.supergraph.field_join(type_name, name, graph))
        total += score(ctx, graph, get_named_type(fdef.type).name, subs, depth + 1, sub_provided)
    return total


def root_graph(
    ctx: PlanContext,
    type_name: str,
    field_name: str,
    candidates: list[str],
    subs: list[SelectionNode],
    taken: Container[str],
) -> str:
    """The subgraph for a query root field: the one serving most of its selection, then one
    already fetching other root fields (`taken`), then the first in supergraph order."""
    fdef = ctx.field_def(type_name, field_name)
    rtype = get_named_type(fdef.type).name if fdef is not None else ""

    def rank(graph: str) -> tuple[int, bool]:
        provided = provided_under({}, field_name, ctx.supergraph.field_join(type_name, field_name, graph))
        return (score(ctx, graph, rtype, subs, 0, provided) if subs else 0, graph in taken)

    return max(candidates, key=rank)


def choose_key(ctx: PlanContext, graph: str, type_name: str, keys: list[str]) -> str:
    """The first key whose fields `graph` (the subgraph holding the objects) can return itself."""
    for key in keys:
        if all(
            is_local(ctx, graph, type_name, name, {})
            for name in (s.name.value for s in parse_field_set(key).selections if isinstance(s, FieldNode))
        ):
            return key
    return keys[0]


def jump_candidates(ctx: PlanContext, type_name: str, field_name: str) -> list[JumpCandidate]:
    """Where an `_entities` jump for the field may go: subgraphs with a key for the type that
    resolve it, else subgraphs that resolve it on an `@interfaceObject` of one of its interfaces."""
    sg = ctx.supergraph
    out: list[JumpCandidate] = []
    model = sg.types.get(type_name)
    for graph in sg.graphs:
        if model is None or not model.keys(graph):
            continue
        if sg.field_resolvable_in(type_name, field_name, graph):
            out.append((graph, type_name, None))
    if out:
        return out
    gtype = ctx.schema.get_type(type_name)
    for interface in getattr(gtype, "interfaces", ()) or ():
        imodel = sg.types.get(interface.name)
        if imodel is None:
            continue
        for graph in sg.graphs:
            if imodel.is_interface_object(graph) and imodel.keys(graph):
                if sg.field_resolvable_in(interface.name, field_name, graph):
                    out.append((graph, interface.name, interface.name))
    return out


def best_jump(
    ctx: PlanContext,
    candidates: list[JumpCandidate],
    existing: Container[tuple[object, ...]],
    path: tuple[str, ...],
    type_name: str,
    field_type: str,
    subs: list[SelectionNode],
) -> JumpCandidate:
    """Prefer a jump that joins an entity fetch already planned at the path (`existing`, keyed by
    subgraph, path, entity type, runtime type), then the subgraph serving most of the selection."""

    def rank(candidate: JumpCandidate) -> tuple[int, int]:
        graph, entity_type, _ = candidate
        joins = (graph, path, entity_type, type_name) in existing
        return (1 if joins else 0, score(ctx, graph, field_type, subs) if subs else 0)

    return max(candidates, key=rank)


def shared_possible_types(ctx: PlanContext, frames: Sequence[Frame], type_name: str, graph: str) -> list[str]:
    """Runtime types to ask for under the field being planned (the last of `frames`).

    A union returned by a field that several subgraphs resolve (@shareable) is only trusted
    for the members every one of those subgraphs knows, as Apollo's planner does.
    """
    sg = ctx.supergraph
    possible = sg.possible_types_in(type_name, graph)
    model = sg.types.get(type_name)
    if not frames or model is None or model.kind is not TypeKind.UNION:
        return possible
    frame = frames[-1]
    graphs = [
        g
        for g in sg.resolving_graphs(frame.type_name, frame.nodes[0].name.value)
        if _reachable(ctx, frames, len(frames) - 1, g)
    ]
    if len(graphs) < 2:
        return possible
    shared = set(possible)
    for other in graphs:
        shared &= set(sg.possible_types_in(type_name, other))
    return [t for t in possible if t in shared]


def _reachable(ctx: PlanContext, frames: Sequence[Frame], index: int, graph: str) -> bool:
    """Whether the object holding field `frames[index]` can be obtained from `graph`."""
    parent = frames[index].type_name
    model = ctx.supergraph.types.get(parent)
    if model is not None and model.keys(graph):
        return True
    if index == 0:
        return parent in ("Query", "Mutation")
    above = frames[index - 1]
    if not ctx.supergraph.field_resolvable_in(above.type_name, above.nodes[0].name.value, graph):
        return False
    return _reachable(ctx, frames, index - 1, graph)


def interface_owner(ctx: PlanContext, interface: str) -> str | None:
    """A subgraph that knows the interface as an interface (not an object), so it can say which
    concrete type each object is: the jump target for an `@interfaceObject`'s `__typename`."""
    model = ctx.supergraph.types.get(interface)
    if model is None:
        return None
    for join in model.joins:
        if not join.is_interface_object and join.key is not None and join.resolvable:
            return join.graph
    return None


def entity_graph(ctx: PlanContext, type_name: str, selections: Sequence[SelectionNode]) -> str | None:
    """For a deferred fragment on an entity: the keyed subgraph that serves most of it, if any."""
    model = ctx.supergraph.types.get(type_name)
    graphs = [g for g in ctx.supergraph.graphs if model is not None and model.keys(g)]
    if model is None or not graphs:
        return None
    return max(graphs, key=lambda g: score(ctx, g, type_name, selections))
