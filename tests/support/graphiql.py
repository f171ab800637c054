"""The GraphiQL build the GraphiQL tests need: scripts/test's bootstrap makes it (scripts/build-graphiql)."""

from __future__ import annotations

import os

import pytest

from shared.graphiql import REPO_ROOT

BUILT_INDEX = REPO_ROOT / "graphiql" / "dist" / "index.html"


def require_build() -> None:
    """The built assets, or a clear failure in CI (where the bootstrap must have built them) and a
    skip elsewhere (a machine without node still runs everything else)."""
    if BUILT_INDEX.is_file():
        return
    message = f"{BUILT_INDEX.relative_to(REPO_ROOT)} is missing: run scripts/build-graphiql (node + npm)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)
