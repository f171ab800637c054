"""The auth subgraph's GraphQL API: the `User` entity, registration, login and the caller's profile."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import strawberry

from shared.context import Context
from shared.errors import AppError, ErrorCode, forbidden
from shared.schema import build_schema
from shared.scopes import Scope
from shared.tokens import Principal
from subgraphs.auth import models
from subgraphs.auth.service import AuthService, as_utc


@dataclass(frozen=True)
class AuthDeps:
    """What resolvers reach as `info.context.deps`."""

    service: AuthService


Info = strawberry.Info[Context[AuthDeps], None]


def _may_see_private(viewer: Principal | None, user_id: str) -> bool:
    """fullname/email: only the user themself, an admin, or a service."""
    if viewer is None:
        return False
    return viewer.kind == "service" or viewer.is_admin or viewer.subject == user_id


@strawberry.federation.type(keys=["id"], description="An account of Dompet Digital Sawit.")
class User:
    id: strawberry.ID
    username: str
    fullname: str | None = strawberry.field(description="Visible to the user, an admin or a service")
    email: str | None = strawberry.field(description="Visible to the user, an admin or a service")
    role: str
    created_at: datetime

    @classmethod
    def from_record(cls, user: models.User, viewer: Principal | None) -> User:
        private = _may_see_private(viewer, user.id)
        return cls(
            id=strawberry.ID(user.id),
            username=user.username,
            fullname=user.fullname if private else None,
            email=user.email if private else None,
            role=user.role,
            created_at=as_utc(user.created_at),
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> User | None:
        # One batched lookup per request for all `_entities` references.
        user = await info.context.loader("user_loader", info.context.deps.service.get_users).load(str(id))
        if user is None:
            return None
        return cls.from_record(user, await info.context.principal())


@strawberry.type
class LoginPayload:
    access_token: str = strawberry.field(name="access_token")
    token_type: str = strawberry.field(name="token_type", description='Always "Bearer"')
    expires_in: int = strawberry.field(name="expires_in", description="Seconds until it expires")
    user: User


async def client_of(info: Info) -> str | None:
    """The caller's IP for throttling (shared.clientip's rule)."""
    return await info.context.client_address()


async def _profile_of(info: Info, principal: Principal) -> User:
    user = await info.context.deps.service.get_user(principal.subject)
    if user is None:
        raise AppError(ErrorCode.UNAUTHENTICATED, "The account of this token no longer exists")
    return User.from_record(user, principal)


@strawberry.federation.type(
    inaccessible=True, description="A user as services may look them up: no email, no role."
)
class UserLookup:
    id: strawberry.ID
    username: str
    fullname: str


@strawberry.type
class LookupQuery:
    """The service-only part of Query (merged into it)."""

    @strawberry.federation.field(
        inaccessible=True,
        description="Service: a user by username (ignoring case) or id; null when none; scope auth:lookup.",
    )
    async def lookup_user(
        self,
        info: Info,
        username: str | None = None,
        id: strawberry.ID | None = None,  # noqa: A002
    ) -> UserLookup | None:
        await info.context.require_service(Scope.AUTH_LOOKUP)
        user = await info.context.deps.service.lookup(
            username=username, user_id=str(id) if id is not None else None
        )
        if user is None:
            return None
        return UserLookup(id=strawberry.ID(user.id), username=user.username, fullname=user.fullname)


@strawberry.type
class Query(LookupQuery):
    @strawberry.field(description="The signed-in user.")
    async def me(self, info: Info) -> User:
        return await _profile_of(info, await info.context.require_user())

    @strawberry.field(
        description="The profile of the token's user; without `token` the Authorization header is used."
    )
    async def my_profile(self, info: Info, token: str | None = None) -> User:
        given = (token or "").strip()
        if given.lower().startswith("bearer "):
            given = given[7:].strip()
        if not given:
            return await _profile_of(info, await info.context.require_user())
        principal = await info.context.authenticator.principal_from_token(given)
        if principal.kind != "user":
            raise forbidden("This operation needs a user token")
        return await _profile_of(info, principal)


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Create an account; returns the new user's id.")
    async def register_user(
        self, info: Info, username: str, fullname: str, email: str, password: str
    ) -> strawberry.ID:
        user = await info.context.deps.service.register(
            username=username, fullname=fullname, email=email, password=password, client=await client_of(info)
        )
        return strawberry.ID(user.id)

    @strawberry.mutation(description="Exchange email and password for a bearer access token.")
    async def login_user(self, info: Info, email: str, password: str) -> LoginPayload:
        result = await info.context.deps.service.login(
            email=email, password=password, client=await client_of(info)
        )
        viewer = Principal(kind="user", subject=result.user.id, role=result.user.role)
        return LoginPayload(
            access_token=result.access_token,
            token_type=result.token_type,
            expires_in=result.expires_in,
            user=User.from_record(result.user, viewer),
        )


schema = build_schema(Query, Mutation, types=[User])
