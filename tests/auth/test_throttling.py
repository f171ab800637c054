"""Failed logins are throttled per account and per client; other accounts and clients carry on."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.auth.conftest import REGISTER, code_of, login, register
from tests.support.tokens import as_router


def from_ip(ip: str) -> dict[str, str]:
    """What the router sends: its credential, and the client it decided on."""
    return as_router({"x-forwarded-for": ip})


async def test_repeated_failures_lock_the_account_even_for_the_right_password(
    fresh_api: Any,
) -> None:
    async with fresh_api(login_max_failures=3, login_client_max_failures=1000) as api:
        await register(api, "victim")
        await register(api, "bystander")
        for attempt in range(3):
            body = await login(api, "victim@example.com", "wrong-pass", from_ip(f"10.0.0.{attempt}"))
            assert code_of(body) == "UNAUTHENTICATED"
        locked = await login(api, "victim@example.com", "password123", from_ip("10.0.1.1"))
        assert code_of(locked) == "RATE_LIMITED"
        assert locked["data"] is None
        assert "access_token" not in str(locked)
        other = await login(api, "bystander@example.com", "password123", from_ip("10.0.0.1"))
        assert code_of(other) is None


async def test_unknown_accounts_are_throttled_the_same_way(fresh_api: Any) -> None:
    async with fresh_api(login_max_failures=2, login_client_max_failures=1000) as api:
        for _ in range(2):
            assert code_of(await login(api, "ghost@example.com", "password123")) == "UNAUTHENTICATED"
        assert code_of(await login(api, "GHOST@example.com", "password123")) == "RATE_LIMITED"


async def test_a_successful_login_clears_the_account_failures(fresh_api: Any) -> None:
    async with fresh_api(login_max_failures=3, login_client_max_failures=1000) as api:
        await register(api, "forgetful")
        for _ in range(2):
            await login(api, "forgetful@example.com", "wrong-pass")
        assert code_of(await login(api, "forgetful@example.com", "password123")) is None
        for _ in range(2):
            await login(api, "forgetful@example.com", "wrong-pass")
        assert code_of(await login(api, "forgetful@example.com", "password123")) is None


async def test_parallel_guesses_cannot_exceed_the_account_limit(fresh_api: Any) -> None:
    async with fresh_api(login_max_failures=3, login_client_max_failures=1000) as api:
        await register(api, "parallel")
        bodies = await asyncio.gather(
            *(login(api, "parallel@example.com", f"guess-{i}-xx") for i in range(8))
        )
        codes = sorted(str(code_of(body)) for body in bodies)
        assert codes == ["RATE_LIMITED"] * 5 + ["UNAUTHENTICATED"] * 3


async def test_one_client_failing_on_many_accounts_is_throttled_but_other_clients_are_not(
    fresh_api: Any,
) -> None:
    async with fresh_api(login_max_failures=100, login_client_max_failures=3) as api:
        await register(api, "client_a")
        for i in range(3):
            body = await login(api, f"sprayed{i}@example.com", "password123", from_ip("203.0.113.7"))
            assert code_of(body) == "UNAUTHENTICATED"
        blocked = await login(api, "client_a@example.com", "password123", from_ip("203.0.113.7"))
        assert code_of(blocked) == "RATE_LIMITED"
        allowed = await login(api, "client_a@example.com", "password123", from_ip("203.0.113.8"))
        assert code_of(allowed) is None


async def test_without_x_forwarded_for_the_peer_address_is_the_client(fresh_api: Any) -> None:
    async with fresh_api(login_max_failures=100, login_client_max_failures=2) as api:
        await register(api, "peer_user")
        for i in range(2):
            await login(api, f"peer_spray{i}@example.com", "password123")
        assert code_of(await login(api, "peer_user@example.com", "password123")) == "RATE_LIMITED"
        # The client named by the (credentialed) router is distinct.
        forwarded = await login(api, "peer_user@example.com", "password123", from_ip("198.51.100.1"))
        assert code_of(forwarded) is None


async def test_a_rate_limited_attempt_does_not_extend_or_reveal_anything(fresh_api: Any) -> None:
    async with fresh_api(login_max_failures=1, login_client_max_failures=1000) as api:
        await register(api, "quiet")
        await login(api, "quiet@example.com", "wrong-pass")
        known = await login(api, "quiet@example.com", "password123")
        await login(api, "unknown_quiet@example.com", "wrong-pass")
        unknown = await login(api, "unknown_quiet@example.com", "password123")
        assert known["errors"][0]["extensions"] == unknown["errors"][0]["extensions"]
        assert known["errors"][0]["message"] == unknown["errors"][0]["message"]
        assert code_of(known) == "RATE_LIMITED"


async def test_a_client_cannot_dodge_the_limit_by_forging_the_first_forwarded_hop(fresh_api: Any) -> None:
    async with fresh_api(login_max_failures=100, login_client_max_failures=2) as api:
        await register(api, "forger")
        for i in range(2):
            forged = as_router({"x-forwarded-for": f"10.0.0.{i}, 198.51.100.7"})
            await login(api, f"forger_spray{i}@example.com", "password123", forged)
        again = as_router({"x-forwarded-for": "10.0.0.99, 198.51.100.7"})
        assert code_of(await login(api, "forger@example.com", "password123", again)) == "RATE_LIMITED"


async def test_a_caller_on_a_trusted_address_without_the_routers_credential_cannot_pick_its_address(
    fresh_api: Any,
) -> None:
    """Every local process is 127.0.0.1, a trusted proxy: the address alone must not make its
    X-Forwarded-For believed, or each spoofed header would be a fresh client."""
    async with fresh_api(login_max_failures=100, login_client_max_failures=3) as api:
        await register(api, "spoof_target")
        for i in range(3):
            spoofed = {"x-forwarded-for": f"198.51.100.{i}"}
            body = await login(api, f"spoof{i}@example.com", "password123", spoofed)
            assert code_of(body) == "UNAUTHENTICATED"
        last = await login(
            api, "spoof_target@example.com", "password123", {"x-forwarded-for": "198.51.100.99"}
        )
        assert code_of(last) == "RATE_LIMITED"
        forged_secret = {"x-forwarded-for": "198.51.100.98", "X-Router-Token": "not-a-token"}
        assert code_of(await login(api, "spoof_target@example.com", "password123", forged_secret)) == (
            "RATE_LIMITED"
        )


THIRD = {"username": "third_reg", "fullname": "T", "email": "third@example.com", "password": "password123"}


async def test_registrations_are_throttled_per_client(fresh_api: Any) -> None:
    async with fresh_api(register_client_max=2) as api:
        await register(api, "first_reg")
        await register(api, "second_reg")
        third = await api.gql(REGISTER, THIRD)
        assert code_of(third) == "RATE_LIMITED"
        before = await api.count_users()
        assert code_of(await api.gql(REGISTER, {**THIRD, "username": "fourth_reg"})) == "RATE_LIMITED"
        assert await api.count_users() == before
