"""The machine's Redis for the tests that prove shared state, with a key prefix of its own per run."""

from __future__ import annotations

import os
import socket
import uuid
from urllib.parse import urlparse

import pytest

DEFAULT_URL = "redis://127.0.0.1:6379/0"


def redis_url() -> str:
    """SAWIT_TEST_REDIS_URL or the local server; skip (saying why) when nothing answers there."""
    url = os.environ.get("SAWIT_TEST_REDIS_URL", DEFAULT_URL)
    parsed = urlparse(url)
    try:
        socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), timeout=1).close()
    except OSError as exc:
        pytest.skip(f"Redis tests skipped: nothing answers at {url} ({exc}); set SAWIT_TEST_REDIS_URL")
    return url


def fresh_prefix(label: str) -> str:
    """Keys no other run (or test) uses; they expire with their windows."""
    return f"sawit-test:{label}:{uuid.uuid4().hex[:12]}:"
