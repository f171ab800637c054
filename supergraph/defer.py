"""`@defer` at the router: incremental delivery over `multipart/mixed` (deferSpec=20220824).

An operation with active deferred fragments (`if` not false) is split, once per set of steering
variable values and cached with the prepared operation:

- the *primary* selection: the operation without its deferred fragments, planned and run as usual;
  its shaped data is the first part, sent as soon as those fetches are done;
- one unit per deferred fragment, run once the unit holding its parent objects is done:
  * `root`: a fragment on the query root type is its own root fetch(es);
  * `entity`: a fragment on an entity type is an `_entities` plan starting from the objects already
    in the response at its path (`planner.build_entity_plan`); the parent unit's plan fetches their
    `__typename` and key fields for it;
  * `eager`: anything else (a value type, an abstract type, a mutation's fragments, a plan that fails)
    is fetched with its parent unit and only *delivered* separately, right after it.

Every unit merges into one raw tree (the executor's), and each object a fragment reaches becomes one
incremental item `{"data", "path", "label"?, "errors"?}` shaped from the fragment's own selections,
so applying every item's `data` at its `path` to the initial `data` gives the response without
`@defer`. The client must accept `multipart/mixed` (supergraph/server.py asks `accepts_multipart`);
otherwise the router answers one ordinary JSON response (the planner and the shaper ignore `@defer`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson
from graphql import (
    BooleanValueNode,
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLObjectType,
    InlineFragmentNode,
    NamedTypeNode,
    NameNode,
    OperationDefinitionNode,
    OperationType,
    SelectionNode,
    SelectionSetNode,
    StringValueNode,
    VariableNode,
    get_named_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
    visit,
)
from graphql.language import REMOVE, Visitor

from supergraph.executor import ExecutionState, _objects_at, deep_merge
from supergraph.fieldset import parse_field_set
from supergraph.plan import LIST, PlanningError, QueryPlan, should_include
from supergraph.planner import build_entity_plan, build_plan
from supergraph.response import INVALID, ResponseShaper, shape_response
from supergraph.supergraph_schema import Supergraph

if TYPE_CHECKING:
    from starlette.types import Send

    from supergraph.gateway import Gateway, PreparedOperation

log = logging.getLogger("supergraph.defer")

CONTENT_TYPE = b'multipart/mixed; boundary="-"; deferSpec=20220824'
_PART_HEAD = b"\r\ncontent-type: application/json; charset=utf-8\r\n\r\n"
_DELIMITER = b"\r\n---"
_CLOSE = b"\r\n-----\r\n"
ROOT, ENTITY, EAGER = "root", "entity", "eager"
_TYPENAME = FieldNode(name=NameNode(value="__typename"))


# ---- content negotiation ------------------------------------------------------------------------


def accepts_multipart(raw_headers: Iterable[tuple[bytes, bytes]]) -> bool:
    """Whether the client's `Accept` allows `multipart/mixed` (no `deferSpec`, or 20220824; q > 0)."""
    for name, value in raw_headers:
        if name == b"accept" and b"multipart/mixed" in value.lower() and _allows(value.decode("latin-1")):
            return True
    return False


def _allows(accept: str) -> bool:
    for media_range in accept.split(","):
        kind, *raw_params = (p.strip() for p in media_range.split(";"))
        if kind.lower() != "multipart/mixed":
            continue
        params = {}
        for param in raw_params:
            key, _, value = param.partition("=")
            params[key.strip().lower()] = value.strip().strip('"')
        try:
            if float(params.get("q", "1")) <= 0:
                continue
        except ValueError:
            continue
        if params.get("deferspec", "20220824") == "20220824":
            return True
    return False


# ---- what the document asks for -----------------------------------------------------------------


def defer_variables(
    operation: OperationDefinitionNode, fragments: Mapping[str, FragmentDefinitionNode]
) -> tuple[str, ...] | None:
    """None when the document has no `@defer`; else the variables its `if` arguments read (they are
    part of the cache key of the split). Runs only on a plan-cache miss."""
    found = False
    names: set[str] = set()

    class _Collect(Visitor):
        def enter_directive(self, node: DirectiveNode, *_args: Any) -> None:
            nonlocal found
            if node.name.value == "defer":
                found = True
                for argument in node.arguments or ():
                    if argument.name.value == "if" and isinstance(argument.value, VariableNode):
                        names.add(argument.value.name.value)

    visit(operation, _Collect())
    for fragment in fragments.values():
        visit(fragment, _Collect())
    return tuple(sorted(names)) if found else None


