"""Alembic's entry point for the auth database: every subgraph runs its revisions the same way
(`shared.migrations.run_env`), each given its own tables' metadata."""

from shared.migrations import run_env
from subgraphs.auth.models import Base

run_env(Base.metadata)
