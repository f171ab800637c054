"""What the transactions subgraph asks the wallet to pay people and show receivers: who owns a wallet,
which wallet receives money sent by name, and a statement filtered by direction."""

from __future__ import annotations

import pytest

from tests.support.tokens import service_token, user_token
from tests.wallet.conftest import InProcessWallet
from tests.wallet.helpers import ALL_SCOPES, DEDUCT, error_code, new_id
from tests.wallet.test_schema import make_wallet

OWNER = "query($w: ID!) { walletOwner(walletId: $w) { walletId ownerId status } }"
DEFAULT = "query($u: ID!) { defaultWalletOf(userId: $u) }"
FREEZE = "mutation($w: ID!) { freezeWallet(walletId: $w) { status } }"
STATEMENT = """query($w: ID!, $d: String) { wallet(walletId: $w) {
  entries(direction: $d) { direction amount transactionId } } }"""


async def test_a_service_learns_who_owns_a_wallet_and_null_when_there_is_none(
    wallet_app: InProcessWallet,
) -> None:
    owner = new_id()
    wallet_id = await make_wallet(wallet_app, owner)
    service = service_token("wallet:read")
    found = await wallet_app.gql(OWNER, service, w=wallet_id)
    assert found["data"]["walletOwner"] == {"walletId": wallet_id, "ownerId": owner, "status": "ACTIVE"}
    for missing in ("no-such-wallet", "x" * 65, "a\x00b"):
        assert (await wallet_app.gql(OWNER, service, w=missing))["data"]["walletOwner"] is None


async def test_money_sent_by_name_goes_to_the_oldest_active_wallet_or_nowhere(
    wallet_app: InProcessWallet,
) -> None:
    user = new_id()
    service = service_token("wallet:read")
    assert (await wallet_app.gql(DEFAULT, service, u=user))["data"]["defaultWalletOf"] is None
    first = await make_wallet(wallet_app, user, "first")
    await make_wallet(wallet_app, user, "second")
    assert (await wallet_app.gql(DEFAULT, service, u=user))["data"]["defaultWalletOf"] == first
    admin = user_token(new_id(), role="ADMIN")
    assert error_code(await wallet_app.gql(FREEZE, admin, w=first)) is None
    second = (await wallet_app.gql(DEFAULT, service, u=user))["data"]["defaultWalletOf"]
    assert second not in (None, first)


@pytest.mark.parametrize("query", [OWNER, DEFAULT])
async def test_user_tokens_and_anonymous_callers_cannot_look_wallets_up(
    wallet_app: InProcessWallet, query: str
) -> None:
    variables = {"w": "w"} if "walletId" in query else {"u": "u"}
    assert error_code(await wallet_app.gql(query, user_token(new_id()), **variables)) == "FORBIDDEN"
    assert error_code(await wallet_app.gql(query, None, **variables)) == "UNAUTHENTICATED"


async def test_a_statement_can_show_only_money_in_or_only_money_out(wallet_app: InProcessWallet) -> None:
    owner = new_id()
    wallet_id = await make_wallet(wallet_app, owner, amount=1_000)
    debit = {"transactionId": new_id(), "userId": owner, "walletId": wallet_id, "amount": 300}
    assert error_code(await wallet_app.gql(DEDUCT, service_token(*ALL_SCOPES), input=debit)) is None
    token = user_token(owner)
    credits = (await wallet_app.gql(STATEMENT, token, w=wallet_id, d="CREDIT"))["data"]["wallet"]["entries"]
    debits = (await wallet_app.gql(STATEMENT, token, w=wallet_id, d="DEBIT"))["data"]["wallet"]["entries"]
    both = (await wallet_app.gql(STATEMENT, token, w=wallet_id, d=None))["data"]["wallet"]["entries"]
    assert [e["direction"] for e in credits] == ["CREDIT"] and [e["amount"] for e in credits] == ["1000.00"]
    assert [e["transactionId"] for e in debits] == [debit["transactionId"]]
    assert len(both) == 2
    bad = await wallet_app.gql(STATEMENT, token, w=wallet_id, d="SIDEWAYS")
    assert error_code(bad) == "BAD_USER_INPUT"


async def test_every_ledger_result_names_the_owner_of_its_wallet(wallet_app: InProcessWallet) -> None:
    from tests.wallet.helpers import TRANSFER

    alice, bob = new_id(), new_id()
    source = await make_wallet(wallet_app, alice, amount=500)
    target = await make_wallet(wallet_app, bob)
    move = {"transactionId": new_id(), "userId": alice, "amount": 200}
    move.update({"fromWalletId": source, "toWalletId": target})
    body = await wallet_app.gql(TRANSFER, service_token(*ALL_SCOPES), input=move)
    result = body["data"]["transferWallet"]
    assert (result["debit"]["ownerId"], result["credit"]["ownerId"]) == (alice, bob)
