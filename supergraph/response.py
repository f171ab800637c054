"""Shape the merged subgraph data into the client's response, with spec null propagation.

Subgraph fetches may carry helper fields and arrive in any order; this pass walks the client's own
operation over the API schema, keeps exactly the requested response keys, and turns a null in a
non-null position into null at the nearest nullable parent (GraphQL spec, "Handling Field Errors").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    GraphQLEnumType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    OperationDefinitionNode,
    SelectionNode,
    is_abstract_type,
    is_leaf_type,
)

from supergraph.plan import collect_fields

Path = list[str | int]


class _Invalid:
    """Marker for a null that must propagate to the parent."""


INVALID = _Invalid()


class ResponseShaper:
    """Completes values like graphql-js `execute` would, reading from already-fetched data."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
        errors: list[dict[str, Any]],
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.errors = errors
        self._collected: dict[tuple[str, tuple[int, ...]], dict[str, list[FieldNode]]] = {}

    def collect(
        self, object_type: GraphQLObjectType, selections: Sequence[SelectionNode]
    ) -> dict[str, list[FieldNode]]:
        """Fields by response key that apply to an object of type `object_type`."""

        def applies(condition: str) -> bool:
            return self._applies(condition, object_type)

        return collect_fields(selections, self.variables, self.fragments, applies)

    def _applies(self, condition: str, object_type: GraphQLObjectType) -> bool:
        if condition == object_type.name:
            return True
        cond_type = self.schema.get_type(condition)
        if cond_type is None or not is_abstract_type(cond_type):
            return False
        return self.schema.is_sub_type(cond_type, object_type)  # type: ignore[arg-type]

    def _null_error(self, path: Path, parent: str, field: str) -> None:
        for error in self.errors:
            error_path = error.get("path")
            if isinstance(error_path, list):
                shared = min(len(error_path), len(path))
                if error_path[:shared] == path[:shared]:
                    return
        self.errors.append(
            {
                "message": f"Cannot return null for non-nullable field {parent}.{field}.",
                "path": list(path),
                "extensions": {"code": "SUBGRAPH_INVALID_RESPONSE"},
            }
        )

    def complete_object(
        self,
        object_type: GraphQLObjectType,
        selections: Sequence[SelectionNode],
        data: Mapping[str, Any],
        path: Path,
        extra: Mapping[str, Any] | None = None,
    ) -> dict[str, Any] | _Invalid:
        result: dict[str, Any] = {}
        cache_key = (object_type.name, tuple(map(id, selections)))
        fields = self._collected.get(cache_key)
        if fields is None:
            fields = self._collected[cache_key] = self.collect(object_type, selections)
        for key, nodes in fields.items():
            name = nodes[0].name.value
            if name == "__typename":
                result[key] = object_type.name
                continue
            if extra is not None and key in extra:
                result[key] = extra[key]
                continue
            field_def = object_type.fields.get(name)
            if field_def is None:
                continue
            value = data.get(key)
            completed = self.complete_value(
                field_def.type, nodes, value, [*path, key], object_type.name, name
            )
            if completed is INVALID:
                return INVALID
            result[key] = completed
        return result

    def complete_value(
        self, field_type: Any, nodes: list[FieldNode], value: Any, path: Path, parent: str, field: str
    ) -> Any:
        if isinstance(field_type, GraphQLNonNull):
            completed = self.complete_value(field_type.of_type, nodes, value, path, parent, field)
            if completed is None:
                self._null_error(path, parent, field)
                return INVALID
            return completed
        completed = self._complete_nullable(field_type, nodes, value, path, parent, field)
        return None if completed is INVALID else completed

    def _complete_nullable(
        self, field_type: Any, nodes: list[FieldNode], value: Any, path: Path, parent: str, field: str
    ) -> Any:
        if value is None:
            return None
        if isinstance(field_type, GraphQLList):
            if not isinstance(value, list):
                return None
            items = []
            for index, item in enumerate(value):
                completed = self.complete_value(
                    field_type.of_type, nodes, item, [*path, index], parent, field
                )
                if completed is INVALID:
                    return INVALID
                items.append(completed)
            return items
        if is_leaf_type(field_type):
            if isinstance(field_type, GraphQLEnumType) and value not in field_type.values:
                self.errors.append(
                    {
                        "message": f"Enum '{field_type.name}' cannot represent value: {value!r}",
                        "path": list(path),
                    }
                )
                return None
            return value
        if not isinstance(value, dict):
            return None
        object_type = field_type
        if is_abstract_type(field_type):
            typename = value.get("__typename")
            runtime = self.schema.get_type(typename) if isinstance(typename, str) else None
            if runtime is field_type and not self.schema.get_possible_types(field_type):
                object_type = field_type  # an @interfaceObject with no known implementation
            elif not isinstance(runtime, GraphQLObjectType) or not self.schema.is_sub_type(
                field_type, runtime
            ):
                return None
            else:
                object_type = runtime
        subs = [s for n in nodes if n.selection_set for s in n.selection_set.selections]
        return self.complete_object(object_type, subs, value, path)


def shape_response(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
    data: Mapping[str, Any],
    errors: list[dict[str, Any]],
    introspection: Mapping[str, Any] | None = None,
) -> dict[str, Any] | None:
    """The client's `data` (None when a non-null root field failed)."""
    root = schema.get_root_type(operation.operation)
    if root is None:
        return None
    shaper = ResponseShaper(schema, fragments, variables, errors)
    result = shaper.complete_object(root, operation.selection_set.selections, data, [], introspection)
    return None if result is INVALID else result  # type: ignore[return-value]
