"""The idempotency and per-user serialisation guarantees, on PostgreSQL (advisory lock + UNIQUE)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fraud.conftest import MakeService
from tests.fraud.test_checks import (
    _velocity_config,
    concurrent_checks_of_one_user_see_each_other,
    concurrent_duplicates_from_two_users_keep_one_log,
    concurrent_duplicates_log_once,
)
from tests.support.postgres import fresh_database

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_url(postgres_admin_url: str) -> Iterator[str]:
    with fresh_database("sawit_fraud") as url:
        yield url


async def test_twenty_concurrent_duplicate_checks_log_once_on_postgres(
    make_service: MakeService, pg_url: str
) -> None:
    await concurrent_duplicates_log_once(await make_service(url=pg_url))


async def test_concurrent_checks_of_one_user_are_serialised_on_postgres(
    make_service: MakeService, pg_url: str
) -> None:
    service = await make_service(_velocity_config(), url=pg_url)
    await concurrent_checks_of_one_user_see_each_other(service)


async def test_concurrent_duplicates_of_two_users_keep_one_log_on_postgres(
    make_service: MakeService, pg_url: str
) -> None:
    await concurrent_duplicates_from_two_users_keep_one_log(await make_service(url=pg_url))
