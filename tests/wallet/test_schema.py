"""The wallet's GraphQL surface in-process: the seed operations verbatim, who may see and do what,
and Money input rules at the edge (nothing written when refused)."""

from __future__ import annotations

from tests.support.tokens import service_token, user_token
from tests.wallet.conftest import InProcessWallet
from tests.wallet.helpers import ALL_SCOPES, DEDUCT, TOPUP, WALLET, error_code, new_id

# Verbatim from the project's contracts/seed/03_create_wallet.graphql and 04_my_wallets.graphql.
SEED_CREATE = """mutation {
  createWallet(walletName: "Tabungan Utama") {
    walletId
    walletName
    balance
    status
  }
}"""
SEED_MY_WALLETS = """query {
  myWallets {
    walletName
    balance
    status
  }
}"""
ENTITIES = """
query($reps: [_Any!]!) {
  _entities(representations: $reps) {
    ... on Wallet { walletId walletName balance }
    ... on User { id wallets { walletId walletName } }
  }
}
"""


async def make_wallet(app: InProcessWallet, user: str, name: str = "Rahasia", amount: int = 0) -> str:
    body = await app.gql(
        "mutation($n: String!) { createWallet(walletName: $n) { walletId } }", user_token(user), n=name
    )
    wallet_id = body["data"]["createWallet"]["walletId"]
    if amount:
        inp = {"transactionId": new_id(), "userId": user, "walletId": wallet_id, "amount": amount}
        assert error_code(await app.gql(TOPUP, service_token(*ALL_SCOPES), input=inp)) is None
    return wallet_id


async def test_the_seed_create_wallet_and_my_wallets_operations_work_verbatim(
    wallet_app: InProcessWallet,
) -> None:
    token = user_token("seed-user")
    created = await wallet_app.gql(SEED_CREATE, token)
    mine = await wallet_app.gql(SEED_MY_WALLETS, token)

    wallet = created["data"]["createWallet"]
    assert (wallet["walletName"], wallet["balance"], wallet["status"]) == ("Tabungan Utama", "0.00", "ACTIVE")
    assert len(wallet["walletId"]) == 36
    assert mine == {
        "data": {"myWallets": [{"walletName": "Tabungan Utama", "balance": "0.00", "status": "ACTIVE"}]}
    }


async def test_wallet_operations_need_a_signed_in_user(wallet_app: InProcessWallet) -> None:
    assert error_code(await wallet_app.gql(SEED_MY_WALLETS)) == "UNAUTHENTICATED"
    assert error_code(await wallet_app.gql(SEED_MY_WALLETS, service_token(*ALL_SCOPES))) == "FORBIDDEN"


async def test_a_blank_wallet_name_is_bad_user_input(wallet_app: InProcessWallet) -> None:
    body = await wallet_app.gql('mutation { createWallet(walletName: "   ") { walletId } }', user_token("u"))
    assert error_code(body) == "BAD_USER_INPUT"
    assert await wallet_app.service.wallets_of("u") == []


async def test_another_users_wallet_is_not_found_and_reveals_nothing(wallet_app: InProcessWallet) -> None:
    wallet_id = await make_wallet(wallet_app, "owner", name="Rahasia", amount=123_456)
    stranger = user_token("stranger")

    direct = await wallet_app.gql(WALLET, stranger, id=wallet_id)
    entities = await wallet_app.gql(
        ENTITIES,
        stranger,
        reps=[{"__typename": "Wallet", "walletId": wallet_id}, {"__typename": "User", "id": "owner"}],
    )
    deleted = await wallet_app.gql(
        "mutation($id: ID!) { deleteWallet(walletId: $id) { walletId } }", stranger, id=wallet_id
    )

    assert error_code(direct) == "NOT_FOUND" and direct["data"] == {"wallet": None}
    assert error_code(deleted) == "NOT_FOUND"
    assert entities["data"]["_entities"] == [None, {"id": "owner", "wallets": []}]
    for body in (direct, entities, deleted):
        assert "Rahasia" not in str(body) and "1234.56" not in str(body)
    unknown = await wallet_app.gql(WALLET, stranger, id=new_id())
    assert unknown["errors"][0]["message"] == direct["errors"][0]["message"]


async def test_the_owner_an_admin_and_a_service_resolve_the_wallet_entity(
    wallet_app: InProcessWallet,
) -> None:
    wallet_id = await make_wallet(wallet_app, "owner", name="Harian", amount=5_000)
    reps = [{"__typename": "Wallet", "walletId": wallet_id}, {"__typename": "User", "id": "owner"}]

    for token in (user_token("owner"), user_token("boss", role="ADMIN"), service_token("wallet:read")):
        body = await wallet_app.gql(ENTITIES, token, reps=reps)
        assert body["data"]["_entities"] == [
            {"walletId": wallet_id, "walletName": "Harian", "balance": "5000.00"},
            {"id": "owner", "wallets": [{"walletId": wallet_id, "walletName": "Harian"}]},
        ]


