"""lookupUser: services find a user by username or id; no one else can, and it reveals no email."""

from __future__ import annotations

import pytest

from tests.auth.conftest import Api, code_of, register
from tests.support.tokens import bearer, service_token, user_token

LOOKUP = "query L($n: String, $i: ID) { lookupUser(username: $n, id: $i) { id username fullname } }"
SERVICE = bearer(service_token("auth:lookup"))


async def test_a_service_finds_a_user_by_username_ignoring_case_and_by_id(api: Api) -> None:
    user_id = await register(api, "Lookup_Me")
    expected = {"id": user_id, "username": "Lookup_Me", "fullname": "Lookup_Me Full"}
    by_name = await api.gql(LOOKUP, {"n": " lookup_me "}, headers=SERVICE)
    assert by_name == {"data": {"lookupUser": expected}}
    by_id = await api.gql(LOOKUP, {"i": user_id}, headers=SERVICE)
    assert by_id == {"data": {"lookupUser": expected}}


@pytest.mark.parametrize(
    "variables", [{"n": "nobody_here"}, {"i": "no-such-id"}, {"n": "x" * 65}, {"n": "a\x00b"}]
)
async def test_an_unknown_or_impossible_user_is_null(api: Api, variables: dict[str, str]) -> None:
    assert await api.gql(LOOKUP, variables, headers=SERVICE) == {"data": {"lookupUser": None}}


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        (None, "UNAUTHENTICATED"),
        (bearer(user_token("u-1")), "FORBIDDEN"),
        (bearer(service_token("wallet:read")), "FORBIDDEN"),
    ],
)
async def test_only_a_service_with_the_lookup_scope_may_look_users_up(
    api: Api, headers: dict[str, str] | None, code: str
) -> None:
    name = f"hidden_{code.lower()}_{len(str(headers))}"
    await register(api, name)
    body = await api.gql(LOOKUP, {"n": name}, headers=headers)
    assert code_of(body) == code and (body.get("data") or {}).get("lookupUser") is None


@pytest.mark.parametrize("variables", [{}, {"n": "a_user", "i": "some-id"}])
async def test_exactly_one_of_username_and_id_is_required(api: Api, variables: dict[str, str]) -> None:
    assert code_of(await api.gql(LOOKUP, variables, headers=SERVICE)) == "BAD_USER_INPUT"


def test_the_lookup_is_inaccessible_in_the_supergraph() -> None:
    from subgraphs.auth.schema import schema

    sdl = schema.as_str()
    assert "lookupUser(username: String = null, id: ID = null): UserLookup @inaccessible" in sdl
    assert "email" not in sdl[sdl.index("type UserLookup") :].split("}")[0]
