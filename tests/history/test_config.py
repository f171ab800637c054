"""History's settings come from their plain env var names (the README table): a refactor of
`config.py` must keep `HISTORY_TYPES`, `HISTORY_STATUSES` and `HISTORY_VERIFY_BATCH_SIZE` working."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from subgraphs.history.config import DEFAULT_STATUSES, DEFAULT_TYPES, HistoryConfig


def test_the_defaults_are_the_documented_lists_and_batch() -> None:
    config = HistoryConfig()
    assert (config.types_csv, config.statuses_csv, config.verify_batch_size) == (
        DEFAULT_TYPES,
        DEFAULT_STATUSES,
        1000,
    )


def test_each_setting_is_read_from_its_history_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HISTORY_TYPES", " deposit, payment,, ")
    monkeypatch.setenv("HISTORY_STATUSES", "success")
    monkeypatch.setenv("HISTORY_VERIFY_BATCH_SIZE", "7")
    config = HistoryConfig()
    assert (config.types, config.statuses) == ({"DEPOSIT", "PAYMENT"}, {"SUCCESS"})
    assert config.verify_batch_size == 7


def test_a_batch_size_out_of_bounds_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HISTORY_VERIFY_BATCH_SIZE", "0")
    with pytest.raises(ValidationError):
        HistoryConfig()
    with pytest.raises(ValidationError):
        HistoryConfig(verify_batch_size=100_001)