class _DropDefer(Visitor):
    def enter_directive(self, node: DirectiveNode, *_args: Any) -> Any:
        return REMOVE if node.name.value == "defer" else None


def without_defer(document: DocumentNode) -> DocumentNode:
    """The document with every `@defer` removed (what the router's own introspection executes)."""
    return visit(document, _DropDefer())  # type: ignore[no-any-return]


def _defer_args(node: SelectionNode, variables: Mapping[str, Any]) -> tuple[bool, str | None]:
    """(active, label) of a fragment's `@defer`; inactive without one or with `if: false`."""
    for directive in node.directives or ():
        if directive.name.value != "defer":
            continue
        label = None
        for argument in directive.arguments or ():
            value = argument.value
            if argument.name.value == "if":
                if isinstance(value, VariableNode):
                    if variables.get(value.name.value) is False:
                        return False, None
                elif isinstance(value, BooleanValueNode) and not value.value:
                    return False, None
            elif argument.name.value == "label" and isinstance(value, StringValueNode):
                label = value.value
        return True, label
    return False, None


# ---- the split ----------------------------------------------------------------------------------


@dataclass(eq=False)
class Deferred:
    """One active deferred fragment at one position of the (fragment-inlined) operation."""

    index: int
    label: str | None
    path: tuple[str, ...]
    parent_type: str
    condition: str
    node: InlineFragmentNode
    parent: Deferred | None
    mode: str = EAGER
    plan: QueryPlan | None = None
    key: str = ""
    selections: tuple[SelectionNode, ...] = ()

    @property
    def unit(self) -> Deferred | None:
        """The fetch unit whose results hold this fragment's data (None: the primary)."""
        if self.mode != EAGER:
            return self
        return self.parent.unit if self.parent is not None else None

    @property
    def waits_for(self) -> Deferred | None:
        """The unit that must be done before this one starts (it holds the parent objects)."""
        return self.parent.unit if self.parent is not None else None

    def describe(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "path": list(self.path),
            "mode": self.mode,
            "plan": self.plan.describe() if self.plan is not None else None,
        }


@dataclass
class Split:
    """The primary operation (for shaping), its plan, and the deferred fragments in document order."""

    operation: OperationDefinitionNode
    plan: QueryPlan
    deferred: list[Deferred] = field(default_factory=list)


def _with_selections(node: Any, selections: tuple[SelectionNode, ...]) -> Any:
    selection_set = SelectionSetNode(selections=selections)
    if isinstance(node, FieldNode):
        return FieldNode(
            alias=node.alias,
            name=node.name,
            arguments=node.arguments,
            directives=node.directives,
            selection_set=selection_set,
        )
    return InlineFragmentNode(
        type_condition=node.type_condition, directives=node.directives, selection_set=selection_set
    )


def _sub_path(path: tuple[str, ...], key: str, field_type: Any) -> tuple[str, ...]:
    out = (*path, key)
    while True:
        if is_non_null_type(field_type):
            field_type = field_type.of_type
        if is_list_type(field_type):
            out = (*out, LIST)
            field_type = field_type.of_type
            continue
        return out


