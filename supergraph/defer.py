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
from typing import TYPE_CHECKING, Any

import orjson
from graphql import (
    FieldNode,
    GraphQLObjectType,
    NameNode,
)

from supergraph.defer_split import EAGER
from supergraph.defer_split import Deferred as Deferred  # re-exported
from supergraph.defer_split import Split as Split  # re-exported
from supergraph.defer_split import defer_variables as defer_variables  # re-exported
from supergraph.defer_split import split_for as split_for  # re-exported
from supergraph.defer_split import without_defer as without_defer  # re-exported
from supergraph.executor import ExecutionState, _objects_at, deep_merge
from supergraph.response import INVALID, ResponseShaper, shape_response

if TYPE_CHECKING:
    from starlette.types import Send

    from supergraph.gateway import Gateway, PreparedOperation

log = logging.getLogger("supergraph.defer")

CONTENT_TYPE = b'multipart/mixed; boundary="-"; deferSpec=20220824'
_PART_HEAD = b"\r\ncontent-type: application/json; charset=utf-8\r\n\r\n"
_DELIMITER = b"\r\n---"
_CLOSE = b"\r\n-----\r\n"
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

    def __init__(self, gateway: Gateway, split: Split, state: ExecutionState) -> None:
        self.executor = gateway.executor
        self.schema = gateway.supergraph.api_schema
        self.split = split
        self.variables = state.variables
        self.headers = state.headers
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
        state = ExecutionState(self.variables, self.headers, data=self.raw)
        try:
            assert unit.plan is not None
            await self.executor.execute(unit.plan, state)
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
    state = await gateway.executor.execute(split.plan, ExecutionState(variables, headers))
    response = IncrementalResponse(gateway, split, state)
    response.start(state, introspection)
    if include_plan:
        response.initial["extensions"] = {
            "queryPlan": split.plan.describe(),
            "deferred": [d.describe() for d in split.deferred],
        }
    return response
