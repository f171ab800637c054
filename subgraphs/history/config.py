"""The history subgraph's own settings (plain env var names, documented in the README table).

Only history reads these, so they live here rather than in `shared/settings.py`. The lists are
read as comma-separated text (`HISTORY_TYPES`, `HISTORY_STATUSES`) and split when asked for, and
the env vars carry the `HISTORY_` prefix the field names leave out, so each field names its var
(`shared.settings.SubgraphConfig`).
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import AliasChoices, Field

from shared.settings import SubgraphConfig

DEFAULT_TYPES = "DEPOSIT,PAYMENT,TRANSFER,WITHDRAWAL,REFUND,REVERSAL,ADJUSTMENT"
DEFAULT_STATUSES = "PENDING,PROCESSING,SUCCESS,FAILED,REJECTED,REVERSED,CANCELLED,EXPIRED"


def _split(text: str) -> frozenset[str]:
    return frozenset(part.strip().upper() for part in text.split(",") if part.strip())


class HistoryConfig(SubgraphConfig):
    """Which transaction types/statuses an entry may record, and how verification pages the chain."""

    types_csv: str = Field(DEFAULT_TYPES, validation_alias=AliasChoices("HISTORY_TYPES", "types_csv"))
    statuses_csv: str = Field(
        DEFAULT_STATUSES, validation_alias=AliasChoices("HISTORY_STATUSES", "statuses_csv")
    )
    verify_batch_size: int = Field(
        1000,
        ge=1,
        le=100_000,
        validation_alias=AliasChoices("HISTORY_VERIFY_BATCH_SIZE", "verify_batch_size"),
    )

    @property
    def types(self) -> frozenset[str]:
        return _split(self.types_csv)

    @property
    def statuses(self) -> frozenset[str]:
        return _split(self.statuses_csv)


@lru_cache(maxsize=1)
def get_history_config() -> HistoryConfig:
    """The history subgraph's settings, read once."""
    return HistoryConfig()
