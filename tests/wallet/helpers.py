"""GraphQL operations and small helpers the wallet tests share."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.support.tokens import bearer, service_token, user_token

ALL_SCOPES = ("wallet:credit", "wallet:debit", "wallet:transfer", "wallet:reverse", "wallet:read")

CREATE_WALLET = """
mutation Create($name: String!) {
  createWallet(walletName: $name) { walletId walletName balance status }
}
"""
MY_WALLETS = "query { myWallets { walletId walletName balance status } }"
WALLET = "query W($id: ID!) { wallet(walletId: $id) { walletId walletName balance status } }"
LEDGER_FIELDS = "transactionId walletId direction amount balanceAfter replayed ownerId"
TOPUP = f"mutation T($input: LedgerInput!) {{ topupWallet(input: $input) {{ {LEDGER_FIELDS} }} }}"
DEDUCT = f"mutation D($input: LedgerInput!) {{ deductWallet(input: $input) {{ {LEDGER_FIELDS} }} }}"
TRANSFER = f"""
mutation X($input: TransferInput!) {{
  transferWallet(input: $input) {{
    transactionId replayed debit {{ {LEDGER_FIELDS} }} credit {{ {LEDGER_FIELDS} }}
  }}
}}
"""
REVERSE = f"mutation R($input: ReverseInput!) {{ reverseLedger(input: $input) {{ {LEDGER_FIELDS} }} }}"
MOVEMENTS = "query M($tx: String!) { movementsOf(transactionId: $tx) { entryId walletId direction amount } }"


def new_id() -> str:
    return uuid.uuid4().hex


def error_code(body: dict[str, Any]) -> str | None:
    errors = body.get("errors") or []
    return errors[0]["extensions"]["code"] if errors else None


class WalletClient:
    """Calls a wallet subgraph over HTTP with real user and service tokens."""

    def __init__(self, client: httpx.AsyncClient, url: str) -> None:
        self.client = client
        self.url = url
        self.service = service_token(*ALL_SCOPES)

    async def gql(self, query: str, token: str, **variables: Any) -> dict[str, Any]:
        payload = {"query": query, "variables": variables}
        try:
            response = await self.client.post(self.url, json=payload, headers=bearer(token))
        except httpx.RemoteProtocolError:
            # A pooled keep-alive connection the server closed just as it was reused (a race of
            # HTTP/1.1, not of the ledger). Sending again is safe: every money movement is
            # idempotent by its transaction id, which is exactly what a real caller relies on.
            response = await self.client.post(self.url, json=payload, headers=bearer(token))
        assert response.status_code == 200, response.text
        return response.json()

    async def create_wallet(self, user_id: str, name: str = "Dompet") -> str:
        body = await self.gql(CREATE_WALLET, user_token(user_id), name=name)
        return body["data"]["createWallet"]["walletId"]

    async def topup(self, user_id: str, wallet_id: str, amount: Any, tx: str | None = None) -> dict[str, Any]:
        variables = {
            "transactionId": tx or new_id(),
            "userId": user_id,
            "walletId": wallet_id,
            "amount": amount,
        }
        return await self.gql(TOPUP, self.service, input=variables)

    async def deduct(
        self, user_id: str, wallet_id: str, amount: Any, tx: str | None = None, token: str | None = None
    ) -> dict[str, Any]:
        variables = {
            "transactionId": tx or new_id(),
            "userId": user_id,
            "walletId": wallet_id,
            "amount": amount,
        }
        return await self.gql(DEDUCT, token or self.service, input=variables)

    async def transfer(
        self, user_id: str, source: str, target: str, amount: Any, tx: str | None = None
    ) -> dict[str, Any]:
        variables = {
            "transactionId": tx or new_id(),
            "userId": user_id,
            "fromWalletId": source,
            "toWalletId": target,
            "amount": amount,
        }
        return await self.gql(TRANSFER, self.service, input=variables)

    async def balance(self, user_id: str, wallet_id: str) -> str:
        body = await self.gql(WALLET, user_token(user_id), id=wallet_id)
        return body["data"]["wallet"]["balance"]
