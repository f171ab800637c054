"""Stage 4, finalising: turn the fetch groups the walk built into the QueryPlan the executor runs.

Only now is each group's selection complete, so only now can its operation text be printed, with
fields aliased where sibling fragments disagree on a field's type (a subgraph would refuse such a
query), and the dependencies checked for cycles (a plan with one would never finish).
"""

from __future__ import annotations

from collections.abc import Sequence

from supergraph.plan import FetchGroup, PlanningError, QueryPlan
from supergraph.planning.context import PlanContext
from supergraph.selection import dodge_type_conflicts


def finalise(ctx: PlanContext, groups: Sequence[FetchGroup], phases: list[list[FetchGroup]]) -> QueryPlan:
    """Print every phase's fetches, refuse cyclic dependencies among `groups`, drop empty phases."""
    for phase in phases:
        for group in phase:
            group.renames = dodge_type_conflicts(group.selection)
            group.query_text = operation_text(ctx, group)
    check_acyclic(groups)
    return QueryPlan(
        operation=ctx.operation,
        fragments=ctx.fragments,
        phases=[p for p in phases if p],
        variable_definitions=ctx.variable_types,
    )


def check_acyclic(groups: Sequence[FetchGroup]) -> None:
    """Raise PlanningError when some fetch group depends, through others, on itself."""
    state: dict[int, int] = {}

    def walk(group: FetchGroup) -> None:
        mark = state.get(group.id)
        if mark == 2:
            return
        if mark == 1:
            raise PlanningError("cyclic fetch dependencies")
        state[group.id] = 1
        for dep in group.deps:
            walk(dep)
        state[group.id] = 2

    for group in groups:
        walk(group)


def operation_text(ctx: PlanContext, group: FetchGroup) -> str:
    """The GraphQL operation sent to the group's subgraph, declaring only the variables it uses."""
    var_defs = [f"${name}: {ctx.variable_types[name]}" for name in sorted(group.variables)]
    if group.is_entity:
        var_defs.insert(0, "$representations: [_Any!]!")
        head = "query" + (f"({', '.join(var_defs)})" if var_defs else "")
        inner = group.selection.printed()
        return (
            f"{head} {{ _entities(representations: $representations) "
            f"{{ ... on {group.entity_type} {inner} }} }}"
        )
    head = group.operation_kind + (f"({', '.join(var_defs)})" if var_defs else "")
    return f"{head} {group.selection.printed()}"
