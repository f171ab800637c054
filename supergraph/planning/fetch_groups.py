"""Stage 3's ledger: the fetch groups one planning run has made so far, and when to reuse one.

Merging fetches is decided here, at the moment the walk asks for a group, not in a pass over the
finished plan: a query's root fields share one group per subgraph; `_entities` jumps share one
group per subgraph, path, entity type and runtime type (unless a jump's `@requires` inputs would
clash, then it gets its own); and a key field some group already fetches at a path can be read
from that group instead of being fetched again. Group ids are the creation order, so the plan
the executor and `extensions.queryPlan` see depends only on the order of these requests.
"""

from __future__ import annotations

from collections.abc import Container

from supergraph.plan import FetchGroup
from supergraph.planning.context import PlanContext
from supergraph.supergraph_schema import TypeKind

# (subgraph, path, entity type, runtime type), plus the group count for a group of its own
EntityKey = tuple[object, ...]
# (path, parent type, response key) of a field fetched without arguments
FetchedKey = tuple[tuple[str, ...], str, str]


class FetchGroups:
    """The groups of one planning run in creation order, and the phase now being filled."""

    def __init__(self) -> None:
        self.all: list[FetchGroup] = []
        self.phase: list[FetchGroup] = []
        self._entities: dict[EntityKey, FetchGroup] = {}
        self._roots: dict[str, FetchGroup] = {}
        self._fetched: dict[FetchedKey, FetchGroup] = {}

    @property
    def entity_keys(self) -> Container[EntityKey]:
        """The (subgraph, path, entity type, runtime type) of every shared entity group so far."""
        return self._entities

    @property
    def root_graphs(self) -> Container[str]:
        """The subgraphs that have a root-field group so far."""
        return self._roots

    def new(self, graph: str, path: tuple[str, ...], kind: str = "query") -> FetchGroup:
        """A new group in the current phase."""
        group = FetchGroup(id=len(self.all), graph=graph, path=path, operation_kind=kind)
        self.all.append(group)
        self.phase.append(group)
        return group

    def next_phase(self) -> list[FetchGroup]:
        """Close the current phase (returned) and start an empty one: mutation fields run in order."""
        done, self.phase = self.phase, []
        return done

    def root(self, graph: str, kind: str) -> FetchGroup:
        """The root-field group of a subgraph (one per subgraph for a query or subscription)."""
        group = self._roots.get(graph)
        if group is None:
            group = self._roots[graph] = self.new(graph, (), kind)
        return group

    def entity(
        self,
        ctx: PlanContext,
        graph: str,
        path: tuple[str, ...],
        entity_type: str,
        runtime_type: str,
        rep_typename: str | None,
        match: set[str],
        separate: bool,
    ) -> FetchGroup:
        """The `_entities` group for objects of `runtime_type` at `path`, asked of `graph` as
        `entity_type`: the shared one, or (`separate`) a new one that no later jump joins."""
        cache_key: EntityKey = (graph, path, entity_type, runtime_type)
        if separate:
            cache_key = (*cache_key, len(self.all))
        group = self._entities.get(cache_key)
        if group is None:
            group = self.new(graph, path)
            group.entity_type = entity_type
            group.rep_typename = rep_typename
            self._entities[cache_key] = group
        model = ctx.supergraph.types.get(entity_type)
        if model is not None and model.kind is TypeKind.INTERFACE and model.is_interface_object(graph):
            group.rep_typename = entity_type
            match = match | {entity_type, *ctx.supergraph.supergraph_possible_types(entity_type)}
        group.match_types |= match
        return group

    def note_fetched(self, path: tuple[str, ...], type_name: str, key: str, group: FetchGroup) -> None:
        """Remember the first group to fetch an argument-less field at a path."""
        self._fetched.setdefault((path, type_name, key), group)

    def fetched_by(self, path: tuple[str, ...], type_name: str, key: str) -> FetchGroup | None:
        """The group that already fetches the field at the path, if one does."""
        return self._fetched.get((path, type_name, key))


def depends_on(group: FetchGroup, other: FetchGroup) -> bool:
    """Whether `group` waits, directly or through others, for `other`."""
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
