"""The auth subgraph's own settings (token lifetime, argon2 cost, throttles, the seeded admin), from the env.

Only auth reads these, so they live here rather than in `shared/settings.py`; what every process
must agree on (the JWT issuer and audience, keys, ports, Redis) stays there. Every field is read
from the env var of its name in capitals (`shared.settings.SubgraphConfig`); the root README's
configuration table lists them with their defaults.
"""

from __future__ import annotations

from functools import lru_cache

from shared.settings import SubgraphConfig


class AuthConfig(SubgraphConfig):
    """Knobs of token issuing, password hashing, the login/registration throttles and the admin seed."""

    # The lifetime of the access tokens loginUser issues (its `expires_in`).
    access_token_ttl_s: int = 3600

    # argon2id cost: the OWASP minimum by default (tests lower it); raising it rehashes at the next login.
    argon2_time_cost: int = 2
    argon2_memory_kib: int = 19_456
    argon2_parallelism: int = 1

    # Failed logins allowed per account and per client in the window, then RATE_LIMITED.
    login_max_failures: int = 5
    login_client_max_failures: int = 20
    login_window_s: int = 300

    # Registrations per client in the window (each costs a full argon2 hash).
    register_client_max: int = 20
    register_window_s: int = 3600

    # The admin account seeded at start (kept as is if it exists).
    admin_email: str = "admin@sawit.local"
    admin_password: str = "admin12345"
    admin_username: str = "admin"
    admin_fullname: str = "Administrator"


@lru_cache(maxsize=1)
def get_auth_config() -> AuthConfig:
    """The auth subgraph's settings, read once."""
    return AuthConfig()
