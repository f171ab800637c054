"""The request pipeline without HTTP: parse, validate, limit, plan (cached), execute, shape."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    experimental_execute_incrementally,
    parse,
    validate,
)
from graphql.execution.values import get_variable_values
from opentelemetry.trace import get_current_span as current_span

from shared.limits import LimitExceeded, Limits, check_operation, check_tokens
from shared.tracing import span
from supergraph import metrics
from supergraph.defer import IncrementalResponse, defer_variables, start_incremental, without_defer
from supergraph.errors import RequestError as RequestError  # re-exported
from supergraph.executor import ExecutionState, Executor
from supergraph.fetcher import SubgraphClients
from supergraph.plan import PlanningError, QueryPlan, skip_include_variables
from supergraph.planner import build_plan
from supergraph.response import shape_response
from supergraph.supergraph_schema import Supergraph


@dataclass
class PreparedOperation:
    """What a plan-cache hit reuses: the parsed, validated operation and its plans."""

    document: DocumentNode
    operation: OperationDefinitionNode
    fragments: dict[str, FragmentDefinitionNode]
    skip_variables: list[str]
    introspection_only: bool
    has_introspection: bool
    plans: dict[tuple[Any, ...], QueryPlan] = field(default_factory=dict)
    # None without `@defer`; else the variables its `if` reads (supergraph/defer.py)
    defer_variables: tuple[str, ...] | None = None
    defer_splits: dict[tuple[Any, ...], Any] = field(default_factory=dict)


def planning_failed(exc: PlanningError) -> RequestError:
    """What the client is told when no combination of subgraphs serves its operation."""
    return RequestError(f"Query planning failed: {exc}", "QUERY_PLANNING_FAILED", 200)


class PlanCache:
    """Bounded LRU of prepared operations keyed by (document text, operation name)."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max(1, max_entries)
        self._entries: OrderedDict[tuple[str, str | None], PreparedOperation] = OrderedDict()

    def get(self, key: tuple[str, str | None]) -> PreparedOperation | None:
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def put(self, key: tuple[str, str | None], entry: PreparedOperation) -> None:
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


def _is_introspection(node: Any) -> bool:
    return isinstance(node, FieldNode) and node.name.value in ("__schema", "__type")


