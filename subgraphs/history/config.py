"""The history subgraph's own settings (plain env var names, documented in the README table)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_TYPES = "DEPOSIT,PAYMENT,TRANSFER,WITHDRAWAL,REFUND,REVERSAL,ADJUSTMENT"
DEFAULT_STATUSES = "PENDING,PROCESSING,SUCCESS,FAILED,REJECTED,REVERSED,CANCELLED,EXPIRED"


def _split(text: str) -> frozenset[str]:
    return frozenset(part.strip().upper() for part in text.split(",") if part.strip())


class HistoryConfig(BaseSettings):
    """Which transaction types/statuses an entry may record, and how verification pages the chain."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    types_csv: str = Field(DEFAULT_TYPES, validation_alias=AliasChoices("HISTORY_TYPES"))
    statuses_csv: str = Field(DEFAULT_STATUSES, validation_alias=AliasChoices("HISTORY_STATUSES"))
    verify_batch_size: int = Field(
        1000, ge=1, le=100_000, validation_alias=AliasChoices("HISTORY_VERIFY_BATCH_SIZE")
    )

    @property
    def types(self) -> frozenset[str]:
        return _split(self.types_csv)

    @property
    def statuses(self) -> frozenset[str]:
        return _split(self.statuses_csv)


@lru_cache(maxsize=1)
def get_history_config() -> HistoryConfig:
    return HistoryConfig()