class _Splitter:
    def __init__(
        self,
        supergraph: Supergraph,
        operation: OperationDefinitionNode,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
    ) -> None:
        self.sg = supergraph
        self.operation = operation
        self.fragments = fragments
        self.variables = variables
        self.deferred: list[Deferred] = []
        self.by_node: dict[int, Deferred] = {}

    def inline(
        self, selections: Sequence[SelectionNode], visited: frozenset[str]
    ) -> tuple[SelectionNode, ...]:
        """Named fragments become inline fragments, so every position in the tree is its own node."""
        out: list[SelectionNode] = []
        for selection in selections:
            if isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in visited:
                    continue
                inner = self.inline(fragment.selection_set.selections, visited | {name})
                out.append(
                    InlineFragmentNode(
                        type_condition=fragment.type_condition,
                        directives=selection.directives,
                        selection_set=SelectionSetNode(selections=inner),
                    )
                )
            elif getattr(selection, "selection_set", None) is not None:
                inner = self.inline(selection.selection_set.selections, visited)  # type: ignore[attr-defined]
                out.append(_with_selections(selection, inner))
            else:
                out.append(selection)
        return tuple(out)

    def find(
        self,
        selections: Sequence[SelectionNode],
        type_name: str,
        path: tuple[str, ...],
        parent: Deferred | None,
    ) -> None:
        for selection in selections:
            if not should_include(selection, self.variables):
                continue
            if isinstance(selection, FieldNode):
                if selection.selection_set is None:
                    continue
                gtype = self.sg.schema.get_type(type_name)
                fdef = (getattr(gtype, "fields", None) or {}).get(selection.name.value)
                if fdef is None:
                    continue
                key = selection.alias.value if selection.alias else selection.name.value
                named = get_named_type(fdef.type).name
                self.find(selection.selection_set.selections, named, _sub_path(path, key, fdef.type), parent)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition.name.value if selection.type_condition else type_name
                active, label = _defer_args(selection, self.variables)
                if active:
                    deferred = Deferred(
                        len(self.deferred), label, path, type_name, condition, selection, parent
                    )
                    self.deferred.append(deferred)
                    self.by_node[id(selection)] = deferred
                    self.find(selection.selection_set.selections, condition, path, deferred)
                else:
                    self.find(selection.selection_set.selections, condition, path, parent)

    def strip(self, selections: Sequence[SelectionNode], planning: bool) -> tuple[SelectionNode, ...]:
        """The selections without the deferred fragments (for shaping), or with each replaced by
        what its unit's plan must fetch for it (for planning)."""
        out: list[SelectionNode] = []
        for selection in selections:
            deferred = self.by_node.get(id(selection))
            if deferred is not None:
                if planning and deferred.mode == EAGER:
                    inner = self.strip(deferred.node.selection_set.selections, planning)
                    out.append(
                        InlineFragmentNode(
                            type_condition=deferred.node.type_condition,
                            selection_set=SelectionSetNode(selections=inner),
                        )
                    )
                elif planning and deferred.mode == ENTITY:
                    keys = (_TYPENAME, *parse_field_set(deferred.key).selections)
                    condition = NamedTypeNode(name=NameNode(value=deferred.condition))
                    out.append(
                        InlineFragmentNode(
                            type_condition=condition, selection_set=SelectionSetNode(selections=keys)
                        )
                    )
                continue
            inner_set = getattr(selection, "selection_set", None)
            if inner_set is not None:
                out.append(_with_selections(selection, self.strip(inner_set.selections, planning)))
            else:
                out.append(selection)
        return tuple(out)

    def operation_with(
        self, selections: tuple[SelectionNode, ...], kind: OperationType | None = None
    ) -> OperationDefinitionNode:
        return OperationDefinitionNode(
            operation=kind or self.operation.operation,
            name=self.operation.name,
            variable_definitions=self.operation.variable_definitions,
            directives=self.operation.directives,
            selection_set=SelectionSetNode(selections=selections),
        )

    def split(self) -> Split | None:
        root_type = self.sg.schema.get_root_type(self.operation.operation)
        if root_type is None:
            return None
        roots = self.inline(self.operation.selection_set.selections, frozenset())
        self.find(roots, root_type.name, (), None)
        if not self.deferred:
            return None
        is_query = self.operation.operation == OperationType.QUERY
        # Children first: a parent's plan fetches what its deferred children start from.
        for deferred in reversed(self.deferred):
            deferred.selections = self.strip(deferred.node.selection_set.selections, planning=False)
            if not is_query:
                continue  # a mutation runs as usual, then its result is split (EAGER)
            selections = self.strip(deferred.node.selection_set.selections, planning=True)
            try:
                if deferred.path == () and deferred.parent_type == root_type.name:
                    operation = self.operation_with(selections, OperationType.QUERY)
                    deferred.plan = build_plan(self.sg, operation, {}, self.variables)
                    deferred.mode = ROOT
                elif is_object_type(self.sg.schema.get_type(deferred.condition)):
                    deferred.plan, deferred.key = build_entity_plan(
                        self.sg, self.operation, self.variables, deferred.condition, selections, deferred.path
                    )
                    deferred.mode = ENTITY
            except PlanningError as exc:
                log.debug("deferred fragment at %s fetched with its parent: %s", deferred.path, exc)
                deferred.mode, deferred.plan, deferred.key = EAGER, None, ""
        primary = self.operation_with(self.strip(roots, planning=True))
        plan = build_plan(self.sg, primary, {}, self.variables)
        return Split(self.operation_with(self.strip(roots, planning=False)), plan, self.deferred)


def split_for(
    supergraph: Supergraph, prepared: PreparedOperation, variables: Mapping[str, Any]
) -> Split | None:
    """The cached split for these variable values; None when no `@defer` is active."""
    names = (*prepared.skip_variables, *(prepared.defer_variables or ()))
    key = tuple(variables.get(name) for name in names)
    if key in prepared.defer_splits:
        return prepared.defer_splits[key]
    split = _Splitter(supergraph, prepared.operation, prepared.fragments, variables).split()
    prepared.defer_splits[key] = split
    return split


