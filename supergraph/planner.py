"""Turn a client operation into subgraph fetches, using only the supergraph's join metadata.

The plan is a list of phases (one for a query, one per run of mutation root fields so they run
in order); each phase is a set of fetch groups with dependencies. A fetch group is one request to
one subgraph: either root fields, or `_entities` for the objects found at a response path.
The executor merges every fetch into one response tree; the final shape (aliases, fragments,
null propagation) is produced afterwards from the client's own document, so the planner may
over-fetch helper fields (keys, `__typename`, `@requires` inputs) freely.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar, cast

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    InlineFragmentNode,
    NameNode,
    OperationDefinitionNode,
    SelectionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    is_composite_type,
    is_list_type,
    is_non_null_type,
    print_ast,
    visit,
)
from graphql.language import Visitor

from supergraph.fieldset import parse_field_set
from supergraph.plan import LIST, FetchGroup, PlanningError, QueryPlan
from supergraph.planning.choose import (
    best_jump,
    choose_key,
    entity_graph,
    interface_owner,
    is_local,
    jump_candidates,
    root_graph,
    shared_possible_types,
)
from supergraph.planning.collect import collect, has_foreign_fragments, provided_fields
from supergraph.planning.context import Frame, PlanContext
from supergraph.planning.finalise import finalise
from supergraph.selection import SelectionSet
from supergraph.supergraph_schema import Supergraph, TypeKind

# How far the search may go: operation depth is bounded by ROUTER_MAX_DEPTH (15 by default), and
# a real plan nests one step per level plus a few for @requires and jumps through a parent.
MAX_SEARCH_DEPTH = 64
MAX_SEARCH_STEPS = 50_000


PlanField = TypeVar("PlanField", bound=Callable[..., Any])


def _bounded_search(plan_field: PlanField) -> PlanField:
    """Each planned field is one step of the search, within explicit bounds: a supergraph whose types
    lead back to themselves (e.g. an entity no subgraph can start from) ends in PlanningError, not in
    Python's recursion limit."""

    @functools.wraps(plan_field)
    def bounded(self: Planner, *args: Any, **kwargs: Any) -> Any:
        self._steps += 1
        self._depth += 1
        try:
            if self._depth > MAX_SEARCH_DEPTH or self._steps > MAX_SEARCH_STEPS:
                type_name, nodes = args[2], args[4]
                raise PlanningError(
                    f"no plan found for {type_name}.{nodes[0].name.value} within the planner's search "
                    f"bounds ({MAX_SEARCH_DEPTH} nested steps, {MAX_SEARCH_STEPS} in all)"
                )
            return plan_field(self, *args, **kwargs)
        finally:
            self._depth -= 1

    return cast(PlanField, bounded)


