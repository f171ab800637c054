"""The subgraph client maps every failure to our error codes and carries service tokens and request ids."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from shared.client import SubgraphClient
from shared.errors import AppError, ErrorCode
from shared.logs import request_id_var
from shared.security import ServiceTokenMinter, build_authenticator


def client_for(handler, minter: ServiceTokenMinter | None = None) -> SubgraphClient:
    return SubgraphClient(
        "wallet",
        "http://wallet.test/graphql",
        timeout_s=1.0,
        minter=minter,
        http=httpx.AsyncClient(transport=httpx.MockTransport(handler)),
    )


async def test_a_successful_call_returns_the_data() -> None:
    client = client_for(lambda request: httpx.Response(200, json={"data": {"ok": True}}))
    assert await client.execute("{ ok }") == {"ok": True}


async def test_a_known_error_code_from_the_callee_is_kept_with_its_message() -> None:
    error = {"message": "Saldo kurang", "extensions": {"code": "INSUFFICIENT_FUNDS"}}
    body = {"data": None, "errors": [error]}
    client = client_for(lambda request: httpx.Response(200, json=body))
    with pytest.raises(AppError) as caught:
        await client.execute("{ x }")
    assert caught.value.code is ErrorCode.INSUFFICIENT_FUNDS
    assert caught.value.message == "Saldo kurang"


async def test_an_unknown_error_from_the_callee_becomes_internal_without_its_text() -> None:
    body = {"errors": [{"message": "psycopg: relation wallets does not exist"}]}
    client = client_for(lambda request: httpx.Response(200, json=body))
    with pytest.raises(AppError) as caught:
        await client.execute("{ x }")
    assert caught.value.code is ErrorCode.INTERNAL
    assert "psycopg" not in caught.value.message


@pytest.mark.parametrize(
    "failure",
    [httpx.ConnectError("refused"), httpx.ReadTimeout("slow")],
    ids=["connection refused", "timeout"],
)
async def test_a_transport_failure_is_subgraph_unavailable_and_retriable(failure: Exception) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise failure

    client = client_for(handler)
    with pytest.raises(AppError) as caught:
        await client.execute("{ x }")
    assert caught.value.code is ErrorCode.SUBGRAPH_UNAVAILABLE
    assert caught.value.details["retriable"] is True


async def test_a_5xx_without_json_is_subgraph_unavailable() -> None:
    client = client_for(lambda request: httpx.Response(502, text="bad gateway"))
    with pytest.raises(AppError) as caught:
        await client.execute("{ x }")
    assert caught.value.code is ErrorCode.SUBGRAPH_UNAVAILABLE


async def test_the_service_token_carries_the_requested_scopes_and_verifies() -> None:
    seen: dict[str, str] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.update(request.headers)
        return httpx.Response(200, json={"data": {}})

    client = client_for(handler, ServiceTokenMinter("transactions"))
    token = request_id_var.set("req-42")
    try:
        await client.execute("{ x }", scopes=["wallet:debit"])
    finally:
        request_id_var.reset(token)
    assert seen["x-request-id"] == "req-42"
    principal = await build_authenticator().principal_from_header(seen["authorization"])
    assert principal is not None and principal.kind == "service"
    assert principal.subject == "service:transactions"
    assert principal.scopes == frozenset({"wallet:debit"})


async def test_a_foreign_service_s_graphql_error_means_not_done_whatever_code_it_claims() -> None:
    body = {"errors": [{"message": "nope", "extensions": {"code": "INSUFFICIENT_FUNDS"}}]}
    client = SubgraphClient(
        "marketplace",
        "http://market.test/graphql",
        timeout_s=1.0,
        http=httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(200, json=body))),
        unavailable_code=ErrorCode.MARKETPLACE_UNAVAILABLE,
        foreign=True,
    )
    with pytest.raises(AppError) as caught:
        await client.execute("{ x }")
    assert caught.value.code is ErrorCode.MARKETPLACE_UNAVAILABLE
    assert caught.value.details["retriable"] is True


async def test_exact_numbers_come_back_as_decimals_not_floats() -> None:
    text = '{"data": {"totalHarga": 150000.10}}'
    client = SubgraphClient(
        "marketplace",
        "http://market.test/graphql",
        timeout_s=1.0,
        http=httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(200, text=text))),
        exact_numbers=True,
    )
    assert (await client.execute("{ x }"))["totalHarga"] == Decimal("150000.10")