# ---- execution ----------------------------------------------------------------------------------


def _reaches(data: Any, path: Sequence[str | int]) -> bool:
    for segment in path:
        if isinstance(data, dict) and isinstance(segment, str) and segment in data:
            data = data[segment]
        elif isinstance(data, list) and isinstance(segment, int) and 0 <= segment < len(data):
            data = data[segment]
        else:
            return False
    return True


def _object_at(data: Any, path: Sequence[str | int]) -> dict[str, Any] | None:
    for segment in path:
        if isinstance(data, dict) and isinstance(segment, str):
            data = data.get(segment)
        elif isinstance(data, list) and isinstance(segment, int) and 0 <= segment < len(data):
            data = data[segment]
        else:
            return None
    return data if isinstance(data, dict) else None


def _owner(
    error: dict[str, Any], items: list[tuple[dict[str, Any], list[dict[str, Any]]]], initial: Any
) -> list[dict[str, Any]] | None:
    """The error list of the item an error belongs to: the deepest item whose path leads to it and
    that holds (or nulled) the field, unless the initial payload already holds that field."""
    path = error.get("path")
    if not isinstance(path, list):
        return None
    best: tuple[int, list[dict[str, Any]]] | None = None
    for item, errors in items:
        item_path = item["path"]
        depth = len(item_path)
        if len(path) <= depth or path[:depth] != item_path:
            continue
        data = item["data"]
        if isinstance(data, dict) and path[depth] not in data:
            continue
        if initial is not None and _reaches(initial, path[: depth + 1]):
            continue
        if best is None or depth > best[0]:
            best = (depth, errors)
    return best[1] if best is not None else None


