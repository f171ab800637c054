"""Building one dataclass from another object with the same field names (a row, a record, a GraphQL type).

A record, the row it comes from and the GraphQL type built from it share most field names, so the
conversion names only the fields that differ; every other field is copied by name.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

T = TypeVar("T")


def copy_fields(cls: type[T], source: object, **overrides: Any) -> T:
    """A `cls` (a dataclass, e.g. a Strawberry type) whose init fields are `source`'s attributes of
    the same names, but for `overrides` (the converted or computed ones)."""
    names = (field.name for field in dataclasses.fields(cls) if field.init)  # type: ignore[arg-type]
    return cls(**{name: getattr(source, name) for name in names if name not in overrides}, **overrides)
