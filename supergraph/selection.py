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

    def printed(self) -> str:
        head = self.name if self.response_key == self.name else f"{self.response_key}: {self.name}"
        text = head + self.arguments
        if self.sub is not None:
            text += " " + self.sub.printed()
        return text


@dataclass
class SelectionSet:
    """Fields by response key plus inline fragments by type condition, in insertion order."""

    fields: dict[str, FieldSelection] = field(default_factory=dict)
    fragments: dict[str, SelectionSet] = field(default_factory=dict)

    def add_field(self, response_key: str, name: str, arguments: str, composite: bool) -> FieldSelection:
        """Add (or reuse) a field; two requests for the same key share one sub-selection."""
        existing = self.fields.get(response_key)
        if existing is not None:
            if composite and existing.sub is None:
                existing.sub = SelectionSet()
            return existing
        created = FieldSelection(response_key, name, arguments, SelectionSet() if composite else None)
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
