"""Write each subgraph's federation SDL to `subgraphs/<name>/schema.graphql`, the reviewable copy
that supergraph.yaml composes from (no running process needed) and that a test keeps current.

`python -m scripts.export_sdl` rewrites every file; `--check` only reports which are stale (exit 1).
The SDL is exactly what the subgraph answers to `{ _service { sdl } }`.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from shared.settings import SUBGRAPHS

ROOT = Path(__file__).resolve().parents[1]


def schema_path(name: str) -> Path:
    return ROOT / "subgraphs" / name / "schema.graphql"


def current_sdl(name: str) -> str:
    """The SDL the subgraph `name` serves, from its Strawberry schema in this process."""
    schema = importlib.import_module(f"subgraphs.{name}.schema").schema
    result = schema.execute_sync("{ _service { sdl } }")
    if result.errors or not result.data:
        raise RuntimeError(f"{name}: cannot read its SDL: {result.errors}")
    return str(result.data["_service"]["sdl"]).rstrip("\n") + "\n"


def stale() -> list[str]:
    """Subgraphs whose checked-in schema.graphql differs from what they serve."""
    return [
        name
        for name in SUBGRAPHS
        if not schema_path(name).exists() or schema_path(name).read_text() != current_sdl(name)
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report stale files, write nothing")
    args = parser.parse_args(argv)
    if args.check:
        names = stale()
        for name in names:
            print(f"{schema_path(name).relative_to(ROOT)} is stale: run python -m scripts.export_sdl")
        return 1 if names else 0
    for name in SUBGRAPHS:
        schema_path(name).write_text(current_sdl(name))
        print(f"wrote {schema_path(name).relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
