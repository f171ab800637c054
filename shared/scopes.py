"""The service-token scopes: one name for each, shared by the caller that asks for it and the
subgraph that requires it (a typo on either side is an import error, not a silent FORBIDDEN)."""

from __future__ import annotations

from enum import StrEnum


class Scope(StrEnum):
    WALLET_CREDIT = "wallet:credit"
    WALLET_DEBIT = "wallet:debit"
    WALLET_TRANSFER = "wallet:transfer"
    WALLET_REVERSE = "wallet:reverse"
    WALLET_READ = "wallet:read"
    FRAUD_CHECK = "fraud:check"
    HISTORY_WRITE = "history:write"
    AUTH_LOOKUP = "auth:lookup"
