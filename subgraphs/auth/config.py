"""The auth subgraph's own settings (token lifetime, argon2 cost, throttles, the seeded admin), from the env.

Only auth reads these, so they live here rather than in `shared/settings.py`; what every process
must agree on (the JWT issuer and audience, keys, ports, Redis) stays there. Every field is read
from the plain env var named in its alias; the root README's configuration table lists them with
their defaults.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _env(name: str, field: str) -> AliasChoices:
    return AliasChoices(name, field)


class AuthConfig(BaseSettings):
    """Knobs of token issuing, password hashing, the login/registration throttles and the admin seed."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    # The lifetime of the access tokens loginUser issues (its `expires_in`).
    access_token_ttl_s: int = Field(3600, validation_alias=_env("ACCESS_TOKEN_TTL_S", "access_token_ttl_s"))

    # argon2id cost: the OWASP minimum by default (tests lower it); raising it rehashes at the next login.
    argon2_time_cost: int = Field(2, validation_alias=_env("ARGON2_TIME_COST", "argon2_time_cost"))
    argon2_memory_kib: int = Field(19_456, validation_alias=_env("ARGON2_MEMORY_KIB", "argon2_memory_kib"))
    argon2_parallelism: int = Field(1, validation_alias=_env("ARGON2_PARALLELISM", "argon2_parallelism"))

    # Failed logins allowed per account and per client in the window, then RATE_LIMITED.
    login_max_failures: int = Field(5, validation_alias=_env("LOGIN_MAX_FAILURES", "login_max_failures"))
    login_client_max_failures: int = Field(
        20, validation_alias=_env("LOGIN_CLIENT_MAX_FAILURES", "login_client_max_failures")
    )
    login_window_s: int = Field(300, validation_alias=_env("LOGIN_WINDOW_S", "login_window_s"))

    # Registrations per client in the window (each costs a full argon2 hash).
    register_client_max: int = Field(20, validation_alias=_env("REGISTER_CLIENT_MAX", "register_client_max"))
    register_window_s: int = Field(3600, validation_alias=_env("REGISTER_WINDOW_S", "register_window_s"))

    # The admin account seeded at start (kept as is if it exists).
    admin_email: str = Field("admin@sawit.local", validation_alias=_env("ADMIN_EMAIL", "admin_email"))
    admin_password: str = Field("admin12345", validation_alias=_env("ADMIN_PASSWORD", "admin_password"))
    admin_username: str = Field("admin", validation_alias=_env("ADMIN_USERNAME", "admin_username"))
    admin_fullname: str = Field("Administrator", validation_alias=_env("ADMIN_FULLNAME", "admin_fullname"))


@lru_cache(maxsize=1)
def get_auth_config() -> AuthConfig:
    """The auth subgraph's settings, read once."""
    return AuthConfig()
