"""The transactions subgraph's own settings (marketplace, invoices, outbox, recovery), from the env.

Only transactions reads these, so they live here rather than in `shared/settings.py`. Every field
is read from the env var of its name in capitals (`shared.settings.SubgraphConfig`), except
`crash_after_debit`, whose var says which process it stops (`TRANSACTIONS_CRASH_AFTER_DEBIT`); the
README's configuration table lists them with their defaults.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import AliasChoices, Field, field_validator

from shared.settings import SubgraphConfig


class TransactionsConfig(SubgraphConfig):
    """Knobs of the payment saga, the invoice endpoint, the outbox worker and the recovery worker."""

    # The external marketplace (marketplace.md). Unset: no VA check there and no notice sent.
    marketplace_url: str | None = None
    marketplace_timeout_s: float = 5.0

    # At most this many calls in flight to each of wallet, fraud and history (the rest queue here).
    downstream_max_in_flight: int = 8

    # Invoices (virtual accounts) issued by generateInvoiceVA.
    invoice_ttl_s: int = 86_400
    invoice_rate_limit: int = 120
    invoice_rate_window_s: float = 60.0
    merchant_api_key: str | None = None
    # The merchant the invoices are issued for (the wallet's settlement account of that merchant is
    # credited when one is paid): the seed's marketplace.
    merchant_id: str = "marketplace"

    # Finding people to pay by username (`recipient`, `toUsername`): lookups per user and per client.
    recipient_lookup_limit: int = 30
    recipient_lookup_window_s: float = 60.0

    # Transactional outbox delivery (history records, marketplace notices): retried with capped
    # exponential backoff and jitter until acknowledged, DEAD only once the horizon has passed
    # (3 days by default, like card networks' and webhook providers' retry windows).
    outbox_retry_horizon_s: float = 259_200.0
    outbox_backoff_s: float = 0.5
    outbox_backoff_max_s: float = 900.0
    # A message still undelivered this long after it was written is overdue (metric, admin list).
    outbox_overdue_s: float = 300.0
    outbox_poll_s: float = 0.5
    outbox_batch_size: int = 50
    outbox_lease_s: float = 30.0

    # Recovery of sagas left PENDING by a crash or an unreachable wallet.
    recovery_grace_s: float = 5.0
    recovery_interval_s: float = 10.0
    recovery_batch_size: int = 100

    # Fault-injection hook for tests only: exit the process right after the wallet moved the money,
    # before SUCCESS is recorded (proves crash recovery). Never set it in a real deployment.
    crash_after_debit: bool = Field(
        False, validation_alias=AliasChoices("TRANSACTIONS_CRASH_AFTER_DEBIT", "crash_after_debit")
    )

    @field_validator("marketplace_url", "merchant_api_key", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        """A var set to "" (or spaces), as compose files and .env templates leave it, means unset."""
        if isinstance(value, str) and not value.strip():
            return None
        return value


@lru_cache(maxsize=1)
def get_transactions_config() -> TransactionsConfig:
    """The transactions subgraph's settings, read once."""
    return TransactionsConfig()
