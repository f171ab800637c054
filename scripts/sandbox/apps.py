"""The two sandbox GraphQL services over HTTP: users (:7001) and orders (:7003), each with /health.

Both share one `Store`. The orders service gets its VAs from the wallet through `WalletGateway`.
Test-only hooks on the orders service (`sandboxSetDown`, `sandboxSetLatency`,
`sandboxSetWalletOffline`, `sandboxNotices`) let fault tests make the payment notice answer HTTP 503,
slow the service down or force OFFLINE VAs; they are on by default
(this whole process is a dev/test stand-in) and can be switched off with SANDBOX_TEST_HOOKS=0.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import strawberry
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from graphql import GraphQLError
from graphql.language import (
    FieldNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    VariableNode,
    parse,
)
from strawberry.http.ides import get_graphql_ide_html

from scripts.sandbox.store import CATALOGUE, SandboxError, Store, offline_va
from scripts.sandbox.store import Order as OrderRow
from scripts.sandbox.store import User as UserRow
from scripts.sandbox.wallet import WalletGateway
from shared.records import copy_fields

log = logging.getLogger(__name__)


@dataclass
class SandboxContext:
    store: Store
    authorization: str | None
    wallet: WalletGateway | None = None
    idempotency_key: str | None = None


def _fail(exc: SandboxError) -> GraphQLError:
    return GraphQLError(exc.message, extensions={"code": exc.code})


def _ctx(info: strawberry.Info) -> SandboxContext:
    return info.context  # type: ignore[no-any-return]


def _iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat()


# ---- types --------------------------------------------------------------------------------------
@strawberry.type(name="User")
class UserType:
    id: strawberry.ID
    nama: str
    email: str
    role: str
    is_active: bool
    status_label: str

    @classmethod
    def of(cls, row: UserRow) -> UserType:
        return copy_fields(cls, row)


@strawberry.type
class LoginPayload:
    token: str
    user: UserType


@strawberry.type(name="Product")
class ProductType:
    id: strawberry.ID
    nama: str
    harga: float


@strawberry.type(name="Order")
class OrderType:
    id: strawberry.ID
    user_id: strawberry.ID
    product_id: str
    nama_produk: str
    quantity: int
    harga_satuan: float
    ongkir: float
    total_harga: float
    alamat_pengiriman: str
    metode_pengiriman: str
    kota_tujuan_id: str | None
    nomor_va: str | None = strawberry.field(name="nomorVA")
    status: str
    payment_status: str | None
    nomor_resi: str | None
    created_at: str
    paid_at: str | None

    @classmethod
    def of(cls, row: OrderRow) -> OrderType:
        return copy_fields(
            cls,
            row,
            nama_produk=CATALOGUE[row.product_id].nama if row.product_id in CATALOGUE else "",
            harga_satuan=float(row.harga_satuan),
            ongkir=float(row.ongkir),
            total_harga=float(row.total_harga),
            created_at=_iso(row.created_at) or "",
            paid_at=_iso(row.paid_at),
        )


@strawberry.type(name="Notice")
class NoticeType:
    va_number: str
    status: str
    outcome: str
    at: str
    idempotency_key: str | None = None


@strawberry.input
class CreateOrderInput:
    product_id: strawberry.ID
    quantity: int
    alamat_pengiriman: str
    metode_pengiriman: str
    kota_tujuan_id: str  # required by the real order service (String!)


# ---- users service (:7001) ----------------------------------------------------------------------
@strawberry.type(name="Query")
class UsersQuery:
    @strawberry.field(description="The user of the Authorization token.")
    def me(self, info: strawberry.Info) -> UserType:
        ctx = _ctx(info)
        try:
            return UserType.of(ctx.store.user_of_token(ctx.authorization))
        except SandboxError as exc:
            raise _fail(exc) from None


@strawberry.type(name="Mutation")
class UsersMutation:
    @strawberry.mutation
    def register(self, info: strawberry.Info, nama: str, email: str, password: str) -> UserType:
        try:
            return UserType.of(_ctx(info).store.register(nama, email, password))
        except SandboxError as exc:
            raise _fail(exc) from None

    @strawberry.mutation
    def login(self, info: strawberry.Info, email: str, password: str) -> LoginPayload:
        try:
            token, user = _ctx(info).store.login(email, password)
        except SandboxError as exc:
            raise _fail(exc) from None
        return LoginPayload(token=token, user=UserType.of(user))


# ---- orders service (:7003) ---------------------------------------------------------------------
@strawberry.type(name="Query")
class OrdersQuery:
    @strawberry.field(
        name="getOrderByVA", description="The order a VA belongs to; null when unknown. No auth needed."
    )
    def get_order_by_va(self, info: strawberry.Info, va_number: str) -> OrderType | None:
        row = _ctx(info).store.order_by_va(va_number)
        return None if row is None else OrderType.of(row)

    @strawberry.field(description="The caller's orders, newest first.")
    def my_orders(self, info: strawberry.Info) -> list[OrderType]:
        ctx = _ctx(info)
        try:
            user = ctx.store.user_of_token(ctx.authorization)
        except SandboxError as exc:
            raise _fail(exc) from None
        return [OrderType.of(o) for o in ctx.store.orders_of(user)]

    @strawberry.field
    def products(self) -> list[ProductType]:
        return [
            ProductType(id=strawberry.ID(p.id), nama=p.nama, harga=float(p.harga)) for p in CATALOGUE.values()
        ]


@strawberry.type(name="Mutation")
class OrdersMutation:
    @strawberry.mutation(description="Checkout: prices the order and asks the wallet for its VA.")
    async def create_order(self, info: strawberry.Info, input: CreateOrderInput) -> OrderType:
        ctx = _ctx(info)
        try:
            user = ctx.store.user_of_token(ctx.authorization)
            product, ongkir, total = ctx.store.quote(
                str(input.product_id), input.quantity, input.metode_pengiriman
            )
        except SandboxError as exc:
            raise _fail(exc) from None
        if not input.alamat_pengiriman.strip():
            raise _fail(SandboxError("BAD_USER_INPUT", "Alamat pengiriman wajib diisi"))
        if not input.kota_tujuan_id.strip():
            raise _fail(SandboxError("BAD_USER_INPUT", "Kota tujuan wajib diisi"))
        assert ctx.wallet is not None, "the orders service needs a wallet gateway"
        if ctx.store.wallet_offline:
            nomor_va = offline_va()
        else:
            nomor_va = await ctx.wallet.request_va(float(total))
        row = ctx.store.add_order(
            user,
            product=product,
            quantity=input.quantity,
            ongkir=ongkir,
            total=total,
            alamat_pengiriman=input.alamat_pengiriman,
            metode_pengiriman=input.metode_pengiriman,
            kota_tujuan_id=input.kota_tujuan_id.strip(),
            nomor_va=nomor_va,
        )
        return OrderType.of(row)

    @strawberry.mutation(description="Payment notice: true when the VA is known (order PAID), else false.")
    def update_payment_status(self, info: strawberry.Info, va_number: str, status: str) -> bool:
        ctx = _ctx(info)
        return ctx.store.update_payment_status(va_number, status, ctx.idempotency_key)


@strawberry.type(name="Query")
class OrdersQueryWithHooks(OrdersQuery):
    @strawberry.field(description="TEST ONLY: payment notices received (optionally for one VA).")
    def sandbox_notices(self, info: strawberry.Info, va_number: str | None = None) -> list[NoticeType]:
        return [
            copy_fields(NoticeType, n, at=_iso(n.at) or "")
            for n in _ctx(info).store.notices
            if va_number is None or n.va_number == va_number
        ]


@strawberry.type(name="Mutation")
class OrdersMutationWithHooks(OrdersMutation):
    @strawberry.mutation(
        description=(
            "TEST ONLY: while down, requests whose root fields are in `fields` (default "
            'updatePaymentStatus; "*" = every non-sandbox field) answer HTTP 503. '
            "down=false clears the given fields (all when omitted). Returns the fields now down."
        )
    )
    def sandbox_set_down(
        self, info: strawberry.Info, down: bool, fields: list[str] | None = None
    ) -> list[str]:
        store = _ctx(info).store
        if down:
            store.down_fields |= set(fields or ["updatePaymentStatus"])
        elif fields is None:
            store.down_fields.clear()
        else:
            store.down_fields -= set(fields)
        return sorted(store.down_fields)

    @strawberry.mutation(
        description="TEST ONLY: while true, createOrder does not ask the wallet (OFFLINE-<millis> VAs)."
    )
    def sandbox_set_wallet_offline(self, info: strawberry.Info, offline: bool) -> bool:
        _ctx(info).store.wallet_offline = offline
        return offline

    @strawberry.mutation(description="TEST ONLY: added latency (ms) before every non-sandbox request.")
    def sandbox_set_latency(self, info: strawberry.Info, milliseconds: int) -> int:
        _ctx(info).store.latency_ms = max(0, milliseconds)
        return _ctx(info).store.latency_ms


class _QuietSchema(strawberry.Schema):
    """Resolver errors are answers here, not incidents: log them briefly instead of with traces."""

    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        for error in errors:
            log.info("graphql error: %s", error.message)


USERS_SCHEMA = _QuietSchema(query=UsersQuery, mutation=UsersMutation)
ORDERS_SCHEMA = _QuietSchema(query=OrdersQuery, mutation=OrdersMutation)
ORDERS_SCHEMA_WITH_HOOKS = _QuietSchema(query=OrdersQueryWithHooks, mutation=OrdersMutationWithHooks)


# ---- HTTP ---------------------------------------------------------------------------------------
def _root_fields(
    query: str, operation_name: str | None, variables: dict[str, Any]
) -> list[tuple[str, dict[str, str]]]:
    """(root field name, its string arguments) of the operation to run; [] if unparsable."""
    try:
        document = parse(query)
    except GraphQLError:
        return []
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    found: list[tuple[str, dict[str, str]]] = []

    def walk(selection_set: SelectionSetNode) -> None:
        for selection in selection_set.selections or ():
            if isinstance(selection, InlineFragmentNode):
                walk(selection.selection_set)
            elif isinstance(selection, FieldNode):
                args: dict[str, str] = {}
                for argument in selection.arguments or ():
                    value: Any = None
                    if isinstance(argument.value, StringValueNode):
                        value = argument.value.value
                    elif isinstance(argument.value, VariableNode):
                        value = variables.get(argument.value.name.value)
                    if isinstance(value, str):
                        args[argument.name.value] = value
                found.append((selection.name.value, args))

    for operation in operations:
        walk(operation.selection_set)
    return found


def _is_down(store: Store, fields: list[tuple[str, dict[str, str]]]) -> bool:
    for name, _ in fields:
        if name.startswith("sandbox") or name.startswith("__"):
            continue
        if name in store.down_fields or "*" in store.down_fields:
            return True
    return False


def _mount_graphql(
    app: FastAPI, schema: strawberry.Schema, store: Store, wallet: WalletGateway | None, gate: bool
) -> None:
    @app.get("/graphql")
    async def graphiql() -> HTMLResponse:
        """GraphiQL in a browser, for running the seed's "Tes Integrasi" by hand."""
        return HTMLResponse(get_graphql_ide_html())

    @app.post("/graphql")
    async def graphql_endpoint(request: Request) -> JSONResponse:
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"errors": [{"message": "Body must be JSON"}]}, status_code=400)
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            return JSONResponse({"errors": [{"message": "Missing query"}]}, status_code=400)
        variables = body.get("variables") or {}
        if not isinstance(variables, dict):
            return JSONResponse({"errors": [{"message": "variables must be an object"}]}, status_code=400)
        operation_name = body.get("operationName")
        if gate:
            fields = _root_fields(body["query"], operation_name, variables)
            if _is_down(store, fields):
                for name, args in fields:
                    if name == "updatePaymentStatus" and "vaNumber" in args:
                        store.record_refused_notice(
                            args["vaNumber"], args.get("status", ""), request.headers.get("idempotency-key")
                        )
                return JSONResponse(
                    {"errors": [{"message": "Service Unavailable (sandbox test hook)"}]},
                    status_code=503,
                )
            if store.latency_ms and not all(n.startswith("sandbox") for n, _ in fields):
                await asyncio.sleep(store.latency_ms / 1000)
        result = await schema.execute(
            body["query"],
            variable_values=variables,
            operation_name=operation_name,
            context_value=SandboxContext(
                store=store,
                authorization=request.headers.get("authorization"),
                wallet=wallet,
                idempotency_key=request.headers.get("idempotency-key"),
            ),
        )
        payload: dict[str, Any] = {"data": result.data}
        if result.errors:
            payload["errors"] = [error.formatted for error in result.errors]
        return JSONResponse(payload)


def create_users_app(store: Store) -> FastAPI:
    """The marketplace user service: register, login, me."""
    app = FastAPI(title="sandbox-users", docs_url=None, redoc_url=None)
    _mount_graphql(app, USERS_SCHEMA, store, None, gate=False)

    @app.get("/health")
    async def health() -> JSONResponse:
        return JSONResponse({"status": "ok", "service": "marketplace-users"})

    return app


def create_orders_app(store: Store, wallet: WalletGateway, *, test_hooks: bool = True) -> FastAPI:
    """The marketplace order service: createOrder, getOrderByVA, updatePaymentStatus (+ test hooks)."""
    app = FastAPI(title="sandbox-orders", docs_url=None, redoc_url=None)
    schema = ORDERS_SCHEMA_WITH_HOOKS if test_hooks else ORDERS_SCHEMA
    _mount_graphql(app, schema, store, wallet, gate=test_hooks)

    @app.get("/health")
    async def health() -> JSONResponse:
        return JSONResponse({"status": "ok", "service": "marketplace-orders"})

    return app
