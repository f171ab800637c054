"""registerUser: validation, case-insensitive uniqueness, and nothing stored on any error."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.errors import AppError
from subgraphs.auth.models import User
from tests.auth.conftest import REGISTER, Api, code_of, register

GOOD = {
    "username": "valid_user",
    "fullname": "Valid User",
    "email": "valid@example.com",
    "password": "password123",
}


async def test_register_returns_the_new_user_id_and_stores_a_normalised_user(api: Api) -> None:
    body = await api.gql(
        REGISTER,
        {
            "username": "Ani.Sawit",
            "fullname": "  Ani Sawit  ",
            "email": "  Ani.Sawit@Example.COM ",
            "password": "password123",
        },
    )
    user_id = body["data"]["registerUser"]
    assert uuid.UUID(user_id)
    user = await api.service.db.read(lambda session: session.get(User, user_id))
    assert user is not None
    assert (user.username, user.fullname, user.email, user.role) == (
        "Ani.Sawit",
        "Ani Sawit",
        "ani.sawit@example.com",
        "USER",
    )
    assert user.password_hash.startswith("$argon2id$")
    assert "password123" not in user.password_hash


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("username", "ab"),
        ("username", "x" * 33),
        ("username", "has space"),
        ("username", "dash-name"),
        ("username", "emoji😀"),
        ("username", "newline\n"),
        ("username", ""),
        ("fullname", ""),
        ("fullname", "   "),
        ("fullname", "x" * 101),
        ("fullname", "tab\there"),
        ("email", ""),
        ("email", "not-an-email"),
        ("email", "a@b"),
        ("email", "a@@b.com"),
        ("email", "a b@example.com"),
        ("email", "@example.com"),
        ("email", "user@example..com"),
        ("email", "user@-example.com"),
        ("email", ("x" * 65) + "@example.com"),
        ("email", "x@" + ("a" * 60 + ".") * 5 + "com"),
        ("password", ""),
        ("password", "short7!"),
        ("password", "p" * 129),
    ],
)
async def test_bad_registration_input_is_bad_user_input_naming_the_field_and_stores_nothing(
    api: Api, field: str, value: str
) -> None:
    before = await api.count_users()
    body = await api.gql(REGISTER, {**GOOD, field: value})
    assert code_of(body) == "BAD_USER_INPUT", body
    assert body["errors"][0]["extensions"]["field"] == field
    assert body["data"] is None
    assert await api.count_users() == before


async def test_boundary_lengths_are_accepted(api: Api) -> None:
    await register(api, "abc", password="p" * 8, email="abc_min@example.com", fullname="A")
    await register(api, "y" * 32, password="p" * 128, email="max_len@example.com", fullname="F" * 100)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("email", "TAKEN@EXAMPLE.COM"),
        ("email", " taken@example.com"),
        ("username", "TAKEN_user"),
        ("username", "taken_USER"),
    ],
)
async def test_taken_email_or_username_in_any_case_is_a_conflict_and_stores_nothing(
    api: Api, field: str, value: str
) -> None:
    taken = {**GOOD, "username": "taken_user", "email": "taken@example.com"}
    assert code_of(await api.gql(REGISTER, taken)) in (None, "CONFLICT")  # first param registers
    before = await api.count_users()
    fresh = {
        "username": f"u{uuid.uuid4().hex[:10]}",
        "fullname": "Someone",
        "email": f"{uuid.uuid4().hex[:10]}@example.com",
        "password": "password123",
    }
    body = await api.gql(REGISTER, {**fresh, field: value})
    assert code_of(body) == "CONFLICT", body
    assert body["errors"][0]["extensions"]["field"] == field
    assert await api.count_users() == before


async def test_concurrent_registrations_of_one_email_store_exactly_one(api: Api) -> None:
    variables = [{**GOOD, "username": f"racer{i}", "email": "racer@example.com"} for i in range(4)]
    bodies = await asyncio.gather(*(api.gql(REGISTER, v) for v in variables))
    codes = sorted(str(code_of(body)) for body in bodies)
    assert codes == ["CONFLICT", "CONFLICT", "CONFLICT", "None"]
    query = select(User).where(User.email == "racer@example.com")
    rows = await api.service.db.read(lambda session: session.execute(query).all())
    assert len(rows) == 1


async def test_a_race_lost_at_the_unique_index_is_reported_as_conflict(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    await register(api, "index_first", email="index@example.com")
    before = await api.count_users()
    service = api.service
    real_conflict = service._conflict
    calls = {"n": 0}

    def blind_until_retry(session: Session, email: str, username: str) -> AppError | None:
        # The pre-checks see nothing (as if the other insert had not committed yet).
        calls["n"] += 1
        if calls["n"] <= 2:
            return None
        return real_conflict(session, email, username)

    monkeypatch.setattr(service, "_conflict", blind_until_retry)
    body = await api.gql(REGISTER, {**GOOD, "username": "Index_First", "email": "other_index@example.com"})
    assert code_of(body) == "CONFLICT", body
    assert body["errors"][0]["extensions"]["field"] == "username"
    assert "UNIQUE" not in body["errors"][0]["message"].upper()
    assert await api.count_users() == before
