"""Load a join-spec supergraph SDL into a planning model, next to the client-facing API schema.

The planner needs to know, per type and field, which subgraphs can resolve what (the `@join__*`
directives); clients must see none of that machinery, nor anything marked `@inaccessible`
(api_schema.py derives what they see).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from graphql import (
    DirectiveNode,
    DocumentNode,
    EnumTypeDefinitionNode,
    EnumTypeExtensionNode,
    GraphQLSchema,
    InputObjectTypeDefinitionNode,
    InputObjectTypeExtensionNode,
    InterfaceTypeDefinitionNode,
    InterfaceTypeExtensionNode,
    ListValueNode,
    Node,
    ObjectTypeDefinitionNode,
    ObjectTypeExtensionNode,
    ScalarTypeDefinitionNode,
    ScalarTypeExtensionNode,
    SchemaDefinitionNode,
    SchemaExtensionNode,
    TypeDefinitionNode,
    UnionTypeDefinitionNode,
    UnionTypeExtensionNode,
    build_ast_schema,
    parse,
)

from supergraph.api_schema import MACHINERY_PREFIXES, api_document
from supergraph.errors import SupergraphError as SupergraphError  # re-exported

SUPPORTED_FEATURES: dict[str, set[str]] = {
    "https://specs.apollo.dev/join": {"v0.1", "v0.2", "v0.3", "v0.4", "v0.5"},
    "https://specs.apollo.dev/link": {"v1.0"},
    "https://specs.apollo.dev/core": {"v0.1", "v0.2"},
    "https://specs.apollo.dev/inaccessible": {"v0.1", "v0.2"},
    "https://specs.apollo.dev/tag": {"v0.1", "v0.2", "v0.3"},
}


class TypeKind(StrEnum):
    """The kind of a named type. A StrEnum, so SDL text and error messages print the plain word."""

    OBJECT = "object"
    INTERFACE = "interface"
    UNION = "union"
    ENUM = "enum"
    INPUT = "input"
    SCALAR = "scalar"
    OTHER = "other"

    @property
    def is_abstract(self) -> bool:
        """Interfaces and unions: the runtime type comes with each object (`__typename`)."""
        return self is TypeKind.INTERFACE or self is TypeKind.UNION


# The AST nodes that define (or extend) a type of each kind.
_KIND_NODES: tuple[tuple[tuple[type[Node], ...], TypeKind], ...] = (
    ((ObjectTypeDefinitionNode, ObjectTypeExtensionNode), TypeKind.OBJECT),
    ((InterfaceTypeDefinitionNode, InterfaceTypeExtensionNode), TypeKind.INTERFACE),
    ((UnionTypeDefinitionNode, UnionTypeExtensionNode), TypeKind.UNION),
    ((EnumTypeDefinitionNode, EnumTypeExtensionNode), TypeKind.ENUM),
    ((InputObjectTypeDefinitionNode, InputObjectTypeExtensionNode), TypeKind.INPUT),
    ((ScalarTypeDefinitionNode, ScalarTypeExtensionNode), TypeKind.SCALAR),
)


def kind_of(definition: Node) -> TypeKind | None:
    """The kind of type an SDL definition or extension declares; None for any other definition."""
    for nodes, kind in _KIND_NODES:
        if isinstance(definition, nodes):
            return kind
    return None


@dataclass(frozen=True)
class Graph:
    """One subgraph as named by the `join__Graph` enum."""

    enum_value: str
    name: str
    url: str


@dataclass(frozen=True)
class JoinType:
    """One `@join__type`: the type exists in `graph`, maybe as an entity with `key`."""

    graph: str
    key: str | None = None
    resolvable: bool = True
    extension: bool = False
    is_interface_object: bool = False


@dataclass(frozen=True)
class JoinField:
    """One `@join__field`: how a field behaves in one subgraph."""

    graph: str | None
    requires: str | None = None
    provides: str | None = None
    type: str | None = None
    external: bool = False
    override: str | None = None
    used_overridden: bool = False


@dataclass
class FieldModel:
    """A field of an object, interface or input type with its per-subgraph joins."""

    name: str
    joins: list[JoinField] = field(default_factory=list)


@dataclass
class TypeModel:
    """A named type with the subgraphs that define it and its join metadata."""

    name: str
    kind: TypeKind
    joins: list[JoinType] = field(default_factory=list)
    fields: dict[str, FieldModel] = field(default_factory=dict)
    implements: dict[str, set[str]] = field(default_factory=dict)
    union_members: dict[str, set[str]] = field(default_factory=dict)

    @property
    def graphs(self) -> set[str]:
        return {j.graph for j in self.joins}

    def keys(self, graph: str, resolvable_only: bool = True) -> list[str]:
        """Key field sets of this type in one subgraph."""
        return [
            j.key
            for j in self.joins
            if j.graph == graph and j.key is not None and (j.resolvable or not resolvable_only)
        ]

    def is_interface_object(self, graph: str) -> bool:
        return any(j.graph == graph and j.is_interface_object for j in self.joins)


def _arg(directive: DirectiveNode, name: str) -> object:
    for argument in directive.arguments or ():
        if argument.name.value == name:
            value = argument.value
            if isinstance(value, ListValueNode):
                return [getattr(v, "value", None) for v in value.values]
            return getattr(value, "value", None)  # a string, boolean or enum value's text or flag
    return None


def _directives(node: object, name: str) -> list[DirectiveNode]:
    return [d for d in getattr(node, "directives", None) or () if d.name.value == name]


class Supergraph:
    """The planning model of one supergraph: graphs, types, joins, and both schemas."""

    def __init__(self, sdl: str) -> None:
        self.sdl = sdl
        try:
            document = parse(sdl, no_location=True)
        except Exception as exc:  # noqa: BLE001 - any syntax problem is a refusal
            raise SupergraphError(f"supergraph SDL does not parse: {exc}") from exc
        self._check_features(document)
        self.graphs: dict[str, Graph] = {}
        self.types: dict[str, TypeModel] = {}
        self._load(document)
        try:
            self.schema: GraphQLSchema = build_ast_schema(document, assume_valid_sdl=True)
        except Exception as exc:  # noqa: BLE001
            raise SupergraphError(f"supergraph SDL does not build: {exc}") from exc
        self.api_document = api_document(document)
        try:
            self.api_schema: GraphQLSchema = build_ast_schema(self.api_document, assume_valid_sdl=True)
        except Exception as exc:  # noqa: BLE001
            raise SupergraphError(f"API schema does not build: {exc}") from exc
        self.graph_by_name = {g.name: g for g in self.graphs.values()}
        self._supertypes: dict[str, frozenset[str]] = {}

    # ---- loading -------------------------------------------------------------------------------

    @staticmethod
    def _check_features(document: DocumentNode) -> None:
        """Refuse features whose semantics the router would silently get wrong."""
        found_join = False
        for definition in document.definitions:
            if not isinstance(definition, SchemaDefinitionNode | SchemaExtensionNode):
                continue
            for directive in definition.directives or ():
                if directive.name.value not in ("link", "core"):
                    continue
                url = _arg(directive, "url") or _arg(directive, "feature")
                purpose = _arg(directive, "for")
                if not isinstance(url, str):
                    continue
                base, _, version = url.rstrip("/").rpartition("/")
                if base == "https://specs.apollo.dev/join":
                    found_join = True
                supported = SUPPORTED_FEATURES.get(base)
                if supported is not None and version in supported:
                    continue
                if purpose in ("EXECUTION", "SECURITY"):
                    raise SupergraphError(
                        f"unsupported feature {url} (for: {purpose}); this router cannot serve it"
                    )
        if not found_join:
            raise SupergraphError("not a supergraph: no @link to https://specs.apollo.dev/join")

    def _load(self, document: DocumentNode) -> None:
        for definition in document.definitions:
            if isinstance(definition, EnumTypeDefinitionNode) and definition.name.value == "join__Graph":
                for value in definition.values or ():
                    (directive,) = _directives(value, "join__graph") or (None,)
                    if directive is None:
                        continue
                    self.graphs[value.name.value] = Graph(
                        value.name.value, str(_arg(directive, "name")), str(_arg(directive, "url") or "")
                    )
        for definition in document.definitions:
            if not isinstance(definition, TypeDefinitionNode):
                continue
            name = definition.name.value
            if name.startswith(MACHINERY_PREFIXES):
                continue
            kind = kind_of(definition) or TypeKind.OTHER
            model = TypeModel(name=name, kind=kind)
            for directive in _directives(definition, "join__type") + _directives(definition, "join__owner"):
                graph = str(_arg(directive, "graph"))
                resolvable = _arg(directive, "resolvable")
                model.joins.append(
                    JoinType(
                        graph=graph,
                        key=_arg(directive, "key"),  # type: ignore[arg-type]
                        resolvable=True if resolvable is None else bool(resolvable),
                        extension=bool(_arg(directive, "extension")),
                        is_interface_object=bool(_arg(directive, "isInterfaceObject")),
                    )
                )
            for directive in _directives(definition, "join__implements"):
                model.implements.setdefault(str(_arg(directive, "graph")), set()).add(
                    str(_arg(directive, "interface"))
                )
            for directive in _directives(definition, "join__unionMember"):
                model.union_members.setdefault(str(_arg(directive, "graph")), set()).add(
                    str(_arg(directive, "member"))
                )
            for field_node in getattr(definition, "fields", None) or ():
                fmodel = FieldModel(name=field_node.name.value)
                for directive in _directives(field_node, "join__field"):
                    graph = _arg(directive, "graph")
                    fmodel.joins.append(
                        JoinField(
                            graph=str(graph) if graph is not None else None,
                            requires=_arg(directive, "requires"),  # type: ignore[arg-type]
                            provides=_arg(directive, "provides"),  # type: ignore[arg-type]
                            type=_arg(directive, "type"),  # type: ignore[arg-type]
                            external=bool(_arg(directive, "external")),
                            override=_arg(directive, "override"),  # type: ignore[arg-type]
                            used_overridden=bool(_arg(directive, "usedOverridden")),
                        )
                    )
                model.fields[fmodel.name] = fmodel
            self.types[name] = model

    # ---- queries used by the planner ----------------------------------------------------------

    def type_graphs(self, type_name: str) -> set[str]:
        """Subgraphs that define a type (all graphs for types without joins, like built-ins)."""
        model = self.types.get(type_name)
        if model is None or not model.joins:
            return set(self.graphs)
        return model.graphs

    def field_joins(self, type_name: str, field_name: str) -> list[JoinField]:
        model = self.types.get(type_name)
        if model is None:
            return []
        fmodel = model.fields.get(field_name)
        if fmodel is None:
            return []
        return [j for j in fmodel.joins if j.graph is not None]

    def field_join(self, type_name: str, field_name: str, graph: str) -> JoinField | None:
        for join in self.field_joins(type_name, field_name):
            if join.graph == graph:
                return join
        return None

    def _has_graphless_join(self, type_name: str, field_name: str) -> bool:
        """`@join__field` without a graph: the field comes from an `@interfaceObject` elsewhere."""
        model = self.types.get(type_name)
        fmodel = model.fields.get(field_name) if model is not None else None
        return fmodel is not None and bool(fmodel.joins) and all(j.graph is None for j in fmodel.joins)

    def field_defined_in(self, type_name: str, field_name: str, graph: str) -> bool:
        """Whether the subgraph's schema has the field at all (external or not)."""
        joins = self.field_joins(type_name, field_name)
        if joins:
            return any(j.graph == graph for j in joins)
        if self._has_graphless_join(type_name, field_name):
            return False
        return graph in self.type_graphs(type_name)

    def field_resolvable_in(self, type_name: str, field_name: str, graph: str) -> bool:
        """Whether a subgraph can resolve the field itself (not external, not overridden away)."""
        if field_name == "__typename":
            return True
        joins = self.field_joins(type_name, field_name)
        if joins:
            return any(j.graph == graph and not j.external and not j.used_overridden for j in joins)
        if self._has_graphless_join(type_name, field_name):
            return False
        model = self.types.get(type_name)
        if model is None:
            return False
        if field_name not in model.fields:
            return False
        return graph in self.type_graphs(type_name)

    def resolving_graphs(self, type_name: str, field_name: str) -> list[str]:
        return [g for g in self.graphs if self.field_resolvable_in(type_name, field_name, g)]

    def possible_types_in(self, abstract: str, graph: str) -> list[str]:
        """Object types a subgraph may return where the supergraph says `abstract`."""
        model = self.types.get(abstract)
        if model is None:
            return []
        if model.kind is TypeKind.UNION:
            members = model.union_members.get(graph)
            if members is None and not model.union_members:
                gtype = self.schema.get_type(abstract)
                return [t.name for t in getattr(gtype, "types", ())]
            return sorted(members or ())
        result = []
        for candidate in self.types.values():
            if candidate.kind is not TypeKind.OBJECT:
                continue
            if candidate.implements:
                if abstract in candidate.implements.get(graph, set()):
                    result.append(candidate.name)
            else:
                gtype = self.schema.get_type(candidate.name)
                names = {i.name for i in getattr(gtype, "interfaces", ())}
                if abstract in names and graph in self.type_graphs(candidate.name):
                    result.append(candidate.name)
        return result

    def supertypes(self, type_name: str) -> frozenset[str]:
        """Interfaces and unions an object type belongs to (cached: used per response object)."""
        cached = self._supertypes.get(type_name)
        if cached is None:
            gtype = self.schema.get_type(type_name)
            names = {i.name for i in getattr(gtype, "interfaces", ()) or ()}
            for name, model in self.types.items():
                if model.kind is TypeKind.UNION:
                    utype = self.schema.get_type(name)
                    if any(t.name == type_name for t in getattr(utype, "types", ())):
                        names.add(name)
            cached = self._supertypes[type_name] = frozenset(names)
        return cached

    def supergraph_possible_types(self, abstract: str) -> list[str]:
        gtype = self.schema.get_type(abstract)
        if gtype is None:
            return []
        return [t.name for t in self.schema.get_possible_types(gtype)]  # type: ignore[arg-type]
