"""The fraud rules' thresholds: environment variables (FRAUD_*) over an optional YAML/JSON rules file.

Precedence, highest first: constructor arguments, `FRAUD_*` environment variables (and `.env`),
the file named by `FRAUD_RULES_FILE` (YAML or JSON; keys are the field names below, with or
without the `fraud_` prefix, case-insensitive), then the defaults. Amounts are rupiah (decimal,
at most 2 decimals); the rules compare them in minor units (sen).
"""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import Field, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from shared.money import decimal_to_minor
from shared.settings import SubgraphConfig

RULE_CODES: tuple[str, ...] = (
    "AMOUNT_FRAUD",
    "AMOUNT_SUSPICIOUS",
    "VELOCITY",
    "DAILY_LIMIT",
    "NEW_ACCOUNT_LARGE",
    "STRUCTURING",
)


def _split_codes(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip().upper() for part in value.split(",") if part.strip()]
    return value


class _RulesFileSource(PydanticBaseSettingsSource):
    """Values from the YAML/JSON file named by `FRAUD_RULES_FILE` (or the `rules_file` argument)."""

    def __init__(self, settings_cls: type[BaseSettings], path: str | None) -> None:
        super().__init__(settings_cls)
        self.path = path

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ returns the whole mapping

    def __call__(self) -> dict[str, Any]:
        if not self.path:
            return {}
        raw = yaml.safe_load(Path(self.path).read_text(encoding="utf-8")) or {}
        if not isinstance(raw, dict):
            raise ValueError(f"{self.path}: the rules file must hold a mapping")
        known = set(self.settings_cls.model_fields) - {"rules_file"}
        values: dict[str, Any] = {}
        for key, value in raw.items():
            name = str(key).lower()
            name = name.removeprefix("fraud_")
            if name not in known:
                raise ValueError(f"{self.path}: unknown fraud setting {key!r}")
            values[name] = value
        return values


class FraudConfig(SubgraphConfig):
    """Thresholds of the six rules (README table); every value has a safe default.

    A `SubgraphConfig` like every subgraph's, whose variables all carry the `FRAUD_` prefix (they
    were named so before the base existed) and which also reads the rules file."""

    model_config = SettingsConfigDict(env_prefix="FRAUD_")

    rules_file: str | None = Field(None, description="YAML/JSON file with rule settings")

    amount_fraud_threshold: Decimal = Field(Decimal("50000000"), gt=0)
    amount_suspicious_threshold: Decimal = Field(Decimal("10000000"), gt=0)
    velocity_max_checks: int = Field(10, ge=1)
    velocity_window_s: int = Field(60, ge=1)
    daily_limit: Decimal = Field(Decimal("100000000"), gt=0)
    new_account_age_s: int = Field(86_400, ge=1)
    new_account_large_amount: Decimal = Field(Decimal("5000000"), gt=0)
    structuring_min_count: int = Field(3, ge=2)
    structuring_window_s: int = Field(86_400, ge=1)
    structuring_lower_pct: int = Field(90, ge=1, le=99)
    disabled_rules: Annotated[list[str], NoDecode] = Field(default_factory=list)
    allowed_types: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["DEPOSIT", "PAYMENT", "TRANSFER"]
    )
    outgoing_types: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["PAYMENT", "TRANSFER"])

    @field_validator("disabled_rules", "allowed_types", "outgoing_types", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        value = _split_codes(value)
        if isinstance(value, list):
            return [str(item).strip().upper() for item in value]
        return value

    @field_validator(
        "amount_fraud_threshold",
        "amount_suspicious_threshold",
        "daily_limit",
        "new_account_large_amount",
    )
    @classmethod
    def _two_decimals(cls, value: Decimal) -> Decimal:
        decimal_to_minor(value)  # raises on more than 2 decimals
        return value

    @model_validator(mode="after")
    def _known_codes(self) -> FraudConfig:
        unknown = set(self.disabled_rules) - set(RULE_CODES)
        if unknown:
            raise ValueError(f"unknown rule codes in FRAUD_DISABLED_RULES: {sorted(unknown)}")
        if not self.allowed_types:
            raise ValueError("FRAUD_ALLOWED_TYPES must name at least one type")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        init_kwargs = getattr(init_settings, "init_kwargs", {}) or {}
        path = init_kwargs.get("rules_file") or os.environ.get("FRAUD_RULES_FILE")
        return (
            init_settings,
            env_settings,
            dotenv_settings,
            _RulesFileSource(settings_cls, path),
            file_secret_settings,
        )

    # Thresholds in minor units, as the rules compare them.
    @property
    def amount_fraud_minor(self) -> int:
        return decimal_to_minor(self.amount_fraud_threshold)

    @property
    def amount_suspicious_minor(self) -> int:
        return decimal_to_minor(self.amount_suspicious_threshold)

    @property
    def daily_limit_minor(self) -> int:
        return decimal_to_minor(self.daily_limit)

    @property
    def new_account_large_minor(self) -> int:
        return decimal_to_minor(self.new_account_large_amount)

    @property
    def structuring_lower_minor(self) -> int:
        """The lowest amount (inclusive) that counts as "just under" the SUSPICIOUS threshold."""
        return -((-self.amount_suspicious_minor * self.structuring_lower_pct) // 100)

    def enabled(self, code: str) -> bool:
        return code not in self.disabled_rules
