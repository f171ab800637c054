"""One settings object for every process, read once from the environment with safe dev defaults.

Every subgraph reads the same object and picks its part, so a variable means the same thing in
every process and the README can document them in one table.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

SUBGRAPHS: tuple[str, ...] = ("auth", "wallet", "transactions", "fraud", "history")

DEFAULT_PORTS: dict[str, int] = {
    "router": 8000,
    "auth": 8001,
    "wallet": 8002,
    "transactions": 8003,
    "fraud": 8004,
    "history": 8005,
}

DEFAULT_DB_FILES: dict[str, str] = {
    "auth": "users.db",
    "wallet": "wallets.db",
    "transactions": "transactions.db",
    "fraud": "fraud.db",
    "history": "history.db",
}


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class SubgraphConfig(BaseSettings):
    """The base of one subgraph's own knobs (its `config.py`), the part no other process reads.

    A field is read from the env var of its own name in capitals (or `.env`), so the name is
    written once; tests pass overrides by the field's name. A field read from a var of another name
    says so with `Field(validation_alias=AliasChoices("VAR", "field"))`."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)


class Settings(BaseSettings):
    """Configuration shared by every process; see the README's configuration table."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    host: str = Field("127.0.0.1", validation_alias=_env("SAWIT_HOST"))
    data_dir: Path = Field(Path("data"), validation_alias=_env("DATA_DIR"))
    keys_dir: Path = Field(Path("keys"), validation_alias=_env("KEYS_DIR"))
    log_level: str = Field("INFO", validation_alias=_env("LOG_LEVEL"))

    router_port: int = Field(8000, validation_alias=_env("ROUTER_PORT"))
    auth_port: int = Field(8001, validation_alias=_env("AUTH_PORT"))
    wallet_port: int = Field(8002, validation_alias=_env("WALLET_PORT"))
    transactions_port: int = Field(8003, validation_alias=_env("TRANSACTIONS_PORT"))
    fraud_port: int = Field(8004, validation_alias=_env("FRAUD_PORT"))
    history_port: int = Field(8005, validation_alias=_env("HISTORY_PORT"))

    auth_url: str | None = Field(None, validation_alias=_env("AUTH_URL"))
    wallet_url: str | None = Field(None, validation_alias=_env("WALLET_URL"))
    transactions_url: str | None = Field(None, validation_alias=_env("TRANSACTIONS_URL"))
    fraud_url: str | None = Field(None, validation_alias=_env("FRAUD_URL"))
    history_url: str | None = Field(None, validation_alias=_env("HISTORY_URL"))

    # One DATABASE_URL serves a process that runs one subgraph (containers); the per-subgraph
    # names win when several subgraphs share one environment (the dev runner, tests).
    database_url: str | None = Field(None, validation_alias=_env("DATABASE_URL"))
    auth_database_url: str | None = Field(None, validation_alias=_env("AUTH_DATABASE_URL"))
    wallet_database_url: str | None = Field(None, validation_alias=_env("WALLET_DATABASE_URL"))
    transactions_database_url: str | None = Field(None, validation_alias=_env("TRANSACTIONS_DATABASE_URL"))
    fraud_database_url: str | None = Field(None, validation_alias=_env("FRAUD_DATABASE_URL"))
    history_database_url: str | None = Field(None, validation_alias=_env("HISTORY_DATABASE_URL"))
    db_pool_size: int = Field(10, validation_alias=_env("DB_POOL_SIZE"))
    sqlite_busy_timeout_ms: int = Field(30_000, validation_alias=_env("SQLITE_BUSY_TIMEOUT_MS"))

    jwt_issuer: str = Field("dompet-sawit-auth", validation_alias=_env("JWT_ISSUER"))
    jwt_audience: str = Field("dompet-sawit", validation_alias=_env("JWT_AUDIENCE"))
    jwt_leeway_s: int = Field(30, validation_alias=_env("JWT_LEEWAY_S"))
    jwks_url: str | None = Field(None, validation_alias=_env("JWKS_URL"))
    service_issuer: str = Field("dompet-sawit-services", validation_alias=_env("SERVICE_ISSUER"))
    service_audience: str = Field("dompet-sawit-internal", validation_alias=_env("SERVICE_AUDIENCE"))
    service_token_ttl_s: int = Field(120, validation_alias=_env("SERVICE_TOKEN_TTL_S"))

    trusted_proxies: str = Field("127.0.0.1,::1", validation_alias=_env("TRUSTED_PROXIES"))
    # Throttles shared by every replica through Redis when set (shared.throttle); else per process.
    redis_url: str | None = Field(None, validation_alias=_env("REDIS_URL"))
    rate_limit_redis_prefix: str = Field("sawit:throttle:", validation_alias=_env("RATE_LIMIT_REDIS_PREFIX"))
    rate_limit_redis_failure: str = Field("memory", validation_alias=_env("RATE_LIMIT_REDIS_FAILURE"))

    # What a subgraph accepts from any caller (the router's own limits are ROUTER_MAX_*; a
    # subgraph's allow a little more, for the fetches the router builds).
    subgraph_max_depth: int = Field(20, validation_alias=_env("SUBGRAPH_MAX_DEPTH"))
    subgraph_max_aliases: int = Field(60, validation_alias=_env("SUBGRAPH_MAX_ALIASES"))
    subgraph_max_root_fields: int = Field(30, validation_alias=_env("SUBGRAPH_MAX_ROOT_FIELDS"))
    subgraph_max_tokens: int = Field(10_000, validation_alias=_env("SUBGRAPH_MAX_TOKENS"))
    subgraph_max_body_bytes: int = Field(1_000_000, validation_alias=_env("SUBGRAPH_MAX_BODY_BYTES"))
    # `router`: _entities, _service and introspection need the router's credential (X-Router-Token,
    # or X-Router-Secret = ROUTER_SHARED_SECRET) or a service token; `off`: anyone may ask.
    subgraph_federation_auth: str = Field("router", validation_alias=_env("SUBGRAPH_FEDERATION_AUTH"))
    router_shared_secret: str | None = Field(None, validation_alias=_env("ROUTER_SHARED_SECRET"))
    router_token_ttl_s: int = Field(120, validation_alias=_env("ROUTER_TOKEN_TTL_S"))

    money_max_minor: int = Field(100_000_000_000, validation_alias=_env("MONEY_MAX_MINOR"))
    subgraph_timeout_s: float = Field(10.0, validation_alias=_env("SUBGRAPH_TIMEOUT_S"))

    def port_of(self, name: str) -> int:
        """The port a process listens on, by its name (README: "Processes and ports")."""
        return int(getattr(self, f"{name}_port"))

    def url_of(self, name: str) -> str:
        """The GraphQL URL of a subgraph: explicit `<NAME>_URL` or loopback on its port."""
        explicit = getattr(self, f"{name}_url", None)
        return explicit or f"http://127.0.0.1:{self.port_of(name)}/graphql"

    def database_url_of(self, name: str) -> str:
        """The database of a subgraph: `<NAME>_DATABASE_URL`, `DATABASE_URL`, or SQLite in data/."""
        explicit = getattr(self, f"{name}_database_url", None) or self.database_url
        if explicit:
            return explicit
        path = (self.data_dir / DEFAULT_DB_FILES[name]).resolve()
        return f"sqlite+aiosqlite:///{path}"

    @property
    def private_key_path(self) -> Path:
        return self.keys_dir / "private.pem"

    @property
    def public_key_path(self) -> Path:
        return self.keys_dir / "public.pem"

    @property
    def service_private_key_path(self) -> Path:
        return self.keys_dir / "service_private.pem"

    @property
    def router_private_key_path(self) -> Path:
        return self.keys_dir / "router_private.pem"

    @property
    def router_public_key_path(self) -> Path:
        return self.keys_dir / "router_public.pem"

    @property
    def service_public_key_path(self) -> Path:
        return self.keys_dir / "service_public.pem"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