class Planner:
    """Builds a QueryPlan for one operation; instantiate per planning run."""

    def __init__(
        self,
        supergraph: Supergraph,
        operation: OperationDefinitionNode,
        fragments: dict[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
    ) -> None:
        self.sg = supergraph
        self.schema = supergraph.schema
        self.operation = operation
        self.fragments = fragments
        self.variables = variables
        self.groups: list[FetchGroup] = []
        self._entity_groups: dict[tuple[Any, ...], FetchGroup] = {}
        self._phase: list[FetchGroup] = []
        self._frames: list[Frame] = []
        self._internal = 0
        self._depth = 0
        self._steps = 0
        self._excluded: list[str] = []
        self._fetched: dict[tuple[tuple[str, ...], str, str], FetchGroup] = {}
        self._root_groups: dict[str, FetchGroup] = {}
        self.ctx = PlanContext.of(supergraph, operation, fragments, variables)
        self.variable_types = self.ctx.variable_types

    # ---- helpers --------------------------------------------------------------------------------

    def _new_group(self, graph: str, path: tuple[str, ...], kind: str = "query") -> FetchGroup:
        group = FetchGroup(id=len(self.groups), graph=graph, path=path, operation_kind=kind)
        self.groups.append(group)
        self._phase.append(group)
        return group

    def _field_def(self, type_name: str, field_name: str) -> Any:
        gtype = self.schema.get_type(type_name)
        fields = getattr(gtype, "fields", None) or {}
        return fields.get(field_name)

    def _args_text(self, node: FieldNode, group: FetchGroup) -> str:
        if not node.arguments:
            return ""

        class _Vars(Visitor):
            def enter_variable(self, var: VariableNode, *_args: Any) -> None:
                group.variables.add(var.name.value)

        for argument in node.arguments:
            visit(argument, _Vars())
        return "(" + ", ".join(print_ast(a) for a in node.arguments) + ")"

    # ---- planning ------------------------------------------------------------------------------

    def plan(self) -> QueryPlan:
        root_type = self.schema.get_root_type(self.operation.operation)
        if root_type is None:
            raise PlanningError(f"the supergraph has no {self.operation.operation.value} type")
        kind = self.operation.operation.value
        fields = collect(self.ctx, root_type.name, self.operation.selection_set.selections)
        phases: list[list[FetchGroup]] = []
        if kind == "mutation":
            current: FetchGroup | None = None
            for key, nodes in fields.items():
                name = nodes[0].name.value
                if name.startswith("__"):
                    continue
                candidates = self.sg.resolving_graphs(root_type.name, name)
                if not candidates:
                    raise PlanningError(f"no subgraph resolves {root_type.name}.{name}")
                graph = (
                    current.graph if current is not None and current.graph in candidates else candidates[0]
                )
                if current is None or current.graph != graph:
                    if current is not None:
                        phases.append(self._phase)
                    self._phase = []
                    current = self._new_group(graph, (), kind)
                self._plan_field(current, current.selection, root_type.name, key, nodes, (), {})
            if self._phase:
                phases.append(self._phase)
        else:
            by_graph = self._root_groups
            for key, nodes in fields.items():
                name = nodes[0].name.value
                if name.startswith("__"):
                    continue
                candidates = self.sg.resolving_graphs(root_type.name, name)
                if not candidates:
                    raise PlanningError(f"no subgraph resolves {root_type.name}.{name}")
                subs = [s for n in nodes if n.selection_set for s in n.selection_set.selections]
                graph = root_graph(self.ctx, root_type.name, name, candidates, subs, by_graph)
                group = by_graph.get(graph)
                if group is None:
                    group = by_graph[graph] = self._new_group(graph, (), kind)
                self._plan_field(group, group.selection, root_type.name, key, nodes, (), {})
            phases.append(self._phase)
        return finalise(self.ctx, self.groups, phases)

    def plan_selection(
        self,
        group: FetchGroup,
        target: SelectionSet,
        type_name: str,
        selections: Sequence[SelectionNode],
        path: tuple[str, ...],
        provided: Sequence[SelectionNode] | None,
    ) -> set[FetchGroup]:
        """Plan `selections` on an object of static type `type_name` produced by `group`."""
        touched: set[FetchGroup] = {group}
        model = self.sg.types.get(type_name)
        kind = model.kind if model is not None else TypeKind.OBJECT
        if kind.is_abstract:
            if model is not None and model.is_interface_object(group.graph):
                return self._plan_interface_object(group, target, type_name, selections, path, provided)
            target.add_field("__typename", "__typename", "", False)
            possible = shared_possible_types(self.ctx, self._frames, type_name, group.graph)
            if kind is TypeKind.INTERFACE and not possible:
                fields = collect(self.ctx, type_name, selections)
                prov = provided_fields(self.ctx, provided, type_name)
                touched |= self._plan_fields(group, target, type_name, fields, path, prov)
                return touched
            if kind is TypeKind.INTERFACE and not has_foreign_fragments(self.ctx, type_name, selections):
                fields = collect(self.ctx, type_name, selections)
                prov = provided_fields(self.ctx, provided, type_name)
                simple = all(
                    nodes[0].name.value == "__typename"
                    or (
                        is_local(self.ctx, group.graph, type_name, nodes[0].name.value, prov)
                        and all(
                            is_local(self.ctx, group.graph, r, nodes[0].name.value, prov) for r in possible
                        )
                    )
                    for nodes in fields.values()
                )
                if simple:
                    touched |= self._plan_fields(group, target, type_name, fields, path, prov)
                    return touched
            for runtime in possible:
                fields = collect(self.ctx, runtime, selections)
                if not fields:
                    continue
                prov = provided_fields(self.ctx, provided, runtime)
                touched |= self._plan_fields(group, target.fragment(runtime), runtime, fields, path, prov)
            return touched
        fields = collect(self.ctx, type_name, selections)
        touched |= self._plan_fields(
            group, target, type_name, fields, path, provided_fields(self.ctx, provided, type_name)
        )
        return touched

    def _plan_interface_object(
        self,
        group: FetchGroup,
        target: SelectionSet,
        type_name: str,
        selections: Sequence[SelectionNode],
        path: tuple[str, ...],
        provided: Sequence[SelectionNode] | None,
    ) -> set[FetchGroup]:
        """The subgraph sees this interface as an object: concrete types come from elsewhere."""
        touched: set[FetchGroup] = {group}
        fields = collect(self.ctx, type_name, selections)
        # The response shaper needs the concrete __typename, except for internal key/requires reads.
        needs_concrete = self._internal == 0 or has_foreign_fragments(self.ctx, type_name, selections)
        own = {k: v for k, v in fields.items() if v[0].name.value != "__typename"}
        target.add_field("__typename", "__typename", "", False)
        touched |= self._plan_fields(
            group, target, type_name, own, path, provided_fields(self.ctx, provided, type_name)
        )
        if needs_concrete and self.sg.supergraph_possible_types(type_name):
            owner = interface_owner(self.ctx, type_name)
            if owner is None:
                raise PlanningError(f"no subgraph resolves the concrete type of interface {type_name}")
            key = self.sg.types[type_name].keys(owner)[0]
            entity = self._entity_group(owner, path, type_name, type_name, None, {type_name}, False)
            deps = self._add_key(group, target, type_name, key, path, entity)
            entity.deps |= deps
            concrete = [s for s in selections if not isinstance(s, FieldNode) or s.name.value == "__typename"]
            inner = entity.selection
            inner.add_field("__typename", "__typename", "", False)
            touched |= self.plan_selection(entity, inner, type_name, concrete, path, None)
        return touched

    def _plan_fields(
        self,
        group: FetchGroup,
        target: SelectionSet,
        type_name: str,
        fields: dict[str, list[FieldNode]],
        path: tuple[str, ...],
        provided: dict[str, list[FieldNode]],
    ) -> set[FetchGroup]:
        touched: set[FetchGroup] = {group}
        for key, nodes in fields.items():
            touched |= self._plan_field(group, target, type_name, key, nodes, path, provided)
        return touched

    def _sub_path(self, path: tuple[str, ...], key: str, field_type: Any) -> tuple[str, ...]:
        out = (*path, key)
        gtype = field_type
        while True:
            if is_non_null_type(gtype):
                gtype = gtype.of_type
            if is_list_type(gtype):
                out = (*out, LIST)
                gtype = gtype.of_type
                continue
            break
        return out

    @_bounded_search
    def _plan_field(
        self,
        group: FetchGroup,
        target: SelectionSet,
        type_name: str,
        key: str,
        nodes: list[FieldNode],
        path: tuple[str, ...],
        provided: dict[str, list[FieldNode]],
        force_local: bool = False,
    ) -> set[FetchGroup]:
        name = nodes[0].name.value
        if name == "__typename":
            target.add_field("__typename", "__typename", "", False)
            return {group}
        fdef = self._field_def(type_name, name)
        if fdef is None:
            raise PlanningError(f"unknown field {type_name}.{name}")
        root_field = not group.is_entity and path == ()
        if force_local or root_field or is_local(self.ctx, group.graph, type_name, name, provided):
            named = get_named_type(fdef.type)
            composite = is_composite_type(named)
            join = self.sg.field_join(type_name, name, group.graph)
            type_sig = join.type if join is not None and join.type else str(fdef.type)
            selected = target.add_field(key, name, self._args_text(nodes[0], group), composite, type_sig)
            if not nodes[0].arguments:
                self._fetched.setdefault((path, type_name, key), group)
            if not composite or selected.sub is None:
                return {group}
            sub_type = named.name
            if join is not None and join.type:
                sub_type = join.type.replace("[", "").replace("]", "").replace("!", "").strip()
                if sub_type != named.name and self.sg.types.get(named.name) is not None:
                    if self.sg.types[named.name].kind.is_abstract:
                        selected.sub.add_field("__typename", "__typename", "", False)
            subs = [s for n in nodes if n.selection_set for s in n.selection_set.selections]
            sub_provided: list[SelectionNode] = [
                s for p in provided.get(name, []) if p.selection_set for s in p.selection_set.selections
            ]
            if join is not None and join.provides:
                sub_provided.extend(parse_field_set(join.provides).selections)
            self._frames.append(Frame(group, target, type_name, path, key, nodes))
            try:
                return self.plan_selection(
                    group,
                    selected.sub,
                    sub_type,
                    subs,
                    self._sub_path(path, key, fdef.type),
                    sub_provided or None,
                )
            finally:
                self._frames.pop()
        return self._jump(group, target, type_name, key, nodes, path, provided)

    def _via_parent(self, type_name: str, key: str, nodes: list[FieldNode]) -> set[FetchGroup] | None:
        """Fetch the parent field again from a subgraph that resolves this field under it.

        Needed when the object has no usable key (a value type, or a type without a key in the
        subgraph that owns the field) but its parent is an entity, or a shared root field.
        """
        if not self._frames:
            return None
        frame = self._frames[-1]
        parent_field = frame.nodes[0].name.value
        name = nodes[0].name.value
        root = frame.path == () and not frame.group.is_entity
        for graph in self.sg.graphs:
            if graph == frame.group.graph:
                continue
            if not self.sg.field_resolvable_in(frame.type_name, parent_field, graph):
                continue
            if not is_local(self.ctx, graph, type_name, name, {}):
                continue
            if root:
                if frame.group.operation_kind != "query":
                    continue
                group = self._root_groups.get(graph)
                if group is None:
                    group = self._root_groups[graph] = self._new_group(graph, (), "query")
                deps: set[FetchGroup] = set()
            else:
                pmodel = self.sg.types.get(frame.type_name)
                if pmodel is None or not pmodel.keys(graph):
                    continue
                key_set = choose_key(self.ctx, frame.group.graph, frame.type_name, pmodel.keys(graph))
                group = self._entity_group(
                    graph, frame.path, frame.type_name, frame.type_name, None, {frame.type_name}, False
                )
                deps = self._add_key(
                    frame.group, frame.target, frame.type_name, key_set, frame.path, group, reuse_fetched=True
                )
            inner = group.selection
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
            touched = self._plan_field(
                group, inner, frame.type_name, frame.key, reduced, frame.path, {}, force_local=True
            )
            return touched | {frame.group}
        return None

    def _entity_group(
        self,
        graph: str,
        path: tuple[str, ...],
        entity_type: str,
        runtime_type: str,
        rep_typename: str | None,
        match: set[str],
        requires: bool,
    ) -> FetchGroup:
        cache_key: tuple[Any, ...] = (graph, path, entity_type, runtime_type)
        if requires:
            cache_key = (*cache_key, len(self.groups))
        group = self._entity_groups.get(cache_key)
        if group is None:
            group = self._new_group(graph, path)
            group.entity_type = entity_type
            group.rep_typename = rep_typename
            self._entity_groups[cache_key] = group
        model = self.sg.types.get(entity_type)
        if model is not None and model.kind is TypeKind.INTERFACE and model.is_interface_object(graph):
            group.rep_typename = entity_type
            match = match | {entity_type, *self.sg.supergraph_possible_types(entity_type)}
        group.match_types |= match
        return group

    @staticmethod
    def _depends_on(group: FetchGroup, other: FetchGroup) -> bool:
        seen: set[int] = set()
        stack = list(group.deps)
        while stack:
            current = stack.pop()
            if current is other:
                return True
            if current.id in seen:
                continue
            seen.add(current.id)
            stack.extend(current.deps)
        return False

    def _add_key(
        self,
        group: FetchGroup,
        target: SelectionSet,
        type_name: str,
        key: str,
        path: tuple[str, ...],
        entity: FetchGroup,
        provided: Sequence[SelectionNode] | None = None,
        reuse_fetched: bool = False,
    ) -> set[FetchGroup]:
        """Make `group` fetch `__typename` and the key fields; `entity` reads them as its representation."""
        target.add_field("__typename", "__typename", "", False)
        entity.requires.add_field("__typename", "__typename", "", False)
        selections = parse_field_set(key).selections
        for selection in selections:
            if isinstance(selection, FieldNode):
                entity.key_fields.add(selection.name.value)
        self._merge_requirement(entity.requires, type_name, selections)
        already: set[FetchGroup] = set()
        remaining = []
        for selection in selections:
            owner = (
                self._fetched.get((path, type_name, selection.name.value))
                if reuse_fetched and isinstance(selection, FieldNode) and selection.selection_set is None
                else None
            )
            if owner is not None and owner is not entity and not self._depends_on(owner, entity):
                already.add(owner)
            else:
                remaining.append(selection)
        if not remaining:
            target.add_field("__typename", "__typename", "", False)
            return already | {group}
        self._internal += 1
        self._excluded.append(entity.graph)
        try:
            return already | self.plan_selection(group, target, type_name, remaining, path, provided or None)
        finally:
            self._internal -= 1
            self._excluded.pop()

    def _merge_requirement(
        self, target: SelectionSet, type_name: str, selections: Sequence[SelectionNode]
    ) -> None:
        """Record what an entity fetch copies into each representation (keys, @requires inputs)."""
        for selection in selections:
            if isinstance(selection, FieldNode):
                fdef = self._field_def(type_name, selection.name.value)
                named = get_named_type(fdef.type) if fdef is not None else None
                composite = named is not None and is_composite_type(named)
                response_key = selection.alias.value if selection.alias else selection.name.value
                selected = target.add_field(response_key, selection.name.value, "", composite)
                if selection.selection_set and selected.sub is not None and named is not None:
                    sub_model = self.sg.types.get(named.name)
                    if sub_model is not None and sub_model.kind.is_abstract:
                        selected.sub.add_field("__typename", "__typename", "", False)
                    self._merge_requirement(selected.sub, named.name, selection.selection_set.selections)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition.name.value if selection.type_condition else type_name
                self._merge_requirement(
                    target.fragment(condition), condition, selection.selection_set.selections
                )

    def _jump(
        self,
        group: FetchGroup,
        target: SelectionSet,
        type_name: str,
        key: str,
        nodes: list[FieldNode],
        path: tuple[str, ...],
        provided: dict[str, list[FieldNode]] | None = None,
    ) -> set[FetchGroup]:
        name = nodes[0].name.value
        candidates = [c for c in jump_candidates(self.ctx, type_name, name) if c[0] not in self._excluded]
        if not candidates:
            via_parent = self._via_parent(type_name, key, nodes)
            if via_parent is not None:
                return via_parent
            raise PlanningError(
                f"cannot plan {type_name}.{name}: no subgraph resolves it from subgraph "
                f"{self.sg.graphs[group.graph].name}"
            )
        subs = [s for n in nodes if n.selection_set for s in n.selection_set.selections]
        fdef = self._field_def(type_name, name)
        named = get_named_type(fdef.type)
        graph, entity_type, rep_typename = best_jump(
            self.ctx, candidates, self._entity_groups, path, type_name, named.name, subs
        )
        join = self.sg.field_join(entity_type, name, graph)
        requires = join.requires if join is not None else None
        entity_model = self.sg.types[entity_type]
        key_set = choose_key(self.ctx, group.graph, type_name, entity_model.keys(graph))
        req_deps: set[FetchGroup] = set()
        req_selections: Sequence[SelectionNode] = ()
        if requires:
            req_selections = _alias_arguments(parse_field_set(requires).selections)
            self._internal += 1
            try:
                req_deps = self.plan_selection(group, target, type_name, req_selections, path, None)
            finally:
                self._internal -= 1
        entity = self._entity_group(graph, path, entity_type, type_name, rep_typename, {type_name}, False)
        if any(d is entity or self._depends_on(d, entity) for d in req_deps) or _conflicts(
            entity.requires, req_selections
        ):
            entity = self._entity_group(graph, path, entity_type, type_name, rep_typename, {type_name}, True)
        touched: set[FetchGroup] = {group, entity}
        provided_nodes = [n for ns in (provided or {}).values() for n in ns]
        entity.deps |= self._add_key(group, target, type_name, key_set, path, entity, provided_nodes)
        if requires:
            self._merge_requirement(entity.requires, type_name, req_selections)
            entity.deps |= req_deps
        entity.deps.discard(entity)
        touched |= self._plan_field(
            entity, entity.selection, entity_type, key, nodes, path, {}, force_local=True
        )
        return touched


def _conflicts(existing: SelectionSet, selections: Sequence[SelectionNode]) -> bool:
    """Whether a representation would need one field name with two different argument sets."""
    by_name = {f.name: f.response_key for f in existing.fields.values()}
    for selection in selections:
        if isinstance(selection, FieldNode):
            key = selection.alias.value if selection.alias else selection.name.value
            other = by_name.get(selection.name.value)
            if other is not None and other != key:
                return True
    return False


def _alias_arguments(selections: Sequence[SelectionNode]) -> tuple[SelectionNode, ...]:
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
                changes["selection_set"] = SelectionSetNode(
                    selections=_alias_arguments(selection.selection_set.selections)
                )
            out.append(dataclasses.replace(selection, **changes) if changes else selection)
        elif isinstance(selection, InlineFragmentNode):
            out.append(
                dataclasses.replace(
                    selection,
                    selection_set=SelectionSetNode(
                        selections=_alias_arguments(selection.selection_set.selections)
                    ),
                )
            )
        else:
            out.append(selection)
    return tuple(out)


def build_plan(
    supergraph: Supergraph,
    operation: OperationDefinitionNode,
    fragments: dict[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
) -> QueryPlan:
    """Plan one operation; raises PlanningError when the supergraph cannot serve it."""
    try:
        return Planner(supergraph, operation, fragments, variables).plan()
    except PlanningError:
        raise
    except GraphQLError as exc:
        raise PlanningError(str(exc)) from exc
    except RecursionError as exc:  # a last resort: the explicit bounds above should come first
        raise PlanningError("the planner's search did not terminate") from exc


def build_entity_plan(
    supergraph: Supergraph,
    operation: OperationDefinitionNode,
    variables: Mapping[str, Any],
    type_name: str,
    selections: Sequence[SelectionNode],
    path: tuple[str, ...],
) -> tuple[QueryPlan, str]:
    """Plan `selections` on the objects of entity type `type_name` already in the response at `path`
    (what a deferred fragment fetches after the initial payload, supergraph/defer.py): an `_entities`
    fetch to the subgraph that resolves most of them, then any jumps from there. Returns the plan and
    the key whose fields (with `__typename`) those objects must already hold."""
    try:
        planner = Planner(supergraph, operation, {}, variables)
        graph = entity_graph(planner.ctx, type_name, selections)
        if graph is None:
            raise PlanningError(f"{type_name} has no resolvable key")
        key = supergraph.types[type_name].keys(graph)[0]
        entity = planner._entity_group(graph, path, type_name, type_name, None, {type_name}, False)
        key_selections = parse_field_set(key).selections
        entity.requires.add_field("__typename", "__typename", "", False)
        entity.key_fields |= {s.name.value for s in key_selections if isinstance(s, FieldNode)}
        planner._merge_requirement(entity.requires, type_name, key_selections)
        planner.plan_selection(entity, entity.selection, type_name, selections, path, None)
        plan = finalise(planner.ctx, planner.groups, [planner._phase])
        return plan, key
    except PlanningError:
        raise
    except GraphQLError as exc:
        raise PlanningError(str(exc)) from exc
    except RecursionError as exc:
        raise PlanningError("the planner's search did not terminate") from exc
