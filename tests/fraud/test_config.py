"""Rule settings come from FRAUD_* variables over an optional YAML/JSON rules file over defaults."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from subgraphs.fraud.config import FraudConfig


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(__import__("os").environ):
        if name.startswith("FRAUD_"):
            monkeypatch.delenv(name)


def test_defaults_are_the_documented_ones() -> None:
    config = FraudConfig()
    assert config.amount_fraud_minor == 5_000_000_000
    assert config.amount_suspicious_minor == 1_000_000_000
    assert (config.velocity_max_checks, config.velocity_window_s) == (10, 60)
    assert config.daily_limit_minor == 10_000_000_000
    assert (config.new_account_age_s, config.new_account_large_minor) == (86_400, 500_000_000)
    assert (config.structuring_min_count, config.structuring_window_s) == (3, 86_400)
    assert config.structuring_lower_minor == 900_000_000
    assert config.outgoing_types == ["PAYMENT", "TRANSFER"]
    assert config.disabled_rules == []


def test_environment_variables_override_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRAUD_VELOCITY_MAX_CHECKS", "4")
    monkeypatch.setenv("FRAUD_DAILY_LIMIT", "2500.50")
    monkeypatch.setenv("FRAUD_DISABLED_RULES", "velocity, structuring")
    monkeypatch.setenv("FRAUD_ALLOWED_TYPES", "deposit,payment")
    config = FraudConfig()
    assert config.velocity_max_checks == 4
    assert config.daily_limit_minor == 250_050
    assert config.disabled_rules == ["VELOCITY", "STRUCTURING"]
    assert not config.enabled("VELOCITY") and config.enabled("AMOUNT_FRAUD")
    assert config.allowed_types == ["DEPOSIT", "PAYMENT"]


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_a_rules_file_sets_values_and_environment_variables_win(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    values = {"velocity_max_checks": 7, "FRAUD_VELOCITY_WINDOW_S": 30, "amount_fraud_threshold": "900"}
    path = tmp_path / f"rules{suffix}"
    path.write_text(
        json.dumps(values) if suffix == ".json" else "\n".join(f"{k}: {v!r}" for k, v in values.items())
    )
    monkeypatch.setenv("FRAUD_RULES_FILE", str(path))
    monkeypatch.setenv("FRAUD_VELOCITY_WINDOW_S", "45")
    config = FraudConfig()
    assert config.velocity_max_checks == 7
    assert config.velocity_window_s == 45
    assert config.amount_fraud_minor == 90_000


@pytest.mark.parametrize(
    "values",
    [
        {"FRAUD_DISABLED_RULES": "NOT_A_RULE"},
        {"FRAUD_VELOCITY_MAX_CHECKS": "0"},
        {"FRAUD_DAILY_LIMIT": "10.001"},
        {"FRAUD_STRUCTURING_LOWER_PCT": "100"},
    ],
)
def test_invalid_settings_fail_at_start(monkeypatch: pytest.MonkeyPatch, values: dict[str, str]) -> None:
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        FraudConfig()


def test_an_unknown_key_in_the_rules_file_fails_at_start(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("velocity_max_cheks: 3\n")
    with pytest.raises(ValueError, match="velocity_max_cheks"):
        FraudConfig(rules_file=str(path))
