"""Small Strawberry Federation v2 subgraphs (a generic shop) that the router tests serve for real.

They know nothing of the product domain: users, products, reviews, shipping and a media catalogue
exercise entity jumps, @requires, @provides, interfaces, unions, errors and mutation order.
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any, NewType

import strawberry
from graphql import GraphQLError
from strawberry.asgi import GraphQL
from strawberry.schema.config import StrawberryConfig
from strawberry.types import Info

MUTATION_LOG: list[str] = []
SEEN_HEADERS: list[dict[str, str]] = []
SEEN_BODIES: dict[str, list[dict[str, Any]]] = {}

Money = NewType("Money", str)
MONEY_CONFIG = StrawberryConfig(
    scalar_map={Money: strawberry.scalar(name="Money", serialize=str, parse_value=str)}
)


def _log(subgraph: str, entry: str) -> list[str]:
    """Record a mutation in the shared log (the order tests read it back)."""
    MUTATION_LOG.append(f"{subgraph}:{entry}")
    return list(MUTATION_LOG)


def _headers(info: Info) -> dict[str, str]:
    request = info.context["request"]
    return {k.lower(): v for k, v in request.headers.items()}


# ---- accounts ----------------------------------------------------------------------------------

USERS = {"u1": ("Ada", "ada@example.test"), "u2": ("Grace", "grace@example.test")}


@strawberry.federation.type(keys=["id"])
class User:
    id: strawberry.ID
    name: str
    email: str

    @strawberry.field
    def secret(self) -> str | None:
        raise GraphQLError("not yours", extensions={"code": "FORBIDDEN"})

    @strawberry.field
    def must_have(self) -> str:
        raise GraphQLError("broken", extensions={"code": "INTERNAL"})

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> User | None:  # noqa: A002
        found = USERS.get(str(id))
        return User(id=id, name=found[0], email=found[1]) if found else None


@strawberry.type
class AccountsQuery:
    @strawberry.field
    def me(self, info: Info) -> User | None:
        headers = _headers(info)
        SEEN_HEADERS.append(headers)
        token = headers.get("authorization", "")
        if not token.startswith("Bearer "):
            raise GraphQLError("sign in first", extensions={"code": "UNAUTHENTICATED"})
        user_id = token.removeprefix("Bearer ")
        return User.resolve_reference(strawberry.ID(user_id))

    @strawberry.field
    def user(self, id: strawberry.ID) -> User | None:  # noqa: A002
        return User.resolve_reference(id)

    @strawberry.field
    def users(self) -> list[User]:
        return [User.resolve_reference(strawberry.ID(i)) for i in USERS]  # type: ignore[misc]

    @strawberry.field
    def request_id(self, info: Info) -> str | None:
        return _headers(info).get("x-request-id")

    @strawberry.field
    async def slow(self) -> str | None:
        await asyncio.sleep(1.0)
        return "finally"

    @strawberry.field
    async def slow_whoami(self, info: Info) -> str | None:
        """Who the subgraph saw, answered late (so that concurrent requests overlap)."""
        await asyncio.sleep(0.3)
        return _headers(info).get("authorization")


@strawberry.type
class AccountsMutation:
    @strawberry.mutation
    def log_account(self, entry: str) -> list[str]:
        return _log("accounts", entry)

    @strawberry.mutation
    async def slow_log_account(self, entry: str) -> int:
        await asyncio.sleep(0.3)
        MUTATION_LOG.append(f"accounts:{entry}")
        return len(MUTATION_LOG)

    @strawberry.mutation
    def touch_user(self, id: strawberry.ID) -> User | None:  # noqa: A002
        """A mutation answering an entity (the @defer tests split its result)."""
        return User.resolve_reference(id)

    @strawberry.federation.mutation(inaccessible=True)
    def internal_reset(self) -> bool:
        MUTATION_LOG.clear()
        return True


accounts_schema = strawberry.federation.Schema(
    query=AccountsQuery, mutation=AccountsMutation, types=[User], config=MONEY_CONFIG
)


# ---- products ----------------------------------------------------------------------------------

PRODUCTS = {"p1": ("Kettle", "12.50", 3), "p2": ("Teapot", "30.00", 10)}


@strawberry.federation.type(keys=["upc"])
class Product:
    upc: str
    name: str
    price: Money
    weight: int

    @classmethod
    def resolve_reference(cls, upc: str) -> Product | None:
        found = PRODUCTS.get(upc)
        return Product(upc=upc, name=found[0], price=Money(found[1]), weight=found[2]) if found else None


@strawberry.type
class ProductsQuery:
    @strawberry.field
    def top_products(self) -> list[Product]:
        return [Product.resolve_reference(u) for u in PRODUCTS]  # type: ignore[misc]


products_schema = strawberry.federation.Schema(query=ProductsQuery, types=[Product], config=MONEY_CONFIG)


# ---- reviews -----------------------------------------------------------------------------------

REVIEWS = {"r1": ("u1", "p1", "Boils fast"), "r2": ("u2", "p2", "Pretty"), "r3": ("u1", "p2", "Leaks")}


@strawberry.federation.type(keys=["id"])
class ReviewUser:
    id: strawberry.ID
    name: str = strawberry.federation.field(external=True)

    @strawberry.field
    def reviews(self) -> list[Review]:
        return [_review(rid) for rid, row in REVIEWS.items() if row[0] == str(self.id)]

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> ReviewUser:  # noqa: A002
        return ReviewUser(id=id, name="")


ReviewUser.__strawberry_definition__.name = "User"  # type: ignore[attr-defined]


@strawberry.federation.type(keys=["upc"])
class ReviewProduct:
    upc: str

    @strawberry.field
    def reviews(self) -> list[Review]:
        return [_review(rid) for rid, row in REVIEWS.items() if row[1] == self.upc]

    @strawberry.field
    async def slow_score(self) -> int:
        """Answered late (the @defer tests show the initial payload goes out before it)."""
        await asyncio.sleep(0.5)
        return len(self.upc)

    @classmethod
    def resolve_reference(cls, upc: str) -> ReviewProduct:
        return ReviewProduct(upc=upc)


ReviewProduct.__strawberry_definition__.name = "Product"  # type: ignore[attr-defined]


@strawberry.federation.type(keys=["id"])
class Review:
    id: strawberry.ID
    body: str
    product: ReviewProduct
    author_id: strawberry.Private[str]

    @strawberry.federation.field(provides=["name"])
    def author(self) -> ReviewUser:
        return ReviewUser(id=strawberry.ID(self.author_id), name=USERS[self.author_id][0] + " (provided)")

    @strawberry.field
    def flaky(self) -> str | None:
        if self.id == "r2":
            raise GraphQLError("flaky review", extensions={"code": "NOT_FOUND"})
        return "ok"

    @strawberry.field
    def uncoded(self) -> str | None:
        """An error a subgraph sends without any `extensions.code`."""
        raise GraphQLError("no code given")

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Review:  # noqa: A002
        return _review(str(id))


def _review(review_id: str) -> Review:
    author, upc, body = REVIEWS[review_id]
    return Review(id=strawberry.ID(review_id), body=body, product=ReviewProduct(upc=upc), author_id=author)


@strawberry.type
class ReviewsQuery:
    @strawberry.field
    def latest_review(self) -> Review:
        return _review("r3")


@strawberry.type
class ReviewsMutation:
    @strawberry.mutation
    def log_review(self, entry: str) -> list[str]:
        return _log("reviews", entry)


reviews_schema = strawberry.federation.Schema(
    query=ReviewsQuery,
    mutation=ReviewsMutation,
    types=[Review, ReviewUser, ReviewProduct],
    config=MONEY_CONFIG,
)


# ---- shipping (@requires) ------------------------------------------------------------------------


@strawberry.federation.type(keys=["upc"])
class ShippingProduct:
    upc: str
    price: Money = strawberry.federation.field(external=True)
    weight: int = strawberry.federation.field(external=True)

    @strawberry.federation.field(requires=["price weight"])
    def shipping_estimate(self) -> str:
        cents = int(float(self.price) * 100)
        return f"{(cents // 100) + self.weight * 2}.00"

    @classmethod
    def resolve_reference(cls, upc: str, price: Any = None, weight: Any = None) -> ShippingProduct:
        return ShippingProduct(upc=upc, price=Money(str(price or "0")), weight=int(weight or 0))


ShippingProduct.__strawberry_definition__.name = "Product"  # type: ignore[attr-defined]


@strawberry.type
class ShippingQuery:
    @strawberry.field
    def shipping_zones(self) -> list[str]:
        return ["north", "south"]


shipping_schema = strawberry.federation.Schema(
    query=ShippingQuery, types=[ShippingProduct], config=MONEY_CONFIG
)


# ---- media (interfaces and unions) ---------------------------------------------------------------


@strawberry.interface
class Media:
    id: strawberry.ID
    title: str


@strawberry.type
class Book(Media):
    pages: int


@strawberry.type
class Film(Media):
    minutes: int


SearchResult = Annotated[Book | Film, strawberry.union("SearchResult")]


@strawberry.type
class MediaQuery:
    @strawberry.field
    def catalogue(self) -> list[Media]:
        return [
            Book(id=strawberry.ID("b1"), title="Dune", pages=412),
            Film(id=strawberry.ID("f1"), title="Heat", minutes=170),
        ]

    @strawberry.field
    def search(self, term: str) -> list[SearchResult]:
        del term
        return [
            Film(id=strawberry.ID("f1"), title="Heat", minutes=170),
            Book(id=strawberry.ID("b1"), title="Dune", pages=412),
        ]


media_schema = strawberry.federation.Schema(query=MediaQuery, types=[Book, Film], config=MONEY_CONFIG)


SCHEMAS = {
    "accounts": accounts_schema,
    "products": products_schema,
    "reviews": reviews_schema,
    "shipping": shipping_schema,
    "media": media_schema,
}


class RecordingApp:
    """Wraps a subgraph app and records every JSON request body it receives (to count fetches)."""

    def __init__(self, name: str, app: GraphQL) -> None:
        self.name = name
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if body:
            SEEN_BODIES.setdefault(self.name, []).append(json.loads(body))
        delivered = False

        async def replay() -> dict[str, Any]:
            nonlocal delivered
            if delivered:
                return await receive()
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


def asgi_app(name: str) -> RecordingApp:
    """The ASGI app of one test subgraph (recording request bodies)."""
    return RecordingApp(name, GraphQL(SCHEMAS[name], graphql_ide=None))