class Gateway:
    """Serves GraphQL requests for one supergraph; replace the whole object on re-composition."""

    def __init__(
        self,
        supergraph: Supergraph,
        clients: SubgraphClients,
        limits: Limits | None = None,
        plan_cache_size: int = 1000,
    ) -> None:
        self.supergraph = supergraph
        self.executor = Executor(supergraph, clients)
        self.limits = limits or Limits()
        self.cache = PlanCache(plan_cache_size)
        self.planner_calls = 0

    def prepare(self, query: str, operation_name: str | None) -> PreparedOperation:
        """Parse, validate and limit-check a document (only on a plan-cache miss)."""
        cache_key = (query, operation_name)
        cached = self.cache.get(cache_key)
        if cached is not None:
            metrics.PLAN_CACHE.labels(result="hit").inc()
            current_span().set_attribute("sawit.plan_cache", "hit")
            return cached
        metrics.PLAN_CACHE.labels(result="miss").inc()
        current_span().set_attribute("sawit.plan_cache", "miss")
        try:
            check_tokens(query, self.limits.max_tokens)
        except LimitExceeded as exc:
            raise RequestError(str(exc), exc.code) from exc
        try:
            with span("graphql.parse"):
                document = parse(query)
        except GraphQLError as exc:
            raise RequestError(exc.message, "GRAPHQL_PARSE_FAILED") from exc
        with span("graphql.validate"):
            errors = validate(self.supergraph.api_schema, document)
        if errors:
            raise RequestError(
                errors[0].message,
                "GRAPHQL_VALIDATION_FAILED",
                more_messages=tuple(e.message for e in errors[1:]),
            )
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if operation_name is None:
            if len(operations) != 1:
                raise RequestError(
                    "Must provide operation name if query contains multiple operations.",
                    "GRAPHQL_VALIDATION_FAILED",
                )
            operation = operations[0]
        else:
            matching = [o for o in operations if o.name and o.name.value == operation_name]
            if not matching:
                raise RequestError(
                    f"Unknown operation named '{operation_name}'.", "GRAPHQL_VALIDATION_FAILED"
                )
            operation = matching[0]
        fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        try:
            check_operation(operation, fragments, self.limits)
        except LimitExceeded as exc:
            raise RequestError(str(exc), exc.code) from exc
        roots = operation.selection_set.selections
        has_introspection = any(_is_introspection(s) for s in roots)
        introspection_only = all(isinstance(s, FieldNode) and (s.name.value.startswith("__")) for s in roots)
        prepared = PreparedOperation(
            document=document,
            operation=operation,
            fragments=fragments,
            skip_variables=skip_include_variables(operation, fragments),
            introspection_only=introspection_only,
            has_introspection=has_introspection,
            defer_variables=defer_variables(operation, fragments) if "@defer" in query else None,
        )
        self.cache.put(cache_key, prepared)
        return prepared

    def plan_for(self, prepared: PreparedOperation, variables: Mapping[str, Any]) -> QueryPlan:
        key = tuple(variables.get(name) for name in prepared.skip_variables)
        plan = prepared.plans.get(key)
        if plan is None:
            self.planner_calls += 1
            with span("graphql.plan"):
                plan = build_plan(self.supergraph, prepared.operation, prepared.fragments, variables)
            prepared.plans[key] = plan
        return plan

    def respond(
        self, prepared: PreparedOperation, state: ExecutionState, introspection: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        """The client's response from one run's merged fetches, shaped by its own document (with the
        run's variables); `errors` (before `data`) only when there are any, the shaper's own included."""
        data = shape_response(
            self.supergraph.api_schema,
            prepared.operation,
            prepared.fragments,
            state.variables,
            state.data,
            state.errors,
            introspection,
        )
        return {"errors": state.errors, "data": data} if state.errors else {"data": data}

    def coerce_variables(self, prepared: PreparedOperation, variables: Any) -> dict[str, Any]:
        if variables is None:
            variables = {}
        if not isinstance(variables, dict):
            raise RequestError("Variables must be a JSON object.", "BAD_USER_INPUT")
        result = get_variable_values(
            self.supergraph.api_schema, prepared.operation.variable_definitions or (), variables
        )
        if isinstance(result, list):
            raise RequestError(result[0].message, "BAD_USER_INPUT")
        merged = dict(variables)
        for name, value in result.coerced.items():
            if name not in merged:
                merged[name] = value
        return merged

    def _introspect(self, prepared: PreparedOperation, variables: Mapping[str, Any]) -> dict[str, Any]:
        roots = tuple(s for s in prepared.operation.selection_set.selections if _is_introspection(s))
        operation = OperationDefinitionNode(
            operation=OperationType.QUERY,
            selection_set=SelectionSetNode(selections=roots),
            variable_definitions=prepared.operation.variable_definitions,
        )
        document = DocumentNode(definitions=(operation, *prepared.fragments.values()))
        if prepared.defer_variables is not None:
            document = without_defer(document)
        # graphql-core's `execute` refuses a schema that declares @defer (the router's API schema does)
        result = experimental_execute_incrementally(
            self.supergraph.api_schema, document, variable_values=dict(variables)
        )
        assert isinstance(result, ExecutionResult)  # nothing is deferred in it
        return dict(result.data or {})

    async def execute(
        self,
        query: str,
        operation_name: str | None,
        variables: Any,
        headers: Mapping[str, str],
        include_plan: bool = False,
        prepared: PreparedOperation | None = None,
    ) -> dict[str, Any]:
        """Run one GraphQL request; RequestError for failures before execution."""
        if prepared is None:
            prepared = self.prepare(query, operation_name)
        coerced = self.coerce_variables(prepared, variables)
        introspection: dict[str, Any] | None = None
        if prepared.has_introspection:
            introspection = self._introspect(prepared, coerced)
        if prepared.introspection_only:
            data = shape_response(
                self.supergraph.api_schema,
                prepared.operation,
                prepared.fragments,
                coerced,
                {},
                [],
                introspection,
            )
            return {"data": data}
        try:
            plan = self.plan_for(prepared, coerced)
        except PlanningError as exc:
            raise planning_failed(exc) from exc
        state = await self.executor.execute(plan, ExecutionState(coerced, headers))
        response = self.respond(prepared, state, introspection)
        if include_plan:
            response.setdefault("extensions", {})["queryPlan"] = plan.describe()
        return response

    async def execute_incremental(
        self,
        query: str,
        operation_name: str | None,
        variables: Any,
        headers: Mapping[str, str],
        include_plan: bool = False,
    ) -> dict[str, Any] | IncrementalResponse:
        """`execute` for a client that accepts `multipart/mixed`: an operation with an active `@defer`
        answers as an IncrementalResponse (its initial payload ready, the deferred parts to come);
        anything else exactly as `execute`."""
        prepared = self.prepare(query, operation_name)
        if prepared.defer_variables is not None and not prepared.introspection_only:
            coerced = self.coerce_variables(prepared, variables)
            introspection = self._introspect(prepared, coerced) if prepared.has_introspection else None
            try:
                incremental = await start_incremental(
                    self, prepared, coerced, headers, introspection, include_plan
                )
            except PlanningError as exc:
                raise planning_failed(exc) from exc
            if incremental is not None:
                return incremental
        return await self.execute(query, operation_name, variables, headers, include_plan, prepared)
