"""A small mutable selection-set model used to build the operations sent to subgraphs."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FieldSelection:
    """One field in a subgraph operation; `response_key` is the alias (or the name)."""

    response_key: str
    name: str
    arguments: str = ""
    sub: SelectionSet | None = None
    type_sig: str = ""
    output_key: str | None = None

    @property
    def sent_key(self) -> str:
        """The alias used on the wire (differs from the response key only to dodge type conflicts)."""
        return self.output_key or self.response_key

    def printed(self) -> str:
        sent = self.sent_key
        head = self.name if sent == self.name else f"{sent}: {self.name}"
        text = head + self.arguments
        if self.sub is not None:
            text += " " + self.sub.printed()
        return text


@dataclass
class SelectionSet:
    """Fields by response key plus inline fragments by type condition, in insertion order."""

    fields: dict[str, FieldSelection] = field(default_factory=dict)
    fragments: dict[str, SelectionSet] = field(default_factory=dict)

    def add_field(
        self, response_key: str, name: str, arguments: str, composite: bool, type_sig: str = ""
    ) -> FieldSelection:
        """Add (or reuse) a field; two requests for the same key share one sub-selection."""
        existing = self.fields.get(response_key)
        if existing is not None:
            if composite and existing.sub is None:
                existing.sub = SelectionSet()
            return existing
        created = FieldSelection(
            response_key, name, arguments, SelectionSet() if composite else None, type_sig
        )
        self.fields[response_key] = created
        return created

    def fragment(self, type_condition: str) -> SelectionSet:
        existing = self.fragments.get(type_condition)
        if existing is None:
            existing = self.fragments[type_condition] = SelectionSet()
        return existing

    def is_empty(self) -> bool:
        return not self.fields and not any(not f.is_empty() for f in self.fragments.values())

    def printed(self) -> str:
        parts = [f.printed() for f in self.fields.values()]
        for condition, sub in self.fragments.items():
            if not sub.is_empty():
                parts.append(f"... on {condition} {sub.printed()}")
        if not parts:
            parts.append("__typename")
        return "{ " + " ".join(parts) + " }"


def dodge_type_conflicts(selection: SelectionSet) -> bool:
    """Alias fields whose subgraph types differ between sibling fragments (invalid otherwise).

    Returns True when some field was aliased, so the executor knows to rename results back.
    """
    renamed = False
    seen: dict[str, str] = {f.response_key: f.type_sig for f in selection.fields.values()}
    for condition, fragment in selection.fragments.items():
        for f in fragment.fields.values():
            first = seen.setdefault(f.response_key, f.type_sig)
            if f.type_sig and first and first != f.type_sig:
                f.output_key = f"{f.response_key}__{condition}"
                renamed = True
    for f in selection.fields.values():
        if f.sub is not None:
            renamed |= dodge_type_conflicts(f.sub)
    for fragment in selection.fragments.values():
        for f in fragment.fields.values():
            if f.sub is not None:
                renamed |= dodge_type_conflicts(f.sub)
    return renamed
