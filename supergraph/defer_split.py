"""`@defer`, the document side: which variables steer it, the operation without it, and the split
of an operation into its initial selection and one unit per deferred fragment (with how each is
fetched). supergraph/defer.py executes the split and frames the parts."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from graphql import (
    BooleanValueNode,
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
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
    is_object_type,
    visit,
)
from graphql.language import REMOVE, Visitor

from supergraph.fieldset import parse_field_set
from supergraph.plan import PlanningError, QueryPlan, should_include, sub_path
from supergraph.planner import build_entity_plan, build_plan
from supergraph.supergraph_schema import Supergraph

if TYPE_CHECKING:
    from supergraph.gateway import PreparedOperation

log = logging.getLogger("supergraph.defer")
# How a deferred fragment is fetched: its own root fetch, an _entities fetch, or with its parent.
ROOT, ENTITY, EAGER = "root", "entity", "eager"

_TYPENAME = FieldNode(name=NameNode(value="__typename"))


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


@dataclass
class _Splitter:
    """One split: its inputs, and the deferred fragments it finds (in document order)."""

    sg: Supergraph
    operation: OperationDefinitionNode
    fragments: Mapping[str, FragmentDefinitionNode]
    variables: Mapping[str, Any]
    deferred: list[Deferred] = field(default_factory=list)
    by_node: dict[int, Deferred] = field(default_factory=dict)

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
                self.find(selection.selection_set.selections, named, sub_path(path, key, fdef.type), parent)
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