class IncrementalResponse:
    """One deferred operation's answer: the initial payload (ready), then the parts as they are done."""

    def __init__(
        self,
        gateway: Gateway,
        split: Split,
        variables: Mapping[str, Any],
        headers: Mapping[str, str],
        state: ExecutionState,
    ) -> None:
        self.executor = gateway.executor
        self.schema = gateway.supergraph.api_schema
        self.split = split
        self.variables = variables
        self.headers = headers
        self.raw = state.data
        self.initial: dict[str, Any] = {}
        self.delivered: dict[str, Any] = {}
        self._first_items: list[dict[str, Any]] = []

    def start(self, state: ExecutionState, introspection: Mapping[str, Any] | None) -> None:
        """Shape the initial payload and the primary unit's eager fragments (owning their errors)."""
        errors = list(state.errors)
        data = shape_response(
            self.schema, self.split.operation, {}, self.variables, self.raw, errors, introspection
        )
        self.initial = {"data": data}
        if data is None:
            if errors:
                self.initial["errors"] = errors
            self.initial["hasNext"] = False
            return
        self.delivered = orjson.loads(orjson.dumps(data))
        items = self._items(None)
        for error in state.errors:
            owner = _owner(error, items, data)
            if owner is not None:
                errors.remove(error)
                owner.append(error)
        if errors:
            self.initial["errors"] = errors
        self.initial["hasNext"] = True
        self._first_items = [self._finish(item, errs) for item, errs in items]

    @staticmethod
    def _finish(item: dict[str, Any], errors: list[dict[str, Any]]) -> dict[str, Any]:
        if errors:
            item["errors"] = errors
        return item

    def _items(self, unit: Deferred | None) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
        """One item per object each fragment of this unit reaches (that the client has received)."""
        fragments = [d for d in self.split.deferred if d.unit is unit and (d is unit or d.mode == EAGER)]
        out: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
        for deferred in fragments:
            static = self.schema.get_type(deferred.parent_type)
            for obj, path in _objects_at(self.raw, deferred.path):
                runtime = static
                if not isinstance(static, GraphQLObjectType):
                    typename = obj.get("__typename")
                    runtime = self.schema.get_type(typename) if isinstance(typename, str) else None
                if not isinstance(runtime, GraphQLObjectType):
                    continue
                errors: list[dict[str, Any]] = []
                shaper = ResponseShaper(self.schema, {}, self.variables, errors)
                if not shaper._applies(deferred.condition, runtime):
                    continue
                target = _object_at(self.delivered, path)
                if target is None:
                    continue  # its parent is null in what the client has (null propagation)
                data = shaper.complete_object(runtime, deferred.selections, obj, path)
                item: dict[str, Any] = {"data": None if data is INVALID else data, "path": path}
                if deferred.label is not None:
                    item["label"] = deferred.label
                if isinstance(data, dict):
                    deep_merge(target, data, frozenset())
                out.append((item, errors))
        return out

    async def _run(self, unit: Deferred) -> list[dict[str, Any]]:
        state = ExecutionState(data=self.raw)
        try:
            assert unit.plan is not None
            await self.executor.execute(unit.plan, self.variables, self.headers, state)
        except Exception:  # noqa: BLE001 - the other parts still go out
            log.exception("deferred fetch failed")
            message = {"message": "Internal error in a deferred fragment", "extensions": {"code": "INTERNAL"}}
            state.errors.append(message)
        return state.errors

    def _complete(
        self, unit: Deferred, errors: list[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], list[Any]]:
        items = self._items(unit)
        orphans = []
        for error in errors:
            owner = _owner(error, items, None)
            if owner is None and items:
                owner = items[0][1]
            if owner is None:
                orphans.append(error)
            else:
                owner.append(error)
        return [self._finish(item, errs) for item, errs in items], orphans

    def _start_after(self, unit: Deferred | None, pending: dict[asyncio.Future[Any], Deferred]) -> None:
        for deferred in self.split.deferred:
            if deferred.mode != EAGER and deferred.waits_for is unit:
                pending[asyncio.ensure_future(self._run(deferred))] = deferred

    async def parts(self) -> AsyncIterator[dict[str, Any]]:
        """The payloads in order; the last one has `hasNext: false`."""
        yield self.initial
        if not self.initial["hasNext"]:
            return
        pending: dict[asyncio.Future[Any], Deferred] = {}
        try:
            self._start_after(None, pending)
            if self._first_items or not pending:
                yield {"hasNext": bool(pending), "incremental": self._first_items}
            while pending:
                done, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                incremental: list[dict[str, Any]] = []
                orphans: list[Any] = []
                for task in sorted(done, key=lambda t: pending[t].index):
                    unit = pending.pop(task)
                    items, lost = self._complete(unit, task.result())
                    incremental.extend(items)
                    orphans.extend(lost)
                    self._start_after(unit, pending)
                if incremental or orphans or not pending:
                    payload: dict[str, Any] = {"hasNext": bool(pending)}
                    if incremental:
                        payload["incremental"] = incremental
                    if orphans:
                        payload["errors"] = orphans
                    yield payload
        finally:
            for task in pending:
                task.cancel()

    async def send(self, send: Send, request_id: str) -> None:
        """Stream the parts as an ASGI `multipart/mixed` body, each part as soon as it is ready."""
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", CONTENT_TYPE),
                    (b"cache-control", b"no-cache"),
                    (b"x-request-id", request_id.encode("latin-1")),
                ],
            }
        )
        prefix = _DELIMITER
        parts = self.parts()
        try:
            async for part in parts:
                last = not part["hasNext"]
                body = prefix + _PART_HEAD + orjson.dumps(part) + (_CLOSE if last else _DELIMITER)
                prefix = b""
                await send({"type": "http.response.body", "body": body, "more_body": not last})
                if last:
                    return
        except Exception:  # noqa: BLE001 - the headers are out: close the stream properly
            log.exception("incremental delivery failed")
            closing = {
                "hasNext": False,
                "errors": [{"message": "Internal server error", "extensions": {"code": "INTERNAL"}}],
            }
            body = prefix + _PART_HEAD + orjson.dumps(closing) + _CLOSE
            with contextlib.suppress(Exception):  # the client may be the one that went away
                await send({"type": "http.response.body", "body": body, "more_body": False})
        finally:
            await parts.aclose()


async def start_incremental(
    gateway: Gateway,
    prepared: PreparedOperation,
    variables: Mapping[str, Any],
    headers: Mapping[str, str],
    introspection: Mapping[str, Any] | None = None,
    include_plan: bool = False,
) -> IncrementalResponse | None:
    """Run the primary unit and shape the initial payload; None when no `@defer` is active (the
    caller answers as usual). Raises PlanningError like the planner."""
    split = split_for(gateway.supergraph, prepared, variables)
    if split is None:
        return None
    state = await gateway.executor.execute(split.plan, variables, headers)
    response = IncrementalResponse(gateway, split, variables, headers, state)
    response.start(state, introspection)
    if include_plan:
        response.initial["extensions"] = {
            "queryPlan": split.plan.describe(),
            "deferred": [d.describe() for d in split.deferred],
        }
    return response
