"""Stage 3, the walk: the client's selection, field by field, into fetch groups and dependencies.

Each field is placed in the group already fetching its parent object when that subgraph can
return it (choose.py decides); otherwise the walk jumps: an `_entities` fetch to a subgraph that
resolves it, fed by the key (and `@requires` inputs) the parent's group fetches first, or, for an
object without a usable key, the parent field fetched again from another subgraph. Interface
objects get their concrete `__typename` from a subgraph that knows the interface.

Everything a step reads about its callers is its Scope argument; what it changes is the
FetchGroups it was given (fetch_groups.py) and the groups' selections. The search is bounded:
a supergraph whose types lead back to themselves ends in PlanningError, not in Python's
recursion limit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    SelectionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    is_composite_type,
    print_ast,
    visit,
)
from graphql.language import Visitor

from supergraph.fieldset import parse_field_set
from supergraph.plan import FetchGroup, PlanningError, sub_path
from supergraph.planning.choose import (
    best_jump,
    choose_key,
    interface_owner,
    is_local,
    jump_candidates,
    shared_possible_types,
)
from supergraph.planning.collect import (
    collect,
    has_foreign_fragments,
    provided_fields,
    provided_under,
    sub_selections,
)
from supergraph.planning.context import Frame, PlanContext, Scope
from supergraph.planning.fetch_groups import FetchGroups, depends_on
from supergraph.planning.requirements import alias_arguments, conflicts, merge_requirement, require_key
from supergraph.selection import SelectionSet
from supergraph.supergraph_schema import TypeKind

# How far the search may go: operation depth is bounded by ROUTER_MAX_DEPTH (15 by default), and
# a real plan nests one step per level plus a few for @requires and jumps through a parent.
MAX_SEARCH_DEPTH = 64
MAX_SEARCH_STEPS = 50_000


class SearchBudget:
    """The fields planned so far in one run, against the search bounds."""

    def __init__(self) -> None:
        self.steps = 0

    def step(self, scope: Scope, type_name: str, field_name: str) -> Scope:
        """Count one planned field; its scope one level deeper, or PlanningError past the bounds."""
        self.steps += 1
        deeper = scope.deeper()
        if deeper.depth > MAX_SEARCH_DEPTH or self.steps > MAX_SEARCH_STEPS:
            raise PlanningError(
                f"no plan found for {type_name}.{field_name} within the planner's search "
                f"bounds ({MAX_SEARCH_DEPTH} nested steps, {MAX_SEARCH_STEPS} in all)"
            )
        return deeper


@dataclass(frozen=True, slots=True)
class Walk:
    """One run's walk: its inputs, the groups it builds and its search budget."""

    ctx: PlanContext
    groups: FetchGroups
    budget: SearchBudget

    def selection(
        self,
        group: FetchGroup,
        target: SelectionSet,
        type_name: str,
        selections: Sequence[SelectionNode],
        path: tuple[str, ...],
        provided: Sequence[SelectionNode] | None,
        scope: Scope,
    ) -> set[FetchGroup]:
        """Plan `selections` on an object of static type `type_name` produced by `group`."""
        ctx = self.ctx
        model = ctx.supergraph.types.get(type_name)
        kind = model.kind if model is not None else TypeKind.OBJECT
        if not kind.is_abstract:
            fields = collect(ctx, type_name, selections)
            prov = provided_fields(ctx, provided, type_name)
            return self.fields(group, target, type_name, fields, path, prov, scope)
        if model is not None and model.is_interface_object(group.graph):
            return self.interface_object(group, target, type_name, selections, path, provided, scope)
        target.add_field("__typename", "__typename", "", False)
        possible = shared_possible_types(ctx, scope.frames, type_name, group.graph)
        # An interface is asked for as itself when the subgraph knows none of its runtime types, or
        # when no fragment names a narrower type and every field is local for it and each of them;
        # otherwise (and always for a union) each runtime type gets its own inline fragment.
        if kind is TypeKind.INTERFACE and (
            not possible or not has_foreign_fragments(ctx, type_name, selections)
        ):
            fields = collect(ctx, type_name, selections)
            prov = provided_fields(ctx, provided, type_name)
            if not possible or all(
                nodes[0].name.value == "__typename"
                or all(
                    is_local(ctx, group.graph, t, nodes[0].name.value, prov) for t in (type_name, *possible)
                )
                for nodes in fields.values()
            ):
                return self.fields(group, target, type_name, fields, path, prov, scope)
        touched: set[FetchGroup] = {group}
        for runtime in possible:
            fields = collect(ctx, runtime, selections)
            if not fields:
                continue
            prov = provided_fields(ctx, provided, runtime)
            touched |= self.fields(group, target.fragment(runtime), runtime, fields, path, prov, scope)
        return touched

    def interface_object(
        self,
        group: FetchGroup,
        target: SelectionSet,
        type_name: str,
        selections: Sequence[SelectionNode],
        path: tuple[str, ...],
        provided: Sequence[SelectionNode] | None,
        scope: Scope,
    ) -> set[FetchGroup]:
        """The subgraph sees this interface as an object: concrete types come from elsewhere."""
        ctx = self.ctx
        touched: set[FetchGroup] = {group}
        fields = collect(ctx, type_name, selections)
        # The response shaper needs the concrete __typename, except for internal key/requires reads.
        needs_concrete = not scope.internal or has_foreign_fragments(ctx, type_name, selections)
        own = {k: v for k, v in fields.items() if v[0].name.value != "__typename"}
        target.add_field("__typename", "__typename", "", False)
        prov = provided_fields(ctx, provided, type_name)
        touched |= self.fields(group, target, type_name, own, path, prov, scope)
        if needs_concrete and ctx.supergraph.supergraph_possible_types(type_name):
            owner = interface_owner(ctx, type_name)
            if owner is None:
                raise PlanningError(f"no subgraph resolves the concrete type of interface {type_name}")
            key = ctx.supergraph.types[type_name].keys(owner)[0]
            entity = self.groups.entity(ctx, owner, path, type_name, type_name, None, {type_name}, False)
            entity.deps |= self.add_key(group, target, type_name, key, path, entity, None, False, scope)
            concrete = [s for s in selections if not isinstance(s, FieldNode) or s.name.value == "__typename"]
            inner = entity.selection
            inner.add_field("__typename", "__typename", "", False)
            touched |= self.selection(entity, inner, type_name, concrete, path, None, scope)
        return touched

    def fields(
        self,
        group: FetchGroup,
        target: SelectionSet,
        type_name: str,
        collected: dict[str, list[FieldNode]],
        path: tuple[str, ...],
        provided: dict[str, list[FieldNode]],
        scope: Scope,
    ) -> set[FetchGroup]:
        """Plan collected fields (by response key) on one object type."""
        touched: set[FetchGroup] = {group}
        for key, nodes in collected.items():
            touched |= self.field(group, target, type_name, key, nodes, path, provided, scope)
        return touched

    def field(
        self,
        group: FetchGroup,
        target: SelectionSet,
        type_name: str,
        key: str,
        nodes: list[FieldNode],
        path: tuple[str, ...],
        provided: dict[str, list[FieldNode]],
        scope: Scope,
        force_local: bool = False,
    ) -> set[FetchGroup]:
        """Plan one response key: in `group` when its subgraph can return it, else by a jump."""
        ctx = self.ctx
        name = nodes[0].name.value
        scope = self.budget.step(scope, type_name, name)
        if name == "__typename":
            target.add_field("__typename", "__typename", "", False)
            return {group}
        fdef = ctx.field_def(type_name, name)
        if fdef is None:
            raise PlanningError(f"unknown field {type_name}.{name}")
        root_field = not group.is_entity and path == ()
        if not (force_local or root_field or is_local(ctx, group.graph, type_name, name, provided)):
            return self.jump(group, target, type_name, key, nodes, path, provided, scope)
        named = get_named_type(fdef.type)
        composite = is_composite_type(named)
        join = ctx.supergraph.field_join(type_name, name, group.graph)
        type_sig = join.type if join is not None and join.type else str(fdef.type)
        selected = target.add_field(key, name, _arguments_text(nodes[0], group), composite, type_sig)
        if not nodes[0].arguments:
            self.groups.note_fetched(path, type_name, key, group)
        if not composite or selected.sub is None:
            return {group}
        sub_type = named.name
        if join is not None and join.type:
            sub_type = join.type.replace("[", "").replace("]", "").replace("!", "").strip()
            if sub_type != named.name and ctx.supergraph.types.get(named.name) is not None:
                if ctx.supergraph.types[named.name].kind.is_abstract:
                    selected.sub.add_field("__typename", "__typename", "", False)
        sub_provided = provided_under(provided, name, join)
        inside = scope.inside(Frame(group, target, type_name, path, key, nodes))
        objects_path = sub_path(path, key, fdef.type)
        subs = sub_selections(nodes)
        return self.selection(group, selected.sub, sub_type, subs, objects_path, sub_provided, inside)

    def jump(
        self,
        group: FetchGroup,
        target: SelectionSet,
        type_name: str,
        key: str,
        nodes: list[FieldNode],
        path: tuple[str, ...],
        provided: dict[str, list[FieldNode]],
        scope: Scope,
    ) -> set[FetchGroup]:
        """Fetch the field with `_entities` from a subgraph that resolves it, keyed from `group`."""
        ctx = self.ctx
        name = nodes[0].name.value
        candidates = [c for c in jump_candidates(ctx, type_name, name) if c[0] not in scope.excluded]
        if not candidates:
            via_parent = self.via_parent(type_name, nodes, scope)
            if via_parent is not None:
                return via_parent
            raise PlanningError(
                f"cannot plan {type_name}.{name}: no subgraph resolves it from subgraph "
                f"{ctx.supergraph.graphs[group.graph].name}"
            )
        subs = sub_selections(nodes)
        named = get_named_type(ctx.field_def(type_name, name).type)
        graph, entity_type, rep_typename = best_jump(
            ctx, candidates, self.groups.entity_keys, path, type_name, named.name, subs
        )
        join = ctx.supergraph.field_join(entity_type, name, graph)
        requires = join.requires if join is not None else None
        key_set = choose_key(ctx, group.graph, type_name, ctx.supergraph.types[entity_type].keys(graph))
        req_deps: set[FetchGroup] = set()
        req_selections: Sequence[SelectionNode] = ()
        if requires:
            req_selections = alias_arguments(parse_field_set(requires).selections)
            reading = scope.reading_requires()
            req_deps = self.selection(group, target, type_name, req_selections, path, None, reading)
        at = (ctx, graph, path, entity_type, type_name, rep_typename, {type_name})
        entity = self.groups.entity(*at, False)
        if any(d is entity or depends_on(d, entity) for d in req_deps) or conflicts(
            entity.requires, req_selections
        ):
            entity = self.groups.entity(*at, True)  # the inputs wait for the shared fetch, or clash with it
        touched: set[FetchGroup] = {group, entity}
        provided_nodes = [n for ns in provided.values() for n in ns]
        entity.deps |= self.add_key(
            group, target, type_name, key_set, path, entity, provided_nodes, False, scope
        )
        if requires:
            merge_requirement(ctx, entity.requires, type_name, req_selections)
            entity.deps |= req_deps
        entity.deps.discard(entity)
        touched |= self.field(entity, entity.selection, entity_type, key, nodes, path, {}, scope, True)
        return touched

    def via_parent(self, type_name: str, nodes: list[FieldNode], scope: Scope) -> set[FetchGroup] | None:
        """Fetch the parent field again from a subgraph that resolves this field under it.

        Needed when the object has no usable key (a value type, or a type without a key in the
        subgraph that owns the field) but its parent is an entity, or a shared root field.
        """
        if not scope.frames:
            return None
        ctx = self.ctx
        frame = scope.frames[-1]
        parent_field = frame.nodes[0].name.value
        name = nodes[0].name.value
        root = frame.path == () and not frame.group.is_entity
        for graph in ctx.supergraph.graphs:
            if graph == frame.group.graph:
                continue
            if not ctx.supergraph.field_resolvable_in(frame.type_name, parent_field, graph):
                continue
            if not is_local(ctx, graph, type_name, name, {}):
                continue
            if root:
                if frame.group.operation_kind != "query":
                    continue
                group = self.groups.root(graph, "query")
                deps: set[FetchGroup] = set()
            else:
                pmodel = ctx.supergraph.types.get(frame.type_name)
                if pmodel is None or not pmodel.keys(graph):
                    continue
                key_set = choose_key(ctx, frame.group.graph, frame.type_name, pmodel.keys(graph))
                group = self.groups.entity(
                    ctx, graph, frame.path, frame.type_name, frame.type_name, None, {frame.type_name}, False
                )
                deps = self.add_key(
                    frame.group, frame.target, frame.type_name, key_set, frame.path, group, None, True, scope
                )
            group.deps |= deps
            group.deps.discard(group)
            reduced = [
                FieldNode(
                    alias=n.alias,
                    name=n.name,
                    arguments=n.arguments,
                    directives=n.directives,
                    selection_set=SelectionSetNode(selections=tuple(nodes)),
                )
                for n in frame.nodes[:1]
            ]
            touched = self.field(
                group, group.selection, frame.type_name, frame.key, reduced, frame.path, {}, scope, True
            )
            return touched | {frame.group}
        return None

    def add_key(
        self,
        group: FetchGroup,
        target: SelectionSet,
        type_name: str,
        key: str,
        path: tuple[str, ...],
        entity: FetchGroup,
        provided: Sequence[SelectionNode] | None,
        reuse_fetched: bool,
        scope: Scope,
    ) -> set[FetchGroup]:
        """Make `group` fetch `__typename` and the key fields; `entity` reads them as its representation.

        With `reuse_fetched`, a key field some other group already fetches at the path (and that
        does not wait for `entity`) is read from there; the groups the entity must wait for."""
        target.add_field("__typename", "__typename", "", False)
        already: set[FetchGroup] = set()
        remaining = []
        for selection in require_key(self.ctx, entity, type_name, key):
            owner = (
                self.groups.fetched_by(path, type_name, selection.name.value)
                if reuse_fetched and isinstance(selection, FieldNode) and selection.selection_set is None
                else None
            )
            if owner is not None and owner is not entity and not depends_on(owner, entity):
                already.add(owner)
            else:
                remaining.append(selection)
        if not remaining:
            target.add_field("__typename", "__typename", "", False)
            return already | {group}
        reading = scope.reading_key_for(entity.graph)
        return already | self.selection(group, target, type_name, remaining, path, provided or None, reading)


def _arguments_text(node: FieldNode, group: FetchGroup) -> str:
    """The field's arguments as sent; the variables they use become the group's."""
    if not node.arguments:
        return ""

    class _Vars(Visitor):
        def enter_variable(self, var: VariableNode, *_args: Any) -> None:
            group.variables.add(var.name.value)

    for argument in node.arguments:
        visit(argument, _Vars())
    return "(" + ", ".join(print_ast(a) for a in node.arguments) + ")"
