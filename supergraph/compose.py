"""Compose Federation subgraph SDLs into a join-spec (v0.3) supergraph SDL.

The output follows Apollo's supergraph format, so the same file runs on Apollo Router or Hive
Gateway. Composition refuses (with the subgraphs, types and fields named) the conflicts a router
could not serve correctly: a non-shareable field resolved by two subgraphs, incompatible field
types, field sets naming unknown fields, kinds that disagree (the field-set and result checks:
compose_checks.py; reading each subgraph: compose_subgraph.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graphql import (
    NonNullTypeNode,
    TypeNode,
    print_ast,
)

from supergraph.compose_checks import check_result, field_set_errors
from supergraph.compose_subgraph import (
    _EMPTY,
    ROOT_NAMES,
    _deprecated,
    _enum_name,
    _FieldDef,
    _merge_output_types,
    _quote,
    _Subgraph,
    _TypeDef,
)
from supergraph.compose_subgraph import SubgraphSource as SubgraphSource  # re-exported
from supergraph.errors import CompositionError as CompositionError  # re-exported
from supergraph.supergraph_schema import TypeKind


class Composer:
    """Merges parsed subgraphs; `compose()` returns the supergraph SDL or raises CompositionError."""

    def __init__(self, sources: Sequence[SubgraphSource]) -> None:
        if not sources:
            raise CompositionError(["no subgraphs to compose"])
        taken: set[str] = set()
        names = [s.name for s in sources]
        duplicates = {n for n in names if names.count(n) > 1}
        if duplicates:
            raise CompositionError([f'subgraph name "{n}" is used twice' for n in sorted(duplicates)])
        self.subgraphs = [_Subgraph(s, _enum_name(s.name, taken)) for s in sources]
        self.errors: list[str] = []
        self.uses_inaccessible = False
        self._virtual_fields: dict[str, dict[str, _FieldDef]] = {}
        self._interface_object_fields()

    def _subtype(self, sub: str, sup: str) -> bool:
        """Whether `sub` implements interface `sup` or is a member of union `sup` in some subgraph."""
        for s in self.subgraphs:
            tdef = s.types.get(sub)
            if tdef is not None and sup in tdef.interfaces:
                return True
            udef = s.types.get(sup)
            if udef is not None and sub in udef.members:
                return True
        return False

    def _interface_object_fields(self) -> None:
        """Fields an `@interfaceObject` adds to an interface also exist on every implementation."""
        for sub in self.subgraphs:
            for iname, idef in sub.types.items():
                if not idef.interface_object:
                    continue
                for other in self.subgraphs:
                    for tname, tdef in other.types.items():
                        if iname not in tdef.interfaces:
                            continue
                        for fname, fdef in idef.fields.items():
                            if any(fname in s2.types.get(tname, _EMPTY).fields for s2 in self.subgraphs):
                                continue
                            self._virtual_fields.setdefault(tname, {})[fname] = fdef

    def _enum(self, graph: str) -> str:
        return next(s.enum_name for s in self.subgraphs if s.source.name == graph)

    def compose(self) -> str:
        type_names = sorted({name for s in self.subgraphs for name in s.types})
        blocks: list[str] = []
        for name in type_names:
            defs = [s.types[name] for s in self.subgraphs if name in s.types]
            kinds = {d.kind for d in defs}
            if len(kinds) > 1:
                detail = ", ".join(f'{d.kind} in subgraph "{d.graph}"' for d in defs)
                self.errors.append(f'type "{name}" has different kinds: {detail}')
                continue
            kind = defs[0].kind
            block = {
                TypeKind.OBJECT: self._object_or_interface,
                TypeKind.INTERFACE: self._object_or_interface,
                TypeKind.UNION: self._union,
                TypeKind.ENUM: self._enum_type,
                TypeKind.INPUT: self._input,
                TypeKind.SCALAR: self._scalar,
            }[kind](name, defs)
            if block:
                blocks.append(block)
        self.errors.extend(field_set_errors(self.subgraphs))
        if self.errors:
            raise CompositionError(self.errors)
        sdl = self._header() + "\n\n".join(blocks) + "\n"
        check_result(sdl)
        return sdl

    # ---- per kind ------------------------------------------------------------------------------

    def _join_type(self, d: _TypeDef) -> list[str]:
        enum = self._enum(d.graph)
        extra = ", isInterfaceObject: true" if d.interface_object else ""
        ext = ", extension: true" if d.extension else ""
        if not d.keys:
            return [f"@join__type(graph: {enum}{extra})"]
        out = []
        for key, resolvable in d.keys:
            res = "" if resolvable else ", resolvable: false"
            out.append(f"@join__type(graph: {enum}, key: {_quote(key)}{ext}{res}{extra})")
        return out

    def _fed2(self, graph: str) -> bool:
        return next(s.fed2 for s in self.subgraphs if s.source.name == graph)

    def _inaccessible(self, flag: bool) -> str:
        if flag:
            self.uses_inaccessible = True
            return " @inaccessible"
        return ""

    def _object_or_interface(self, name: str, defs: list[_TypeDef]) -> str:
        is_interface = any(d.kind is TypeKind.INTERFACE and not d.interface_object for d in defs)
        keyword = "interface" if is_interface or all(d.interface_object for d in defs) else "type"
        directives: list[str] = []
        interfaces: list[str] = []
        for d in defs:
            for interface in d.interfaces:
                directives.append(
                    f"@join__implements(graph: {self._enum(d.graph)}, interface: {_quote(interface)})"
                )
                if interface not in interfaces:
                    interfaces.append(interface)
        for d in defs:
            directives.extend(self._join_type(d))
        type_inaccessible = any(d.inaccessible for d in defs)
        field_names: list[str] = []
        for d in defs:
            for fname in d.fields:
                if fname not in field_names:
                    field_names.append(fname)
        lines = []
        for fname in field_names:
            line = self._field(name, fname, [d for d in defs if fname in d.fields], defs)
            if line:
                lines.append(line)
        for fname, fdef in self._virtual_fields.get(name, {}).items():
            lines.append(f"{fname}: {print_ast(fdef.node.type)} @join__field")
        if not lines:
            return ""
        implements = f" implements {' & '.join(interfaces)}" if interfaces else ""
        head = f"{keyword} {name}{implements}"
        body = "\n".join(f"  {line}" for line in lines)
        dirs = "".join(f"\n  {d}" for d in directives) + self._inaccessible(type_inaccessible)
        return f"{head}{dirs}\n{{\n{body}\n}}"

    def _field(self, type_name: str, fname: str, holders: list[_TypeDef], all_defs: list[_TypeDef]) -> str:
        fdefs = [d.fields[fname] for d in holders]
        merged: TypeNode | None = fdefs[0].node.type
        for f in fdefs[1:]:
            merged = _merge_output_types(merged, f.node.type, self._subtype) if merged is not None else None
        if merged is None:
            detail = ", ".join(f'"{f.type_str}" in subgraph "{f.graph}"' for f in fdefs)
            self.errors.append(
                f'field "{type_name}.{fname}" has incompatible types across subgraphs: {detail}'
            )
            return ""
        overridden = {f.override for f in fdefs if f.override}
        resolving = [f for f in fdefs if not f.external and f.graph not in overridden]
        is_root = type_name in ("Query", "Mutation", "Subscription")
        abstract = any(d.kind is TypeKind.INTERFACE and not d.interface_object for d in all_defs)
        if len(resolving) > 1 and type_name != "Subscription" and not abstract:
            fed1_all = all(not self._fed2(f.graph) for f in resolving)
            non_shareable = [
                f
                for f in resolving
                if not (f.shareable or f.is_key or not self._fed2(f.graph)) and not (is_root and fed1_all)
            ]
            if non_shareable:
                graphs = " and ".join(f'"{f.graph}"' for f in resolving)
                culprits = ", ".join(f'"{f.graph}"' for f in non_shareable)
                self.errors.append(
                    f'Non-shareable field "{type_name}.{fname}" is resolved from multiple subgraphs: '
                    f"it is resolved from subgraphs {graphs} and defined as non-shareable "
                    f"in subgraph(s) {culprits}"
                )
        for f in fdefs:
            if f.override and f.override == f.graph:
                self.errors.append(f'field "{type_name}.{fname}" in subgraph "{f.graph}" overrides itself')
        merged_str = print_ast(merged)
        in_all = len(holders) == len(all_defs)
        special = any(
            f.external or f.requires or f.provides or f.override or f.type_str != merged_str for f in fdefs
        ) or any(f.graph in overridden for f in fdefs)
        joins = ""
        if not in_all or special or len(all_defs) > 1 and not in_all:
            parts = []
            for f in fdefs:
                args = [f"graph: {self._enum(f.graph)}"]
                if f.requires:
                    args.append(f"requires: {_quote(f.requires)}")
                if f.provides:
                    args.append(f"provides: {_quote(f.provides)}")
                if f.type_str != merged_str:
                    args.append(f"type: {_quote(f.type_str)}")
                if f.external:
                    args.append("external: true")
                if f.override:
                    args.append(f"override: {_quote(f.override)}")
                if f.graph in overridden:
                    if not f.is_key:
                        continue
                    args.append("usedOverridden: true")
                parts.append(f"@join__field({', '.join(args)})")
            joins = " " + " ".join(parts) if parts else ""
        node = fdefs[0].node
        arguments = self._arguments(type_name, fname, fdefs)
        inaccessible = self._inaccessible(any(f.inaccessible for f in fdefs))
        description = f"{print_ast(node.description)} " if node.description else ""
        deprecated = _deprecated(f.node for f in fdefs)
        return f"{description}{fname}{arguments}: {merged_str}{joins}{inaccessible}{deprecated}"

    def _arguments(self, type_name: str, fname: str, fdefs: list[_FieldDef]) -> str:
        names: list[str] = []
        by_name: dict[str, Any] = {}
        for f in fdefs:
            for arg in f.node.arguments or ():
                if arg.name.value not in by_name:
                    names.append(arg.name.value)
                    by_name[arg.name.value] = arg
        shared = [
            n for n in names if all(any(a.name.value == n for a in f.node.arguments or ()) for f in fdefs)
        ]
        for n in names:
            if n not in shared and isinstance(by_name[n].type, NonNullTypeNode):
                self.errors.append(
                    f'argument "{type_name}.{fname}({n}:)" is required but missing in some subgraphs'
                )
        if not shared:
            return ""
        rendered = []
        for n in shared:
            arg = by_name[n]
            inaccessible = any(
                sub.has(a, "inaccessible")
                for sub, f in ((self._sub(f.graph), f) for f in fdefs)
                for a in f.node.arguments or ()
                if a.name.value == n
            )
            default = f" = {print_ast(arg.default_value)}" if arg.default_value is not None else ""
            rendered.append(f"{n}: {print_ast(arg.type)}{default}{self._inaccessible(bool(inaccessible))}")
        return "(" + ", ".join(rendered) + ")"

    def _sub(self, graph: str) -> _Subgraph:
        return next(s for s in self.subgraphs if s.source.name == graph)

    def _union(self, name: str, defs: list[_TypeDef]) -> str:
        directives = []
        members: list[str] = []
        for d in defs:
            directives.extend(self._join_type(d))
        for d in defs:
            for member in d.members:
                directives.append(
                    f"@join__unionMember(graph: {self._enum(d.graph)}, member: {_quote(member)})"
                )
                if member not in members:
                    members.append(member)
        dirs = "".join(f"\n  {x}" for x in directives) + self._inaccessible(any(d.inaccessible for d in defs))
        return f"union {name}{dirs}\n = {' | '.join(members)}"

    def _enum_type(self, name: str, defs: list[_TypeDef]) -> str:
        directives = [x for d in defs for x in self._join_type(d)]
        values: list[str] = []
        for d in defs:
            for value in d.values:
                if value not in values:
                    values.append(value)
        lines = []
        for value in values:
            joins = " ".join(
                f"@join__enumValue(graph: {self._enum(d.graph)})" for d in defs if value in d.values
            )
            inaccessible = self._inaccessible(any(d.values.get(value) for d in defs))
            deprecated = _deprecated(v for d in defs for v in d.node.values or () if v.name.value == value)
            lines.append(f"  {value} {joins}{inaccessible}{deprecated}")
        dirs = "".join(f"\n  {x}" for x in directives) + self._inaccessible(any(d.inaccessible for d in defs))
        return f"enum {name}{dirs}\n{{\n" + "\n".join(lines) + "\n}"

    def _input(self, name: str, defs: list[_TypeDef]) -> str:
        directives = [x for d in defs for x in self._join_type(d)]
        names: list[str] = []
        for d in defs:
            for fname in d.fields:
                if fname not in names:
                    names.append(fname)
        lines = []
        for fname in names:
            holders = [d for d in defs if fname in d.fields]
            node = holders[0].fields[fname].node
            if len(holders) != len(defs):
                if isinstance(node.type, NonNullTypeNode):
                    missing = ", ".join(f'"{d.graph}"' for d in defs if fname not in d.fields)
                    self.errors.append(
                        f'input field "{name}.{fname}" is required but missing in subgraph(s) {missing}'
                    )
                continue
            types = {print_ast(d.fields[fname].node.type) for d in holders}
            if len({t.replace("!", "") for t in types}) > 1:
                self.errors.append(f'input field "{name}.{fname}" has incompatible types: {sorted(types)}')
                continue
            strictest = max(types, key=lambda t: t.count("!"))
            default = f" = {print_ast(node.default_value)}" if node.default_value is not None else ""
            joins = ""
            if len(defs) > 1:
                joins = " " + " ".join(f"@join__field(graph: {self._enum(d.graph)})" for d in holders)
            inaccessible = self._inaccessible(any(d.fields[fname].inaccessible for d in holders))
            lines.append(f"  {fname}: {strictest}{default}{joins}{inaccessible}")
        if not lines:
            return ""
        dirs = "".join(f"\n  {x}" for x in directives) + self._inaccessible(any(d.inaccessible for d in defs))
        return f"input {name}{dirs}\n{{\n" + "\n".join(lines) + "\n}"

    def _scalar(self, name: str, defs: list[_TypeDef]) -> str:
        if name in ("String", "Int", "Float", "Boolean", "ID"):
            return ""
        directives = [x for d in defs for x in self._join_type(d)]
        dirs = "".join(f"\n  {x}" for x in directives) + self._inaccessible(any(d.inaccessible for d in defs))
        return f"scalar {name}{dirs}"

    # ---- output --------------------------------------------------------------------------------

    def _header(self) -> str:
        links = [
            '@link(url: "https://specs.apollo.dev/link/v1.0")',
            '@link(url: "https://specs.apollo.dev/join/v0.3", for: EXECUTION)',
        ]
        if self.uses_inaccessible:
            links.append('@link(url: "https://specs.apollo.dev/inaccessible/v0.2", for: SECURITY)')
        roots = [
            f"  {op}: {ROOT_NAMES[op]}"
            for op in ("query", "mutation", "subscription")
            if any(ROOT_NAMES[op] in s.types for s in self.subgraphs)
        ]
        graphs = "\n".join(
            f"  {s.enum_name} @join__graph(name: {_quote(s.source.name)}, url: {_quote(s.source.url)})"
            for s in self.subgraphs
        )
        inaccessible = (
            "directive @inaccessible on FIELD_DEFINITION | OBJECT | INTERFACE | UNION | ARGUMENT_DEFINITION "
            "| SCALAR | ENUM | ENUM_VALUE | INPUT_OBJECT | INPUT_FIELD_DEFINITION\n\n"
            if self.uses_inaccessible
            else ""
        )
        return (
            "schema\n  "
            + "\n  ".join(links)
            + "\n{\n"
            + "\n".join(roots)
            + "\n}\n\n"
            + inaccessible
            + "directive @join__enumValue(graph: join__Graph!) repeatable on ENUM_VALUE\n\n"
            "directive @join__field(graph: join__Graph, requires: join__FieldSet, provides: join__FieldSet, "
            "type: String, external: Boolean, override: String, usedOverridden: Boolean) "
            "repeatable on FIELD_DEFINITION | INPUT_FIELD_DEFINITION\n\n"
            "directive @join__graph(name: String!, url: String!) on ENUM_VALUE\n\n"
            "directive @join__implements(graph: join__Graph!, interface: String!) "
            "repeatable on OBJECT | INTERFACE\n\n"
            "directive @join__type(graph: join__Graph!, key: join__FieldSet, extension: Boolean! = false, "
            "resolvable: Boolean! = true, isInterfaceObject: Boolean! = false) "
            "repeatable on OBJECT | INTERFACE | UNION | ENUM | INPUT_OBJECT | SCALAR\n\n"
            "directive @join__unionMember(graph: join__Graph!, member: String!) repeatable on UNION\n\n"
            "directive @link(url: String, as: String, for: link__Purpose, import: [link__Import]) "
            "repeatable on SCHEMA\n\n"
            "scalar join__FieldSet\n\n"
            f"enum join__Graph\n{{\n{graphs}\n}}\n\n"
            "scalar link__Import\n\n"
            "enum link__Purpose {\n  SECURITY\n  EXECUTION\n}\n\n"
        )


def compose(sources: Sequence[SubgraphSource]) -> str:
    """Compose subgraphs into a supergraph SDL (join v0.3); raises CompositionError."""
    return Composer(sources).compose()


__all__ = ["CompositionError", "SubgraphSource", "compose"]
