"""The client-facing API schema of a supergraph: its SDL without the join/link machinery and
without anything marked `@inaccessible`, plus the `@defer` directive the router executes itself.

Kept apart from the planning model (supergraph_schema.py): what clients may see is a rule of its
own, and composition checks its result against it too.
"""

from __future__ import annotations

import dataclasses

from graphql import (
    DirectiveDefinitionNode,
    DirectiveNode,
    DocumentNode,
    EnumTypeDefinitionNode,
    InputObjectTypeDefinitionNode,
    InterfaceTypeDefinitionNode,
    NamedTypeNode,
    ObjectTypeDefinitionNode,
    SchemaDefinitionNode,
    SchemaExtensionNode,
    TypeDefinitionNode,
    UnionTypeDefinitionNode,
    parse,
)

MACHINERY_PREFIXES = ("join__", "link__", "core__")
SPEC_DIRECTIVES = {"link", "core", "inaccessible", "tag"}
# What the router itself executes (supergraph/defer.py), so client operations may use it.
DEFER_DIRECTIVE = parse(
    "directive @defer(label: String, if: Boolean! = true) on FRAGMENT_SPREAD | INLINE_FRAGMENT",
    no_location=True,
).definitions[0]


def _is_machinery_directive(directive: DirectiveNode) -> bool:
    name = directive.name.value
    return name.startswith(MACHINERY_PREFIXES) or name in SPEC_DIRECTIVES


def _inaccessible(node: object) -> bool:
    return any(d.name.value == "inaccessible" for d in getattr(node, "directives", None) or ())


def _clean_directives(node: object) -> tuple[DirectiveNode, ...]:
    return tuple(d for d in getattr(node, "directives", None) or () if not _is_machinery_directive(d))


def api_document(document: DocumentNode) -> DocumentNode:
    """Remove join/link machinery and `@inaccessible` elements: what clients may see and query."""
    hidden_types = {
        d.name.value
        for d in document.definitions
        if isinstance(d, TypeDefinitionNode)
        and (_inaccessible(d) or d.name.value.startswith(MACHINERY_PREFIXES))
    }
    definitions = []
    for definition in document.definitions:
        if isinstance(definition, DirectiveDefinitionNode):
            name = definition.name.value
            if name.startswith(MACHINERY_PREFIXES) or name in SPEC_DIRECTIVES:
                continue
            definitions.append(definition)
            continue
        if isinstance(definition, SchemaDefinitionNode):
            definitions.append(dataclasses.replace(definition, directives=()))
            continue
        if isinstance(definition, SchemaExtensionNode):
            continue
        if not isinstance(definition, TypeDefinitionNode):
            continue
        if definition.name.value in hidden_types:
            continue
        changes: dict[str, object] = {"directives": _clean_directives(definition)}
        if isinstance(definition, ObjectTypeDefinitionNode | InterfaceTypeDefinitionNode):
            fields = []
            for f in definition.fields or ():
                if _inaccessible(f) or _named(f.type) in hidden_types:
                    continue
                args = tuple(
                    dataclasses.replace(a, directives=_clean_directives(a))
                    for a in f.arguments or ()
                    if not _inaccessible(a) and _named(a.type) not in hidden_types
                )
                fields.append(dataclasses.replace(f, directives=_clean_directives(f), arguments=args))
            if not fields:
                continue
            changes["fields"] = tuple(fields)
            changes["interfaces"] = tuple(
                i for i in definition.interfaces or () if i.name.value not in hidden_types
            )
        elif isinstance(definition, InputObjectTypeDefinitionNode):
            changes["fields"] = tuple(
                dataclasses.replace(f, directives=_clean_directives(f))
                for f in definition.fields or ()
                if not _inaccessible(f) and _named(f.type) not in hidden_types
            )
        elif isinstance(definition, EnumTypeDefinitionNode):
            changes["values"] = tuple(
                dataclasses.replace(v, directives=_clean_directives(v))
                for v in definition.values or ()
                if not _inaccessible(v)
            )
        elif isinstance(definition, UnionTypeDefinitionNode):
            members = tuple(t for t in definition.types or () if t.name.value not in hidden_types)
            if not members:
                continue
            changes["types"] = members
        definitions.append(dataclasses.replace(definition, **changes))
    if not any(isinstance(d, DirectiveDefinitionNode) and d.name.value == "defer" for d in definitions):
        definitions.append(DEFER_DIRECTIVE)
    return DocumentNode(definitions=tuple(definitions))


def _named(type_node: object) -> str:
    while not isinstance(type_node, NamedTypeNode):
        type_node = type_node.type  # type: ignore[attr-defined]
    return type_node.name.value
