"""Composition, one subgraph at a time: what each subgraph's SDL declares (types, fields, keys,
federation directives), read into the model the Composer merges, and the SDL helpers both use."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    BooleanValueNode,
    DirectiveNode,
    DocumentNode,
    EnumTypeDefinitionNode,
    EnumTypeExtensionNode,
    FieldDefinitionNode,
    FieldNode,
    InputObjectTypeExtensionNode,
    InterfaceTypeExtensionNode,
    ListTypeNode,
    ListValueNode,
    NamedTypeNode,
    NonNullTypeNode,
    ObjectTypeExtensionNode,
    ObjectValueNode,
    ScalarTypeExtensionNode,
    SchemaDefinitionNode,
    SchemaExtensionNode,
    StringValueNode,
    TypeNode,
    UnionTypeExtensionNode,
    parse,
    print_ast,
)

from supergraph.errors import CompositionError as CompositionError  # re-exported
from supergraph.fieldset import parse_field_set
from supergraph.supergraph_schema import TypeKind, kind_of

FEDERATION_DIRECTIVES = {
    "key",
    "external",
    "requires",
    "provides",
    "shareable",
    "extends",
    "override",
    "inaccessible",
    "tag",
    "interfaceObject",
    "composeDirective",
    "link",
    "authenticated",
    "requiresScopes",
    "policy",
    "context",
    "fromContext",
    "cost",
    "listSize",
}
FEDERATION_TYPES = {"_Any", "_Entity", "_Service", "_FieldSet", "FieldSet", "link__Import", "link__Purpose"}
MACHINERY_FIELDS = {"_service", "_entities"}
ROOT_NAMES = {"query": "Query", "mutation": "Mutation", "subscription": "Subscription"}


@dataclass(frozen=True)
class SubgraphSource:
    """One subgraph: its name, routing URL and SDL (`_service { sdl }`)."""

    name: str
    url: str
    sdl: str


@dataclass
class _FieldDef:
    graph: str
    node: FieldDefinitionNode
    type_str: str
    external: bool = False
    requires: str | None = None
    provides: str | None = None
    override: str | None = None
    shareable: bool = False
    inaccessible: bool = False
    is_key: bool = False


@dataclass
class _TypeDef:
    graph: str
    kind: TypeKind
    node: Any
    keys: list[tuple[str, bool]] = field(default_factory=list)
    extension: bool = False
    shareable: bool = False
    inaccessible: bool = False
    interface_object: bool = False
    fields: dict[str, _FieldDef] = field(default_factory=dict)
    interfaces: list[str] = field(default_factory=list)
    members: list[str] = field(default_factory=list)
    values: dict[str, bool] = field(default_factory=dict)


_EMPTY = _TypeDef(graph="", kind=TypeKind.OBJECT, node=None)


class _Subgraph:
    """A parsed subgraph with federation directive names normalised."""

    def __init__(self, source: SubgraphSource, enum_name: str) -> None:
        self.source = source
        self.enum_name = enum_name
        try:
            self.document: DocumentNode = parse(source.sdl, no_location=True)
        except Exception as exc:  # noqa: BLE001
            raise CompositionError([f'subgraph "{source.name}": SDL does not parse: {exc}']) from exc
        self.aliases: dict[str, str] = {}
        self.fed2 = False
        self.root_names: dict[str, str] = {}
        self._read_schema_definition()
        self.types: dict[str, _TypeDef] = {}
        self._read_types()
        self._mark_nested_keys()

    def _read_schema_definition(self) -> None:
        for definition in self.document.definitions:
            if not isinstance(definition, SchemaDefinitionNode | SchemaExtensionNode):
                continue
            for op in definition.operation_types or ():
                self.root_names[op.type.name.value] = ROOT_NAMES[op.operation.value]
            for directive in definition.directives or ():
                if directive.name.value != "link":
                    continue
                url = _arg_str(directive, "url") or ""
                if "specs.apollo.dev/federation/" not in url:
                    continue
                self.fed2 = True
                imports = _arg_node(directive, "import")
                if isinstance(imports, ListValueNode):
                    for item in imports.values:
                        if isinstance(item, StringValueNode):
                            name = item.value.lstrip("@")
                            self.aliases[name] = name
                        elif isinstance(item, ObjectValueNode):
                            values = {f.name.value: getattr(f.value, "value", None) for f in item.fields}
                            name = str(values.get("name", "")).lstrip("@")
                            alias = str(values.get("as") or name).lstrip("@")
                            self.aliases[alias] = name

    def _mark_nested_keys(self) -> None:
        """Fields reached through a compound key (`id org { id }`) are key fields too (shareable)."""
        for tdef in list(self.types.values()):
            for key, _ in tdef.keys:
                try:
                    selections = parse_field_set(key).selections
                except Exception:  # noqa: BLE001 - reported by field-set validation
                    continue
                self._mark(tdef, selections)

    def _mark(self, tdef: _TypeDef, selections: Sequence[Any]) -> None:
        for selection in selections:
            if not isinstance(selection, FieldNode):
                continue
            fdef = tdef.fields.get(selection.name.value)
            if fdef is None:
                continue
            fdef.is_key = True
            if selection.selection_set is not None:
                nested = self.types.get(_named(fdef.node.type))
                if nested is not None:
                    self._mark(nested, selection.selection_set.selections)

    def canonical(self, directive: DirectiveNode) -> str | None:
        """The federation directive a usage stands for, or None for other directives."""
        name = directive.name.value
        if name in self.aliases:
            return self.aliases[name]
        if name.startswith("federation__"):
            return name.removeprefix("federation__")
        if not self.fed2 and name in FEDERATION_DIRECTIVES:
            return name
        return None

    def has(self, node: Any, directive: str) -> list[DirectiveNode]:
        return [d for d in getattr(node, "directives", None) or () if self.canonical(d) == directive]

    def rename(self, name: str) -> str:
        return self.root_names.get(name, name)

    def _read_types(self) -> None:
        for definition in self.document.definitions:
            kind = kind_of(definition)
            if kind is None:
                continue
            name = self.rename(definition.name.value)
            if name in FEDERATION_TYPES or name.startswith(("link__", "federation__", "join__")):
                continue
            if self.has(definition, "interfaceObject"):
                kind = TypeKind.INTERFACE
            existing = self.types.get(name)
            tdef = existing or _TypeDef(graph=self.source.name, kind=kind, node=definition)
            is_extension = isinstance(
                definition,
                ObjectTypeExtensionNode
                | InterfaceTypeExtensionNode
                | UnionTypeExtensionNode
                | EnumTypeExtensionNode
                | InputObjectTypeExtensionNode
                | ScalarTypeExtensionNode,
            ) or bool(self.has(definition, "extends"))
            tdef.extension = tdef.extension or is_extension
            tdef.interface_object = tdef.interface_object or bool(self.has(definition, "interfaceObject"))
            tdef.shareable = tdef.shareable or bool(self.has(definition, "shareable"))
            tdef.inaccessible = tdef.inaccessible or bool(self.has(definition, "inaccessible"))
            for key in self.has(definition, "key"):
                resolvable = _arg_node(key, "resolvable")
                tdef.keys.append(
                    (
                        _arg_str(key, "fields") or "",
                        not (isinstance(resolvable, BooleanValueNode) and not resolvable.value),
                    )
                )
            tdef.interfaces.extend(i.name.value for i in getattr(definition, "interfaces", None) or ())
            tdef.members.extend(t.name.value for t in getattr(definition, "types", None) or ())
            for value in getattr(definition, "values", None) or ():
                if isinstance(definition, EnumTypeDefinitionNode | EnumTypeExtensionNode):
                    tdef.values[value.name.value] = bool(self.has(value, "inaccessible"))
            key_fields = {n for key, _ in tdef.keys for n in _top_fields(key)}
            for fnode in getattr(definition, "fields", None) or ():
                fname = fnode.name.value
                if name == "Query" and fname in MACHINERY_FIELDS:
                    continue
                fdef = _FieldDef(
                    graph=self.source.name,
                    node=fnode,
                    type_str=print_ast(fnode.type),
                    external=bool(self.has(fnode, "external")) or bool(self.has(definition, "external")),
                    requires=_first_arg(self.has(fnode, "requires"), "fields"),
                    provides=_first_arg(self.has(fnode, "provides"), "fields"),
                    override=_first_arg(self.has(fnode, "override"), "from"),
                    shareable=bool(self.has(fnode, "shareable")) or tdef.shareable,
                    inaccessible=bool(self.has(fnode, "inaccessible")),
                    is_key=fname in key_fields,
                )
                if tdef.extension and fdef.is_key:
                    fdef.external = False  # key fields of a type extension are resolvable there
                tdef.fields[fname] = fdef
            for fdef in tdef.fields.values():
                fdef.is_key = fdef.is_key or fdef.node.name.value in key_fields
            self.types[name] = tdef


def _arg_node(directive: DirectiveNode, name: str) -> Any:
    for argument in directive.arguments or ():
        if argument.name.value == name:
            return argument.value
    return None


def _arg_str(directive: DirectiveNode, name: str) -> str | None:
    value = _arg_node(directive, name)
    return value.value if isinstance(value, StringValueNode) else None


def _first_arg(directives: list[DirectiveNode], name: str) -> str | None:
    return _arg_str(directives[0], name) if directives else None


def _top_fields(field_set: str) -> list[str]:
    try:
        return [s.name.value for s in parse_field_set(field_set).selections if isinstance(s, FieldNode)]
    except Exception:  # noqa: BLE001 - reported by field-set validation
        return []


def _named(type_node: TypeNode) -> str:
    while not isinstance(type_node, NamedTypeNode):
        type_node = type_node.type  # type: ignore[attr-defined]
    return type_node.name.value


def _nullable(type_node: TypeNode) -> TypeNode:
    """The most general of two compatible output types: drop non-null where any subgraph is nullable."""
    return type_node.type if isinstance(type_node, NonNullTypeNode) else type_node


def _merge_output_types(a: TypeNode, b: TypeNode, subtype: Any) -> TypeNode | None:
    """The supertype of two output types (nullability, or an object vs its interface/union),
    or None when they are incompatible."""
    if isinstance(a, NonNullTypeNode) and isinstance(b, NonNullTypeNode):
        inner = _merge_output_types(a.type, b.type, subtype)
        return NonNullTypeNode(type=inner) if inner is not None else None  # type: ignore[arg-type]
    if isinstance(a, NonNullTypeNode) or isinstance(b, NonNullTypeNode):
        return _merge_output_types(_nullable(a), _nullable(b), subtype)
    if isinstance(a, ListTypeNode) and isinstance(b, ListTypeNode):
        inner = _merge_output_types(a.type, b.type, subtype)
        return ListTypeNode(type=inner) if inner is not None else None
    if isinstance(a, NamedTypeNode) and isinstance(b, NamedTypeNode):
        if a.name.value == b.name.value:
            return a
        if subtype(b.name.value, a.name.value):
            return a
        if subtype(a.name.value, b.name.value):
            return b
    return None


def _deprecated(nodes: Any) -> str:
    """Keep `@deprecated` (clients see it through introspection) from the first subgraph using it."""
    for node in nodes:
        for directive in getattr(node, "directives", None) or ():
            if directive.name.value == "deprecated":
                return " " + print_ast(directive)
    return ""


def _enum_name(name: str, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_]", "_", name).upper() or "GRAPH"
    if base[0].isdigit():
        base = "_" + base
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}_{n}"
    taken.add(candidate)
    return candidate


def _quote(text: str) -> str:
    return print_ast(StringValueNode(value=text))
