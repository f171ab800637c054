"""The wallet's policy limits (Bank Indonesia rules for registered e-money accounts), from the env.

Amounts are written in rupiah (e.g. `20000000` or `20000000.00`) and held as minor units (sen).
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.money import decimal_to_minor


class WalletSettings(BaseSettings):
    """`WALLET_MAX_BALANCE`: the most a wallet may hold; `WALLET_MONTHLY_INCOMING_LIMIT`: the most it
    may receive (top-ups and incoming transfers) per calendar month, UTC."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    max_balance_minor: int = Field(
        2_000_000_000, validation_alias=AliasChoices("WALLET_MAX_BALANCE", "max_balance_minor")
    )
    monthly_incoming_limit_minor: int = Field(
        4_000_000_000,
        validation_alias=AliasChoices("WALLET_MONTHLY_INCOMING_LIMIT", "monthly_incoming_limit_minor"),
    )

    # Redis channels of the wallet events (`<prefix><owner user id>`, shared.events); REDIS_URL picks Redis.
    events_redis_prefix: str = Field(
        "sawit:wallet-events:",
        validation_alias=AliasChoices("WALLET_EVENTS_REDIS_PREFIX", "events_redis_prefix"),
    )

    @field_validator("max_balance_minor", "monthly_incoming_limit_minor", mode="before")
    @classmethod
    def _rupiah_to_minor(cls, value: object) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        minor = int(decimal_to_minor(Decimal(str(value).strip())))
        if minor <= 0:
            raise ValueError("a wallet limit must be greater than zero")
        return minor


@lru_cache(maxsize=1)
def get_wallet_settings() -> WalletSettings:
    """The wallet's limits, read once."""
    return WalletSettings()
