"""The wallet's policy limits (Bank Indonesia rules for registered e-money accounts), from the env.

One unit rule, as everywhere in this code: a name ending in `_minor` holds minor units (sen, an
integer); every other amount is rupiah. So `WALLET_MAX_BALANCE=20000000` (or `20000000.00`) is
Rp 20 million, `WALLET_MAX_BALANCE_MINOR=2000000000` is the same in sen, and in Python
`WalletSettings(max_balance_minor=...)` takes sen.

Only the wallet reads these, so they live here rather than in `shared/settings.py`. The env vars
carry the `WALLET_` prefix the field names leave out, so each field names its var
(`shared.settings.SubgraphConfig`); the root README's configuration table lists them.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from functools import lru_cache

from pydantic import AliasChoices, Field, field_validator, model_validator

from shared.money import decimal_to_minor
from shared.settings import SubgraphConfig


def _rupiah_to_minor(value: object) -> int:
    try:
        minor = int(decimal_to_minor(Decimal(str(value).strip())))
    except (InvalidOperation, ValueError) as exc:
        raise ValueError(f"not an amount of rupiah: {value!r}") from exc
    if minor <= 0:
        raise ValueError("a wallet limit must be greater than zero")
    return minor


class WalletSettings(SubgraphConfig):
    """`WALLET_MAX_BALANCE`: the most a wallet may hold; `WALLET_MONTHLY_INCOMING_LIMIT`: the most it
    may receive (top-ups and incoming transfers) per calendar month, UTC. Rupiah; the `_MINOR`
    forms take sen."""

    max_balance_minor: int = Field(
        2_000_000_000, validation_alias=AliasChoices("WALLET_MAX_BALANCE_MINOR", "max_balance_minor"), gt=0
    )
    monthly_incoming_limit_minor: int = Field(
        4_000_000_000,
        validation_alias=AliasChoices("WALLET_MONTHLY_INCOMING_LIMIT_MINOR", "monthly_incoming_limit_minor"),
        gt=0,
    )
    # The rupiah forms: when set, they decide the limits above.
    max_balance: Decimal | None = Field(
        None, validation_alias=AliasChoices("WALLET_MAX_BALANCE", "max_balance")
    )
    monthly_incoming_limit: Decimal | None = Field(
        None, validation_alias=AliasChoices("WALLET_MONTHLY_INCOMING_LIMIT", "monthly_incoming_limit")
    )

    # Redis channels of the wallet events (`<prefix><owner user id>`, shared.events); REDIS_URL picks Redis.
    events_redis_prefix: str = Field(
        "sawit:wallet-events:",
        validation_alias=AliasChoices("WALLET_EVENTS_REDIS_PREFIX", "events_redis_prefix"),
    )

    @field_validator("max_balance_minor", "monthly_incoming_limit_minor", mode="before")
    @classmethod
    def _whole_sen(cls, value: object) -> object:
        """A float (or bool) would be rounded into sen silently: `1.5` here is almost surely rupiah."""
        if isinstance(value, bool) or isinstance(value, float):
            raise ValueError("an amount in sen is a whole number")
        return value

    @model_validator(mode="after")
    def _rupiah_forms_decide(self) -> WalletSettings:
        """Operators write the limits in rupiah, as Bank Indonesia states them; set, they win over sen."""
        if self.max_balance is not None:
            self.max_balance_minor = _rupiah_to_minor(self.max_balance)
        if self.monthly_incoming_limit is not None:
            self.monthly_incoming_limit_minor = _rupiah_to_minor(self.monthly_incoming_limit)
        return self


@lru_cache(maxsize=1)
def get_wallet_settings() -> WalletSettings:
    """The wallet's limits, read once."""
    return WalletSettings()
