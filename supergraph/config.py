"""Router settings, read once from environment variables (prefix-free names, safe dev defaults)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class RouterSettings(BaseSettings):
    """Every knob of the router; see supergraph/README.md for the table."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", populate_by_name=True)

    router_host: str = Field("127.0.0.1", alias="ROUTER_HOST")
    router_port: int = Field(8000, alias="ROUTER_PORT")
    supergraph_config: str = Field("supergraph.yaml", alias="SUPERGRAPH_CONFIG")
    supergraph_sdl_file: str | None = Field(None, alias="SUPERGRAPH_SDL_FILE")
    router_poll_interval_s: float = Field(10.0, alias="ROUTER_POLL_INTERVAL_S")
    router_subgraph_timeout_s: float = Field(30.0, alias="ROUTER_SUBGRAPH_TIMEOUT_S")
    router_debug: bool = Field(False, alias="ROUTER_DEBUG")
    router_cors_origins: str = Field("", alias="ROUTER_CORS_ORIGINS")
    router_max_depth: int = Field(15, alias="ROUTER_MAX_DEPTH")
    router_max_aliases: int = Field(30, alias="ROUTER_MAX_ALIASES")
    router_max_root_fields: int = Field(20, alias="ROUTER_MAX_ROOT_FIELDS")
    router_max_tokens: int = Field(5000, alias="ROUTER_MAX_TOKENS")
    router_max_body_bytes: int = Field(1_000_000, alias="ROUTER_MAX_BODY_BYTES")
    router_plan_cache_size: int = Field(1000, alias="ROUTER_PLAN_CACHE_SIZE")
    router_static_dir: str | None = Field(None, alias="ROUTER_STATIC_DIR")
    router_deduplicate_queries: bool = Field(True, alias="ROUTER_DEDUPLICATE_QUERIES")
    router_forward_headers: str = Field("authorization", alias="ROUTER_FORWARD_HEADERS")
    # Proxies in front of the router (a load balancer) whose X-Forwarded-For entries are believed;
    # none by default: the router is the edge (shared.clientip).
    router_trusted_proxies: str = Field("", alias="ROUTER_TRUSTED_PROXIES")
    # Subscriptions (supergraph/subscriptions.py; graphql-transport-ws and SSE at /graphql).
    router_subscriptions_max_per_client: int = Field(20, alias="ROUTER_SUBSCRIPTIONS_MAX_PER_CLIENT")
    router_subscriptions_max_per_connection: int = Field(20, alias="ROUTER_SUBSCRIPTIONS_MAX_PER_CONNECTION")
    router_subscriptions_events_per_s: float = Field(50.0, alias="ROUTER_SUBSCRIPTIONS_EVENTS_PER_S")
    router_subscriptions_idle_timeout_s: float = Field(300.0, alias="ROUTER_SUBSCRIPTIONS_IDLE_TIMEOUT_S")
    router_subscriptions_init_timeout_s: float = Field(10.0, alias="ROUTER_SUBSCRIPTIONS_INIT_TIMEOUT_S")
    router_subscriptions_keepalive_s: float = Field(15.0, alias="ROUTER_SUBSCRIPTIONS_KEEPALIVE_S")
    log_level: str = Field("INFO", alias="LOG_LEVEL")
    router_csrf_prevention: bool = Field(True, alias="ROUTER_CSRF_PREVENTION")
    router_csrf_required_headers: str = Field(
        "x-apollo-operation-name,apollo-require-preflight", alias="ROUTER_CSRF_REQUIRED_HEADERS"
    )

    @property
    def forward_headers(self) -> frozenset[str]:
        """Client headers passed on to every subgraph (lower-case); X-Request-ID always is."""
        return frozenset(h.lower() for h in _comma_list(self.router_forward_headers))

    @property
    def csrf_required_headers(self) -> frozenset[str]:
        """Headers whose presence proves a browser would have preflighted the request."""
        return frozenset(h.lower() for h in _comma_list(self.router_csrf_required_headers))

    @property
    def cors_origins(self) -> list[str]:
        """Origins allowed to call the router from a browser (none: no CORS headers)."""
        return _comma_list(self.router_cors_origins)


def _comma_list(text: str) -> list[str]:
    """The non-empty items of a comma-separated setting, without surrounding spaces."""
    return [item.strip() for item in text.split(",") if item.strip()]
