"""me, myProfile and the federated `User` entity: who may see what."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import pytest

from tests.auth.conftest import ME, Api, code_of, login, register
from tests.shared import forgery
from tests.support.tokens import as_router, bearer, service_token, user_token

PROFILE = "query P($t: String) { myProfile(token: $t) { id username fullname email role } }"
ENTITIES = """
query E($reps: [_Any!]!) {
  _entities(representations: $reps) { ... on User { id username fullname email role createdAt } }
}
"""


async def signed_in(api: Api, name: str) -> tuple[str, str]:
    user_id = await register(api, name)
    body = await login(api, f"{name}@example.com", "password123")
    return user_id, body["data"]["loginUser"]["access_token"]


async def test_me_returns_the_callers_full_profile(api: Api) -> None:
    user_id, token = await signed_in(api, "me_user")
    body = await api.gql(ME, headers=bearer(token))
    me = body["data"]["me"]
    assert me["id"] == user_id
    assert (me["username"], me["fullname"], me["email"], me["role"]) == (
        "me_user",
        "me_user Full",
        "me_user@example.com",
        "USER",
    )
    assert datetime.fromisoformat(me["createdAt"]).tzinfo is not None


async def test_me_without_a_token_is_unauthenticated(api: Api) -> None:
    assert code_of(await api.gql(ME)) == "UNAUTHENTICATED"


async def test_me_with_a_service_token_is_forbidden(api: Api) -> None:
    assert code_of(await api.gql(ME, headers=bearer(service_token("wallet:read")))) == "FORBIDDEN"


async def test_a_valid_token_of_an_account_that_does_not_exist_is_unauthenticated(api: Api) -> None:
    body = await api.gql(ME, headers=bearer(user_token(str(uuid.uuid4()))))
    assert code_of(body) == "UNAUTHENTICATED"


@pytest.mark.parametrize("name", sorted(forgery.FORGERIES))
async def test_me_rejects_every_forged_token_with_unauthenticated_not_a_crash(api: Api, name: str) -> None:
    response = await api.client.post(
        "/graphql", json={"query": ME}, headers=bearer(forgery.FORGERIES[name]())
    )
    assert response.status_code == 200
    body = response.json()
    assert code_of(body) == "UNAUTHENTICATED", body
    assert body["data"] is None


async def test_my_profile_takes_the_token_as_an_argument(api: Api) -> None:
    user_id, token = await signed_in(api, "profile_arg")
    for given in (token, f"Bearer {token}"):
        body = await api.gql(PROFILE, {"t": given})
        assert body["data"]["myProfile"]["id"] == user_id
        assert body["data"]["myProfile"]["email"] == "profile_arg@example.com"


async def test_my_profile_falls_back_to_the_authorization_header(api: Api) -> None:
    user_id, token = await signed_in(api, "profile_hdr")
    body = await api.gql("query { myProfile { id fullname } }", headers=bearer(token))
    assert body["data"]["myProfile"] == {"id": user_id, "fullname": "profile_hdr Full"}


async def test_my_profile_argument_wins_over_the_header(api: Api) -> None:
    first_id, first = await signed_in(api, "profile_one")
    _, second = await signed_in(api, "profile_two")
    body = await api.gql(PROFILE, {"t": first}, headers=bearer(second))
    assert body["data"]["myProfile"]["id"] == first_id


@pytest.mark.parametrize(
    ("token", "code"),
    [
        (None, "UNAUTHENTICATED"),
        ("", "UNAUTHENTICATED"),
        ("garbage", "UNAUTHENTICATED"),
        ("PASTE_ACCESS_TOKEN", "UNAUTHENTICATED"),
    ],
)
async def test_my_profile_without_a_usable_token_is_unauthenticated(
    api: Api, token: str | None, code: str
) -> None:
    assert code_of(await api.gql(PROFILE, {"t": token})) == code


@pytest.mark.parametrize("name", ["alg none", "expired", "tampered payload", "wrong audience"])
async def test_my_profile_rejects_forged_token_arguments(api: Api, name: str) -> None:
    body = await api.gql(PROFILE, {"t": forgery.FORGERIES[name]()})
    assert code_of(body) == "UNAUTHENTICATED"


async def test_my_profile_with_a_service_token_argument_is_forbidden(api: Api) -> None:
    body = await api.gql(PROFILE, {"t": service_token("wallet:read")})
    assert code_of(body) == "FORBIDDEN"


async def _entity(api: Api, user_id: str, headers: dict[str, str] | None) -> dict[str, Any] | None:
    # as the router asks: the caller's Authorization forwarded, plus the router's own credential
    body = await api.gql(
        ENTITIES, {"reps": [{"__typename": "User", "id": user_id}]}, headers=as_router(headers)
    )
    assert "errors" not in body, body
    return body["data"]["_entities"][0]


async def test_the_user_entity_shows_fullname_and_email_only_to_self_admin_or_a_service(
    api: Api,
) -> None:
    owner_id, owner_token = await signed_in(api, "entity_owner")
    _, stranger_token = await signed_in(api, "entity_stranger")
    admin = bearer(user_token(str(uuid.uuid4()), role="ADMIN"))
    cases = {
        "self": (bearer(owner_token), True),
        "admin": (admin, True),
        "service": (bearer(service_token("users:read")), True),
        "another user": (bearer(stranger_token), False),
        "anonymous": (None, False),
    }
    for who, (headers, visible) in cases.items():
        entity = await _entity(api, owner_id, headers)
        assert entity is not None
        assert (entity["id"], entity["username"], entity["role"]) == (
            owner_id,
            "entity_owner",
            "USER",
        ), who
        if visible:
            assert (entity["fullname"], entity["email"]) == (
                "entity_owner Full",
                "entity_owner@example.com",
            ), who
        else:
            assert (entity["fullname"], entity["email"]) == (None, None), who


async def test_many_references_resolve_in_order_and_unknown_ids_are_null(api: Api) -> None:
    ids = [await register(api, f"batch_{i}") for i in range(3)]
    reps = [{"__typename": "User", "id": i} for i in [ids[2], "missing-id", ids[0], ids[1]]]
    body = await api.gql(ENTITIES, {"reps": reps})
    entities = body["data"]["_entities"]
    assert [e and e["username"] for e in entities] == ["batch_2", None, "batch_0", "batch_1"]


async def test_the_subgraph_sdl_declares_user_as_an_entity_keyed_by_id(api: Api) -> None:
    sdl = (await api.gql("{ _service { sdl } }"))["data"]["_service"]["sdl"]
    assert 'type User @key(fields: "id")' in sdl
    for field in ("registerUser", "loginUser", "myProfile(token: String", "me: User!"):
        assert field in sdl
