"""The transactions subgraph's own settings (marketplace, invoices, outbox, recovery), from the env.

Every field is read from the plain env var named in its alias; the README's configuration table
lists them with their defaults.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _env(name: str, field: str) -> AliasChoices:
    return AliasChoices(name, field)


class TransactionsConfig(BaseSettings):
    """Knobs of the payment saga, the invoice endpoint, the outbox worker and the recovery worker."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    # The external marketplace (marketplace.md). Unset: no VA check there and no notice sent.
    marketplace_url: str | None = Field(None, validation_alias=_env("MARKETPLACE_URL", "marketplace_url"))
    marketplace_timeout_s: float = Field(
        5.0, validation_alias=_env("MARKETPLACE_TIMEOUT_S", "marketplace_timeout_s")
    )

    # At most this many calls in flight to each of wallet, fraud and history (the rest queue here).
    downstream_max_in_flight: int = Field(
        8, validation_alias=_env("DOWNSTREAM_MAX_IN_FLIGHT", "downstream_max_in_flight")
    )

    # Invoices (virtual accounts) issued by generateInvoiceVA.
    invoice_ttl_s: int = Field(86_400, validation_alias=_env("INVOICE_TTL_S", "invoice_ttl_s"))
    invoice_rate_limit: int = Field(120, validation_alias=_env("INVOICE_RATE_LIMIT", "invoice_rate_limit"))
    invoice_rate_window_s: float = Field(
        60.0, validation_alias=_env("INVOICE_RATE_WINDOW_S", "invoice_rate_window_s")
    )
    merchant_api_key: str | None = Field(None, validation_alias=_env("MERCHANT_API_KEY", "merchant_api_key"))
    # The merchant the invoices are issued for (the wallet's settlement account of that merchant is
    # credited when one is paid): the seed's marketplace.
    merchant_id: str = Field("marketplace", validation_alias=_env("MERCHANT_ID", "merchant_id"))

    # Finding people to pay by username (`recipient`, `toUsername`): lookups per user and per client.
    recipient_lookup_limit: int = Field(
        30, validation_alias=_env("RECIPIENT_LOOKUP_LIMIT", "recipient_lookup_limit")
    )
    recipient_lookup_window_s: float = Field(
        60.0, validation_alias=_env("RECIPIENT_LOOKUP_WINDOW_S", "recipient_lookup_window_s")
    )

    # Transactional outbox delivery (history records, marketplace notices): retried with capped
    # exponential backoff and jitter until acknowledged, DEAD only once the horizon has passed
    # (3 days by default, like card networks' and webhook providers' retry windows).
    outbox_retry_horizon_s: float = Field(
        259_200.0, validation_alias=_env("OUTBOX_RETRY_HORIZON_S", "outbox_retry_horizon_s")
    )
    outbox_backoff_s: float = Field(0.5, validation_alias=_env("OUTBOX_BACKOFF_S", "outbox_backoff_s"))
    outbox_backoff_max_s: float = Field(
        900.0, validation_alias=_env("OUTBOX_BACKOFF_MAX_S", "outbox_backoff_max_s")
    )
    # A message still undelivered this long after it was written is overdue (metric, admin list).
    outbox_overdue_s: float = Field(300.0, validation_alias=_env("OUTBOX_OVERDUE_S", "outbox_overdue_s"))
    outbox_poll_s: float = Field(0.5, validation_alias=_env("OUTBOX_POLL_S", "outbox_poll_s"))
    outbox_batch_size: int = Field(50, validation_alias=_env("OUTBOX_BATCH_SIZE", "outbox_batch_size"))
    outbox_lease_s: float = Field(30.0, validation_alias=_env("OUTBOX_LEASE_S", "outbox_lease_s"))

    # Recovery of sagas left PENDING by a crash or an unreachable wallet.
    recovery_grace_s: float = Field(5.0, validation_alias=_env("RECOVERY_GRACE_S", "recovery_grace_s"))
    recovery_interval_s: float = Field(
        10.0, validation_alias=_env("RECOVERY_INTERVAL_S", "recovery_interval_s")
    )
    recovery_batch_size: int = Field(100, validation_alias=_env("RECOVERY_BATCH_SIZE", "recovery_batch_size"))

    # Fault-injection hook for tests only: exit the process right after the wallet moved the money,
    # before SUCCESS is recorded (proves crash recovery). Never set it in a real deployment.
    crash_after_debit: bool = Field(
        False, validation_alias=_env("TRANSACTIONS_CRASH_AFTER_DEBIT", "crash_after_debit")
    )

    @field_validator("marketplace_url", "merchant_api_key", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value


@lru_cache(maxsize=1)
def get_transactions_config() -> TransactionsConfig:
    """The transactions subgraph's settings, read once."""
    return TransactionsConfig()
