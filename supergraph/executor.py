"""Run a QueryPlan: fetches in dependency order (independent ones in parallel), merged into one tree."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from supergraph.fetcher import SubgraphClients, SubgraphUnavailable
from supergraph.plan import LIST, FetchGroup, QueryPlan
from supergraph.selection import SelectionSet
from supergraph.supergraph_schema import Supergraph

Path = list[str | int]


@dataclass
class ExecutionState:
    """One run of a plan: what every fetch is sent with (the request's variables and the headers
    forwarded to subgraphs), and what they answered: the merged data plus the errors so far."""

    variables: Mapping[str, Any]
    headers: Mapping[str, str]
    data: dict[str, Any] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)


def deep_merge(target: dict[str, Any], source: Mapping[str, Any], abstract_names: frozenset[str]) -> None:
    """Merge one fetch's result into the tree; lists merge item by item."""
    for key, value in source.items():
        existing = target.get(key)
        if key == "__typename" and existing is not None and value in abstract_names:
            continue
        if isinstance(existing, dict) and isinstance(value, dict):
            deep_merge(existing, value, abstract_names)
        elif isinstance(existing, list) and isinstance(value, list) and len(existing) == len(value):
            _merge_lists(existing, value, abstract_names)
        else:
            target[key] = value


def _merge_lists(existing: list[Any], value: list[Any], abstract_names: frozenset[str]) -> None:
    for index, item in enumerate(value):
        current = existing[index]
        if isinstance(current, dict) and isinstance(item, dict):
            deep_merge(current, item, abstract_names)
        elif isinstance(current, list) and isinstance(item, list) and len(current) == len(item):
            _merge_lists(current, item, abstract_names)
        else:
            existing[index] = item


def _objects_at(data: dict[str, Any], path: tuple[str, ...]) -> list[tuple[dict[str, Any], Path]]:
    """Every object at a plan path (`@` flattens lists), with its concrete response path."""
    current: list[tuple[Any, Path]] = [(data, [])]
    for segment in path:
        following: list[tuple[Any, Path]] = []
        for value, value_path in current:
            if segment == LIST:
                if isinstance(value, list):
                    following.extend((item, [*value_path, index]) for index, item in enumerate(value))
            elif isinstance(value, dict):
                child = value.get(segment)
                if child is not None:
                    following.append((child, [*value_path, segment]))
        current = following
    flat: list[tuple[dict[str, Any], Path]] = []
    while current:
        value, value_path = current.pop(0)
        if isinstance(value, dict):
            flat.append((value, value_path))
        elif isinstance(value, list):
            current[0:0] = [(item, [*value_path, i]) for i, item in enumerate(value)]
    return flat


_MISSING = object()


