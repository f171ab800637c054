"""The seed flow with every subgraph on its own fresh PostgreSQL database."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.test_seed import run_seed_flow
from tests.support.stack import Stack, fresh_postgres_urls


@pytest.mark.postgres
def test_the_seed_flow_works_with_every_subgraph_on_postgresql(
    postgres_admin_url: str, tmp_path: Path, base_env: dict[str, str]
):
    with fresh_postgres_urls() as urls:
        assert sorted(urls) == ["auth", "fraud", "history", "transactions", "wallet"]
        assert all(url.startswith("postgresql+asyncpg://") for url in urls.values())
        with Stack(tmp_path, base_env, database_urls=urls) as stack:
            seen = run_seed_flow(stack)
            assert seen["va"] and seen["wallet_id"]