async def test_a_wallet_shows_its_owner_stub_and_a_paginated_statement(wallet_app: InProcessWallet) -> None:
    wallet_id = await make_wallet(wallet_app, "owner", amount=1_000)
    for amount in ("1.50", "2.25"):
        inp = {"transactionId": new_id(), "userId": "owner", "walletId": wallet_id, "amount": amount}
        await wallet_app.gql(DEDUCT, service_token("wallet:debit"), input=inp)
    query = """query($id: ID!, $after: String) { wallet(walletId: $id) {
        owner { id } entries(first: 2, after: $after) { entryId direction amount balanceAfter } } }"""

    page = (await wallet_app.gql(query, user_token("owner"), id=wallet_id))["data"]["wallet"]
    rest = await wallet_app.gql(
        query, user_token("owner"), id=wallet_id, after=page["entries"][-1]["entryId"]
    )

    assert page["owner"] == {"id": "owner"}
    assert [(e["direction"], e["amount"], e["balanceAfter"]) for e in page["entries"]] == [
        ("DEBIT", "2.25", "996.25"),
        ("DEBIT", "1.50", "998.50"),
    ]
    assert [e["amount"] for e in rest["data"]["wallet"]["entries"]] == ["1000.00"]


async def test_bad_amounts_are_bad_user_input_and_write_nothing(wallet_app: InProcessWallet) -> None:
    wallet_id = await make_wallet(wallet_app, "owner", amount=1_000)
    token = service_token(*ALL_SCOPES)

    for amount in (0, -5, "-0.01", "10.001", 10.001, "abc", "NaN", "Infinity", 10**15):
        inp = {"transactionId": new_id(), "userId": "owner", "walletId": wallet_id, "amount": amount}
        for operation in (TOPUP, DEDUCT):
            assert error_code(await wallet_app.gql(operation, token, input=inp)) == "BAD_USER_INPUT", amount
    literal = await wallet_app.gql(
        'mutation { deductWallet(input: {transactionId: "t", userId: "owner", walletId: "WID", '
        "amount: 0.001}) { amount } }".replace("WID", wallet_id),
        token,
    )
    assert error_code(literal) == "BAD_USER_INPUT"

    assert len(await wallet_app.service.entries_of(wallet_id)) == 1
    assert (await wallet_app.service.find_wallet(wallet_id)).balance == 100_000


async def test_only_an_admin_freezes_and_a_frozen_wallet_refuses_debits(wallet_app: InProcessWallet) -> None:
    wallet_id = await make_wallet(wallet_app, "owner", amount=1_000)
    freeze = "mutation($id: ID!) { freezeWallet(walletId: $id) { status } }"
    unfreeze = "mutation($id: ID!) { unfreezeWallet(walletId: $id) { status } }"
    inp = {"transactionId": new_id(), "userId": "owner", "walletId": wallet_id, "amount": 1}

    assert error_code(await wallet_app.gql(freeze, user_token("owner"), id=wallet_id)) == "FORBIDDEN"
    admin = user_token("boss", role="ADMIN")
    assert (await wallet_app.gql(freeze, admin, id=wallet_id))["data"] == {
        "freezeWallet": {"status": "FROZEN"}
    }
    assert (
        error_code(await wallet_app.gql(DEDUCT, service_token("wallet:debit"), input=inp)) == "WALLET_FROZEN"
    )
    assert (await wallet_app.gql(unfreeze, admin, id=wallet_id))["data"] == {
        "unfreezeWallet": {"status": "ACTIVE"}
    }
    assert error_code(await wallet_app.gql(DEDUCT, service_token("wallet:debit"), input=inp)) is None


async def test_deleting_a_wallet_closes_it_only_at_zero_balance(wallet_app: InProcessWallet) -> None:
    empty = await make_wallet(wallet_app, "owner", name="Kosong")
    full = await make_wallet(wallet_app, "owner", name="Isi", amount=10)
    delete = "mutation($id: ID!) { deleteWallet(walletId: $id) { status } }"
    token = user_token("owner")

    assert (await wallet_app.gql(delete, token, id=empty))["data"] == {"deleteWallet": {"status": "CLOSED"}}
    assert error_code(await wallet_app.gql(delete, token, id=full)) == "CONFLICT"
    listed = await wallet_app.gql("{ myWallets { walletName } }", token)
    with_closed = await wallet_app.gql("{ myWallets(includeClosed: true) { walletName status } }", token)
    assert listed["data"]["myWallets"] == [{"walletName": "Isi"}]
    assert {"walletName": "Kosong", "status": "CLOSED"} in with_closed["data"]["myWallets"]


async def test_service_operations_are_inaccessible_in_the_published_sdl(wallet_app: InProcessWallet) -> None:
    sdl = (await wallet_app.gql("{ _service { sdl } }"))["data"]["_service"]["sdl"]
    for field in ("topupWallet", "deductWallet", "transferWallet", "reverseLedger", "movementsOf"):
        line = next(line for line in sdl.splitlines() if line.strip().startswith(field + "("))
        assert line.rstrip().endswith("@inaccessible"), line
    assert 'type Wallet @key(fields: "walletId")' in sdl
    assert 'type User @key(fields: "id")' in sdl