def _project(value: Any, selection: SelectionSet, supergraph: Supergraph) -> Any:
    """Copy the fields a representation needs out of the merged tree."""
    if isinstance(value, list):
        return [_project(item, selection, supergraph) for item in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, sel in selection.fields.items():
        if key not in value:
            continue
        item = value[key]
        out[sel.name] = _project(item, sel.sub, supergraph) if sel.sub is not None else item
    typename = value.get("__typename")
    for condition, sub in selection.fragments.items():
        if typename is None:
            continue
        if typename == condition or condition in supergraph.supertypes(typename):
            projected = _project(value, sub, supergraph)
            for k, v in projected.items():
                if isinstance(out.get(k), dict) and isinstance(v, dict):
                    deep_merge(out[k], v, frozenset())
                else:
                    out[k] = v
    return out


def _restore_keys(value: Any, selection: SelectionSet, supergraph: Supergraph) -> None:
    """Undo the aliases added by `dodge_type_conflicts`, in place."""
    if isinstance(value, list):
        for item in value:
            _restore_keys(item, selection, supergraph)
        return
    if not isinstance(value, dict):
        return
    typename = value.get("__typename")
    sets = [selection]
    for condition, fragment in selection.fragments.items():
        if typename is not None and (typename == condition or condition in supergraph.supertypes(typename)):
            sets.append(fragment)
    for current in sets:
        for sel in current.fields.values():
            if sel.output_key is not None and sel.output_key in value:
                value[sel.response_key] = value.pop(sel.output_key)
            if sel.sub is not None and sel.response_key in value:
                _restore_keys(value[sel.response_key], sel.sub, supergraph)


def _subgraph_error(error: Any, path: Path | None) -> dict[str, Any]:
    """A subgraph's error as the client sees it: always with `extensions.code` (SUBGRAPH_ERROR
    when the subgraph gave none)."""
    if not isinstance(error, dict):
        return {"message": str(error), "extensions": {"code": "SUBGRAPH_ERROR"}}
    out: dict[str, Any] = {"message": str(error.get("message", "subgraph error"))}
    if path is not None:
        out["path"] = path
    extensions = error.get("extensions")
    extensions = dict(extensions) if isinstance(extensions, dict) else {}
    if not extensions.get("code"):
        extensions["code"] = "SUBGRAPH_ERROR"
    out["extensions"] = extensions
    return out


class Executor:
    """Executes plans against subgraphs through shared pooled clients."""

    def __init__(self, supergraph: Supergraph, clients: SubgraphClients) -> None:
        self.supergraph = supergraph
        self.clients = clients
        self.abstract_names = frozenset(
            name for name, model in supergraph.types.items() if model.kind.is_abstract
        )

    async def execute(self, plan: QueryPlan, state: ExecutionState) -> ExecutionState:
        """Run every phase into `state` (a fresh one, or an earlier run's tree for a deferred
        fragment's fetches)."""
        for phase in plan.phases:
            await self._run_phase(phase, state)
        return state

    async def _run_phase(self, phase: list[FetchGroup], state: ExecutionState) -> None:
        tasks: dict[int, asyncio.Task[None]] = {}

        async def run(group: FetchGroup) -> None:
            for dep in group.deps:
                task = tasks.get(dep.id)
                if task is not None:
                    await task
            await self._fetch(group, state)

        ordered = sorted(phase, key=lambda g: g.id)
        for group in ordered:
            tasks[group.id] = asyncio.ensure_future(run(group))
        await asyncio.gather(*tasks.values())

    async def _fetch(self, group: FetchGroup, state: ExecutionState) -> None:
        graph = self.supergraph.graphs[group.graph]
        variables = state.variables
        fetch_vars = {name: variables[name] for name in group.variables if name in variables}
        if not group.is_entity:
            try:
                payload = await self.clients.post(
                    graph.name,
                    graph.url,
                    group.query_text,
                    fetch_vars,
                    state.headers,
                    is_query=group.operation_kind == "query",
                )
            except SubgraphUnavailable as exc:
                for key in group.selection.fields:
                    state.errors.append(_unavailable(str(exc), graph.name, [key]))
                return
            self.merge_root(group, payload, state)
            return
        await self._fetch_entities(group, graph.name, graph.url, state, fetch_vars)

    def merge_root(self, group: FetchGroup, payload: Mapping[str, Any], state: ExecutionState) -> None:
        """Merge a root fetch's answer (a query's, or one event of a subscription's stream)."""
        data = payload.get("data")
        if isinstance(data, dict):
            if group.renames:
                _restore_keys(data, group.selection, self.supergraph)
            deep_merge(state.data, data, self.abstract_names)
        # A subgraph that refused the whole request (e.g. its own validation of a custom scalar)
        # answers data: null with errors that have no path: they are about this fetch's root
        # fields, so they take the first one's path instead of a second, code-less
        # "Cannot return null" error for the same field.
        whole = None if isinstance(data, dict) else next(iter(group.selection.fields), None)
        for error in payload.get("errors") or ():
            path = error.get("path") if isinstance(error, dict) else None
            if not isinstance(path, list) and whole is not None:
                path = [whole]
            state.errors.append(_subgraph_error(error, list(path) if isinstance(path, list) else None))

    async def execute_after_root(self, plan: QueryPlan, root: FetchGroup, state: ExecutionState) -> None:
        """Every fetch of `plan` but `root`, whose data is already in `state` (a subscription's event):
        the same phases, dependencies and merging as `execute`."""
        for phase in plan.phases:
            rest = [group for group in phase if group is not root]
            if rest:
                await self._run_phase(rest, state)

    async def _fetch_entities(
        self,
        group: FetchGroup,
        name: str,
        url: str,
        state: ExecutionState,
        fetch_vars: dict[str, Any],
    ) -> None:
        representations: list[dict[str, Any]] = []
        targets: list[list[tuple[dict[str, Any], Path]]] = []
        index_of: dict[bytes, int] = {}
        for obj, obj_path in _objects_at(state.data, group.path):
            typename = obj.get("__typename")
            if typename not in group.match_types:
                continue
            rep = _project(obj, group.requires, self.supergraph)
            if any(rep.get(k) is None for k in group.key_fields):
                continue
            rep["__typename"] = group.rep_typename or typename
            fingerprint = orjson.dumps(rep, option=orjson.OPT_SORT_KEYS)
            index = index_of.get(fingerprint)
            if index is None:
                index = index_of[fingerprint] = len(representations)
                representations.append(rep)
                targets.append([])
            targets[index].append((obj, obj_path))
        if not representations:
            return
        try:
            payload = await self.clients.post(
                name, url, group.query_text, {**fetch_vars, "representations": representations}, state.headers
            )
        except SubgraphUnavailable as exc:
            first_field = next(iter(group.selection.fields), None)
            path = targets[0][0][1] + ([first_field] if first_field else [])
            state.errors.append(_unavailable(str(exc), name, path))
            return
        data = payload.get("data") or {}
        entities = data.get("_entities") if isinstance(data, dict) else None
        if isinstance(entities, list):
            for index, entity in enumerate(entities[: len(targets)]):
                if not isinstance(entity, dict):
                    continue
                if group.renames:
                    _restore_keys(entity, group.selection, self.supergraph)
                for obj, _ in targets[index]:
                    deep_merge(obj, entity, self.abstract_names)
        for error in payload.get("errors") or ():
            path = error.get("path") if isinstance(error, dict) else None
            client_path: Path | None = None
            if (
                isinstance(path, list)
                and len(path) >= 2
                and path[0] == "_entities"
                and isinstance(path[1], int)
                and path[1] < len(targets)
            ):
                client_path = targets[path[1]][0][1] + list(path[2:])
            elif targets:
                client_path = targets[0][0][1]
            state.errors.append(_subgraph_error(error, client_path))


def _unavailable(message: str, subgraph: str, path: Path) -> dict[str, Any]:
    return {
        "message": message,
        "path": path,
        "extensions": {"code": "SUBGRAPH_UNAVAILABLE", "serviceName": subgraph},
    }
