"""Test-wide setup: test keys and cheap argon2 settings before any settings object is read."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

_SESSION_DIR = Path(tempfile.mkdtemp(prefix="sawit-tests-"))
os.environ.setdefault("KEYS_DIR", str(_SESSION_DIR / "keys"))
os.environ.setdefault("DATA_DIR", str(_SESSION_DIR / "data"))
# OWASP minimums are the production defaults; tests only need argon2id to run, not to be slow.
os.environ["ARGON2_TIME_COST"] = "1"
os.environ["ARGON2_MEMORY_KIB"] = "1024"
os.environ.setdefault("LOG_LEVEL", "WARNING")
# Every test client is 127.0.0.1; tests that prove registration throttling set their own limit.
os.environ.setdefault("REGISTER_CLIENT_MAX", "100000")
# A 2-core CI machine running a concurrency test can take seconds per call; the saga's answer under
# a timeout is PENDING (correct, but not what a test of the happy path asserts).
os.environ.setdefault("SUBGRAPH_TIMEOUT_S", "30")

from scripts.keygen import ensure_keys  # noqa: E402
from shared.settings import get_settings  # noqa: E402

get_settings.cache_clear()
ensure_keys(Path(os.environ["KEYS_DIR"]))


@pytest.fixture(scope="session")
def session_dir() -> Path:
    return _SESSION_DIR


@pytest.fixture
def work_dir(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture(scope="session")
def base_env() -> dict[str, str]:
    """Environment for child processes: the same test keys and cheap hashing."""
    return {
        "KEYS_DIR": os.environ["KEYS_DIR"],
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_KIB": "1024",
        "LOG_LEVEL": "INFO",
        "REGISTER_CLIENT_MAX": "100000",
        "SUBGRAPH_TIMEOUT_S": os.environ["SUBGRAPH_TIMEOUT_S"],
        "PYTHONUNBUFFERED": "1",
    }


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    """An admin URL of a PostgreSQL server, or skip saying why there is none."""
    from tests.support.postgres import admin_url

    url, reason = admin_url()
    if url is None:
        pytest.skip(f"PostgreSQL tests skipped: {reason}")
    yield url
