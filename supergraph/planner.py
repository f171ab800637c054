"""Turn a client operation into subgraph fetches, using only the supergraph's join metadata.

This module is the planner's front door (the gateway, subscriptions and `@defer` call it); the
stages live in supergraph/planning/, one module each (see its __init__ and the README).

The plan is a list of phases (one for a query, one per run of mutation root fields so they run
in order); each phase is a set of fetch groups with dependencies. A fetch group is one request to
one subgraph: either root fields, or `_entities` for the objects found at a response path.
The executor merges every fetch into one response tree; the final shape (aliases, fragments,
null propagation) is produced afterwards from the client's own document, so the planner may
over-fetch helper fields (keys, `__typename`, `@requires` inputs) freely.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from graphql import FragmentDefinitionNode, GraphQLError, OperationDefinitionNode, SelectionNode

from supergraph.plan import PlanningError, QueryPlan
from supergraph.planning.context import PlanContext
from supergraph.planning.roots import plan_entities, plan_operation
from supergraph.supergraph_schema import Supergraph


def build_plan(
    supergraph: Supergraph,
    operation: OperationDefinitionNode,
    fragments: dict[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
) -> QueryPlan:
    """Plan one operation; raises PlanningError when the supergraph cannot serve it."""
    with _planning_errors():
        return plan_operation(PlanContext.of(supergraph, operation, fragments, variables))


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
    with _planning_errors():
        ctx = PlanContext.of(supergraph, operation, {}, variables)
        return plan_entities(ctx, type_name, selections, path)


@contextmanager
def _planning_errors() -> Iterator[None]:
    """Every failure to plan as PlanningError (the client sees QUERY_PLANNING_FAILED)."""
    try:
        yield
    except PlanningError:
        raise
    except GraphQLError as exc:
        raise PlanningError(str(exc)) from exc
    except RecursionError as exc:  # a last resort: the search bounds (planning/walk.py) should come first
        raise PlanningError("the planner's search did not terminate") from exc
